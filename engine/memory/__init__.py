"""Memory: what is free now, what a model will need before it loads, and what llama.cpp allocated.

Modules, from the bottom up (plain dataclasses, no Qt; below the session, which uses them):

- `probe`: process RSS, system RAM and, with an NVIDIA GPU, VRAM, as a `MemorySnapshot`.
- `weights`: the GGUF tensor table, grouped by layer, so weights can be split between CPU and GPU.
- `estimate`: memory needed per part (weights on CPU/GPU, KV cache, compute buffers) before loading.
- `allocation`: what llama.cpp actually allocated, read from its log while a model loads.

The probe's names are importable from the package itself (`from engine.memory import probe_memory`).
"""

from engine.memory.probe import GpuMemory, MemorySnapshot, probe_gpus, probe_memory

__all__ = ["GpuMemory", "MemorySnapshot", "probe_gpus", "probe_memory"]
