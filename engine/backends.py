"""What the installed llama.cpp build can do, and how many GPU layers a model should get."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from engine.gguf_info import ModelInfo
from engine.memory import probe_gpus

# VRAM kept free for the desktop, the compute buffers and other programs.
GPU_RESERVE_BYTES = 768 * 2**20


@dataclass(frozen=True)
class BackendInfo:
    gpu_offload: bool
    devices: tuple[str, ...]
    physical_cores: int
    logical_cores: int
    default_threads: int
    system_info: str
    llama_cpp_version: str
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def usable_cpus() -> int:
    """The logical CPUs this process may run on (its affinity where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Physical cores: llama.cpp generation is memory-bound and hyper-threads only add contention."""
    physical = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    return max(1, min(physical, usable_cpus()))


def detect_backend() -> BackendInfo:
    import llama_cpp

    offload = bool(llama_cpp.llama_supports_gpu_offload())
    gpus = probe_gpus()
    notes = []
    if offload and not gpus:
        notes.append("This build can offload to a GPU, but no NVIDIA GPU was found.")
    if not offload and gpus:
        notes.append("A GPU is present, but this llama.cpp build runs on the CPU only.")
    system_info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    return BackendInfo(
        gpu_offload=offload,
        devices=tuple(gpu.name for gpu in gpus) if offload else (),
        physical_cores=psutil.cpu_count(logical=False) or 1,
        logical_cores=psutil.cpu_count() or 1,
        default_threads=default_threads(),
        system_info=system_info.strip(),
        llama_cpp_version=getattr(llama_cpp, "__version__", "unknown"),
        notes=tuple(notes),
    )


def auto_gpu_layers(info: ModelInfo, kv_cache_bytes: int, gpu_offload: bool) -> int:
    """How many layers fit in free VRAM next to the KV cache; 0 without a usable GPU.

    Layers are taken as equal slices of the weights (the output layer counts as one more), which
    is close for dense transformer models.
    """
    if not gpu_offload:
        return 0
    gpus = probe_gpus()
    if not gpus:
        return 0
    free = max(gpu.free for gpu in gpus) - GPU_RESERVE_BYTES - kv_cache_bytes
    layers = info.block_count + 1
    per_layer = info.file_size / max(layers, 1)
    if free <= 0 or per_layer <= 0:
        return 0
    return int(min(layers, free // per_layer))
