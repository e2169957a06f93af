"""Peak memory while a block of work runs: this process's RAM and, where there is one, GPU memory.

On Linux the kernel keeps the process's peak resident size (VmHWM in /proc/self/status) and lets a
process reset it (writing 5 to /proc/self/clear_refs, see proc(5)), so the RAM peak is exact and
costs nothing. Elsewhere, and for VRAM (NVML reports only the current use), a thread samples every
`interval_s`; a peak shorter than that can be missed.

Memory a block before it freed can stay resident: glibc keeps freed heap pages, and after a large
free it serves allocations of that size from the heap rather than fresh mappings (mallopt(3),
M_MMAP_THRESHOLD). A second model loaded in the same process then reuses those pages and reads
lower than the first. So the block starts by collecting garbage and handing freed heap pages back
(malloc_trim(3)), and every block starts from the same footing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psutil

from engine.memory import probe_gpus

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_HWM = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.MULTILINE)


class PeakMemory:
    """Use as `with PeakMemory() as peak: ...`, then read `peak_rss`, `baseline_rss`, `peak_vram`.

    Attributes:
        baseline_rss: Resident bytes of this process when the block started.
        peak_rss: The highest resident bytes during the block.
        baseline_vram, peak_vram: GPU memory in use on all GPUs (bytes), or None without a GPU.
    """

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.baseline_rss = 0
        self.peak_rss = 0
        self.baseline_vram: int | None = None
        self.peak_vram: int | None = None
        self._process = psutil.Process()
        self._kernel_peak = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        release_freed_memory()
        self.baseline_rss = self.peak_rss = self._process.memory_info().rss
        self._kernel_peak = _reset_kernel_peak()
        gpus = probe_gpus()
        if gpus:
            self.baseline_vram = self.peak_vram = sum(gpu.used for gpu in gpus)
        # Sampled even with the kernel's peak: Linux updates VmHWM from per-thread counters that
        # it syncs lazily, so a short peak can be missed or read low.
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._take_sample()
        if self._kernel_peak:
            self.peak_rss = max(self.peak_rss, _kernel_peak_rss() or 0)

    @property
    def added_rss(self) -> int:
        """How far the block raised resident memory above where it started."""
        return max(0, self.peak_rss - self.baseline_rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take_sample()

    def _take_sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
        if self.peak_vram is not None:
            gpus = probe_gpus()
            if gpus:
                self.peak_vram = max(self.peak_vram, sum(gpu.used for gpu in gpus))


def release_freed_memory() -> None:
    """Collect garbage and, with glibc, return free heap pages to the system (malloc_trim(0)), so
    resident size counts what is in use rather than what an earlier block left behind."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
        return trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return None


def _reset_kernel_peak() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _kernel_peak_rss() is not None


def _kernel_peak_rss() -> int | None:
    try:
        match = _HWM.search(_STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None
