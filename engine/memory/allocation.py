"""What llama.cpp actually allocated for a model and its context, read from its log.

llama.cpp reports each buffer it allocates (model weights, KV cache, compute scratch, output) as
an INFO log line; there is no C function for these sizes. `capture_llama_log` installs a log
callback for the duration of a load and `AllocationReport.from_log` parses the lines.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MiB = 2**20

_BUFFER_LINE = re.compile(
    r"(?P<name>[\w.\-]+)\s+(?P<kind>model|KV|compute|output|RS)\s+buffer size\s*=\s*"
    r"(?P<mib>[\d.]+)\s*MiB"
)
_PART_OF_KIND = {"model": "weights", "KV": "kv_cache", "RS": "kv_cache", "compute": "compute",
                 "output": "output"}  # fmt: skip

_capture_lock = threading.Lock()


@dataclass(frozen=True)
class Buffer:
    part: str  # "weights", "kv_cache", "compute" or "output"
    device: str  # llama.cpp's buffer name: CPU_Mapped, CPU_REPACK, CUDA0, CUDA_Host...
    size: int

    @property
    def on_gpu(self) -> bool:
        """Host buffers (CPU*, *_Host) live in RAM; the rest in a GPU's memory."""
        return not (self.device.startswith("CPU") or self.device.endswith("_Host"))


@dataclass(frozen=True)
class AllocationReport:
    """The buffers one load allocated, as llama.cpp logged them."""

    buffers: tuple[Buffer, ...] = field(default=())

    @classmethod
    def from_log(cls, text: str) -> AllocationReport:
        buffers = []
        for match in _BUFFER_LINE.finditer(text):
            size = int(round(float(match.group("mib")) * MiB))
            buffers.append(Buffer(_PART_OF_KIND[match.group("kind")], match.group("name"), size))
        return cls(tuple(buffers))

    def part(self, name: str) -> int:
        return sum(buffer.size for buffer in self.buffers if buffer.part == name)

    def parts(self) -> dict[str, int]:
        """Bytes per part, with the same keys as `MemoryEstimate.parts`."""
        return {name: self.part(name) for name in ("weights", "kv_cache", "compute", "output")}

    @property
    def ram(self) -> int:
        return sum(buffer.size for buffer in self.buffers if not buffer.on_gpu)

    @property
    def vram(self) -> int:
        return sum(buffer.size for buffer in self.buffers if buffer.on_gpu)

    @property
    def total(self) -> int:
        return self.ram + self.vram

    def to_dict(self) -> dict[str, Any]:
        return {
            "parts": self.parts(),
            "ram": self.ram,
            "vram": self.vram,
            "total": self.total,
            "buffers": [vars(buffer) | {"on_gpu": buffer.on_gpu} for buffer in self.buffers],
        }


class LogCapture:
    """The text llama.cpp logged while the capture was active."""

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def append(self, text: str) -> None:
        self._pieces.append(text)

    def clear(self) -> None:
        self._pieces.clear()

    @property
    def text(self) -> str:
        return "".join(self._pieces)

    def allocation(self) -> AllocationReport:
        return AllocationReport.from_log(self.text)


@contextlib.contextmanager
def capture_llama_log() -> Iterator[LogCapture]:
    """Collect llama.cpp's log inside the block, then give logging back to llama-cpp-python.

    llama.cpp's logger is process-wide, so captures are serialised with a lock.
    """
    import llama_cpp
    from llama_cpp import _logger

    capture = LogCapture()

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def callback(level: int, text: bytes, user_data: Any) -> None:
        capture.append(text.decode("utf-8", errors="replace"))

    with _capture_lock:
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        try:
            yield capture
        finally:
            llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
