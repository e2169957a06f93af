"""Memory probe: process RSS, system RAM and, where an NVIDIA GPU is present, VRAM (via NVML)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import psutil


@dataclass(frozen=True)
class GpuMemory:
    name: str
    used: int
    total: int

    @property
    def free(self) -> int:
        return self.total - self.used


@dataclass(frozen=True)
class MemorySnapshot:
    """`process_rss` is this process alone; `helpers_rss` its child processes (document indexer)."""

    process_rss: int
    ram_used: int
    ram_total: int
    ram_available: int
    gpus: tuple[GpuMemory, ...] = ()
    helpers_rss: int = 0

    @property
    def app_rss(self) -> int:
        return self.process_rss + self.helpers_rss

    @property
    def vram_used(self) -> int:
        return sum(gpu.used for gpu in self.gpus)

    @property
    def vram_total(self) -> int:
        return sum(gpu.total for gpu in self.gpus)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["app_rss"] = self.app_rss
        data["vram_used"] = self.vram_used
        data["vram_total"] = self.vram_total
        return data


_nvml_lock = threading.Lock()
_nvml_state: bool | None = None  # None: not tried yet


def _nvml_ready() -> bool:
    """Initialise NVML once; False for good where there is no NVIDIA driver."""
    global _nvml_state
    with _nvml_lock:
        if _nvml_state is None:
            try:
                import pynvml

                pynvml.nvmlInit()
                _nvml_state = True
            except Exception:  # no library, no driver, no GPU: all mean "no VRAM to show"
                _nvml_state = False
        return _nvml_state


def probe_gpus() -> tuple[GpuMemory, ...]:
    if not _nvml_ready():
        return ()
    import pynvml

    gpus = []
    try:
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            info = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            if isinstance(name, bytes):
                name = name.decode()
            gpus.append(GpuMemory(name=name, used=int(info.used), total=int(info.total)))
    except Exception:  # a GPU that vanished or a driver error: show what we have
        pass
    return tuple(gpus)


def probe_memory(helper_pids: Iterable[int] = ()) -> MemorySnapshot:
    """A cheap snapshot (well under a millisecond without a GPU), safe to call from any thread.

    Args:
        helper_pids: The app's own helper processes, counted in `helpers_rss`.
    """
    vm = psutil.virtual_memory()
    return MemorySnapshot(
        process_rss=psutil.Process().memory_info().rss,
        helpers_rss=_rss_of(helper_pids),
        ram_used=vm.total - vm.available,
        ram_total=vm.total,
        ram_available=vm.available,
        gpus=probe_gpus(),
    )


def _rss_of(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:  # it ended a moment ago
            continue
    return total
