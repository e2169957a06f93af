"""Estimate the memory a model needs at a given window before loading it, part by part.

The parts follow llama.cpp's own buffers, so each can be checked against what it allocates
(see `allocation`):

- weights: the GGUF tensors; on the CPU (memory-mapped) unless offloaded. llama.cpp offloads the
  output layer first, then the last repeating layers. On x86 with AVX2 some quantized matrices are
  also kept as a re-packed copy (the CPU_REPACK buffer).
- KV cache: 2 x layers x cells x KV heads x head size x bytes per element, per K and V type.
  Cells are the window rounded up to 256. Sliding-window layers hold only their window (plus one
  batch) when the cache is compact (`swa_full=False`); llama.cpp's default keeps them full-size,
  which the session keeps so that prompt prefixes can be reused.
- compute: the larger of a layer's scratch for a full batch (the KQ masks, the KQ matrix without
  flash attention, the feed-forward activations) and the logits. Logits are reserved for the
  tokens of a batch that may ask for them (`n_outputs_max`: the sampled token plus the longest
  draft, see engine/llama_load.py), not for every batch token, which for a large vocabulary
  was most of the buffer.
- output: one row of logits kept between calls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from engine.gguf_info import ModelInfo
from engine.memory.weights import WeightLayout, weight_layout
from engine.settings_schema import MAX_DRAFT_TOKENS

# Bytes per block and elements per block of the K/V cache types.
CACHE_TYPE_SIZES = {"f16": (2, 1), "q8_0": (34, 32), "q4_0": (18, 32)}
CELL_PADDING = 256
MiB = 2**20


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per part for one load configuration. `ram` and `vram` are what must be free."""

    n_ctx: int
    n_gpu_layers: int
    type_k: str
    type_v: str
    flash_attn: bool
    n_ubatch: int
    weights_cpu: int
    weights_gpu: int
    weights_repack: int
    kv_cpu: int
    kv_gpu: int
    compute_cpu: int
    compute_gpu: int
    output: int

    @property
    def weights(self) -> int:
        return self.weights_cpu + self.weights_gpu + self.weights_repack

    @property
    def kv(self) -> int:
        return self.kv_cpu + self.kv_gpu

    @property
    def compute(self) -> int:
        return self.compute_cpu + self.compute_gpu

    @property
    def ram(self) -> int:
        return self.weights_cpu + self.weights_repack + self.kv_cpu + self.compute_cpu + self.output

    @property
    def vram(self) -> int:
        return self.weights_gpu + self.kv_gpu + self.compute_gpu

    @property
    def total(self) -> int:
        return self.ram + self.vram

    def parts(self) -> dict[str, int]:
        """Bytes per part as llama.cpp groups its buffers (see `AllocationReport.parts`)."""
        return {
            "weights": self.weights,
            "kv_cache": self.kv,
            "compute": self.compute,
            "output": self.output,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ram=self.ram, vram=self.vram, total=self.total, parts=self.parts())
        return data


@lru_cache(maxsize=1)
def cpu_repacks_weights() -> bool:
    """Whether this llama.cpp build re-packs quantized weights (x86 with AVX2)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    return "AVX2 = 1" in info


def padded_cells(n_ctx: int) -> int:
    """The KV cells llama.cpp allocates for a window of `n_ctx` tokens."""
    return -(-max(1, n_ctx) // CELL_PADDING) * CELL_PADDING


def cache_bytes(elements: int, cache_type: str) -> int:
    block_bytes, block_elements = CACHE_TYPE_SIZES[cache_type]
    return -(-elements // block_elements) * block_bytes


def kv_bytes_per_cell(info: ModelInfo, type_k: str, type_v: str) -> int:
    """K plus V bytes that one token occupies in one layer."""
    return cache_bytes(info.head_count_kv * info.key_length, type_k) + cache_bytes(
        info.head_count_kv * info.value_length, type_v
    )


def swa_cells(info: ModelInfo, n_ctx: int, n_ubatch: int, swa_full: bool) -> int:
    """Cells of a sliding-window layer: its window plus one batch, unless kept full-size."""
    cells = padded_cells(n_ctx)
    if swa_full or not info.sliding_window:
        return cells
    return min(cells, padded_cells(info.sliding_window + n_ubatch))


def kv_cache_bytes(
    info: ModelInfo,
    n_tokens: int,
    type_k: str = "f16",
    type_v: str = "f16",
    window_cells: int | None = None,
) -> int:
    """KV bytes for `n_tokens` cached tokens; sliding-window layers stop at `window_cells`."""
    per_cell = kv_bytes_per_cell(info, type_k, type_v)
    global_layers = info.block_count - info.swa_layers
    swa_tokens = n_tokens if window_cells is None else min(n_tokens, window_cells)
    return per_cell * (global_layers * n_tokens + info.swa_layers * swa_tokens)


def estimate_memory(
    info: ModelInfo,
    n_ctx: int,
    type_k: str = "f16",
    type_v: str = "f16",
    flash_attn: bool = False,
    n_gpu_layers: int = 0,
    n_batch: int = 512,
    swa_full: bool = True,
    repack: bool | None = None,
    layout: WeightLayout | None = None,
    n_outputs: int | None = None,
) -> MemoryEstimate:
    """Estimate llama.cpp's buffers for `info` loaded with these settings.

    Args:
        n_ctx: Window in tokens (0: the model's trained length).
        n_gpu_layers: As llama.cpp counts them: the output layer first, then the last layers;
            -1 means all.
        n_batch: Batch and micro-batch size (the session uses one value for both).
        swa_full: Keep sliding-window layers full-size (llama.cpp's default).
        repack: Whether CPU weights get a re-packed copy; None asks the installed llama.cpp.
        layout: The file's weights by layer; read from `info.path` when not given.
        n_outputs: Batch tokens that may ask for logits; None: as the session loads models.
    """
    n_ctx = n_ctx or info.context_length or 4096
    cells = padded_cells(n_ctx)
    n_layer = info.block_count
    offload = n_layer + 1 if n_gpu_layers < 0 else min(n_gpu_layers, n_layer + 1)
    layout = layout or weight_layout(info.path, n_layer)
    repack = cpu_repacks_weights() if repack is None else repack

    # Offloaded: the output layer (when offload >= 1) and the last offload-1 repeating layers.
    gpu_layers = set(range(n_layer - max(0, offload - 1), n_layer))
    weights_gpu = sum(layout.layers[i] for i in gpu_layers) + (layout.output if offload else 0)
    weights_cpu = layout.total - weights_gpu
    weights_repack = 0
    if repack:
        weights_repack = sum(
            size for i, size in enumerate(layout.layers_repackable) if i not in gpu_layers
        ) + (0 if offload else layout.output_repackable)

    per_cell = kv_bytes_per_cell(info, type_k, type_v)
    swa = swa_cells(info, n_ctx, n_batch, swa_full)
    swa_layers = _swa_layer_ids(info)
    kv_cpu = kv_gpu = 0
    for layer in range(n_layer):
        size = per_cell * (swa if layer in swa_layers else cells)
        if layer in gpu_layers:
            kv_gpu += size
        else:
            kv_cpu += size

    if n_outputs is None:
        n_outputs = min(n_batch, 1 + MAX_DRAFT_TOKENS)  # as engine.llama_load.max_outputs
    compute = _compute_bytes(info, cells, swa, n_batch, flash_attn, n_outputs)
    if offload:
        # The graph runs where the layers are; the CPU keeps a small host buffer for inputs.
        n_ubatch = min(n_batch, cells)
        compute_gpu, compute_cpu = compute, n_ubatch * info.embedding_length * 4
    else:
        compute_gpu, compute_cpu = 0, compute
    return MemoryEstimate(
        n_ctx=cells,
        n_gpu_layers=offload,
        type_k=type_k,
        type_v=type_v,
        flash_attn=flash_attn,
        n_ubatch=min(n_batch, cells),
        weights_cpu=weights_cpu,
        weights_gpu=weights_gpu,
        weights_repack=weights_repack,
        kv_cpu=kv_cpu,
        kv_gpu=kv_gpu,
        compute_cpu=compute_cpu,
        compute_gpu=compute_gpu,
        output=info.vocab_size * 4,
    )


def _swa_layer_ids(info: ModelInfo) -> set[int]:
    """Which layers use the sliding window; only their count is known, so spread them evenly."""
    if not info.swa_layers:
        return set()
    if info.swa_layers >= info.block_count:
        return set(range(info.block_count))
    stride = info.block_count / max(1, info.block_count - info.swa_layers)
    global_ids = {int((i + 1) * stride) - 1 for i in range(info.block_count - info.swa_layers)}
    return set(range(info.block_count)) - global_ids


def _compute_bytes(info: ModelInfo, cells: int, swa: int, n_batch: int, flash_attn: bool,
                   n_outputs: int) -> int:  # fmt: skip
    """llama.cpp's worst-case graph scratch: one layer for a full batch, or the logits.

    Fitted to llama.cpp's allocations for SmolLM2 and Gemma 3 (with and without sliding-window
    layers, flash attention on and off, batches of 256 to 1,024): within 3%.
    """
    n_ubatch = min(n_batch, cells)
    all_swa = info.swa_layers >= info.block_count
    n_kv = swa if all_swa else cells
    # One KQ mask per kind of layer: f16 with flash attention, f32 without.
    mask_kvs = n_kv + (swa if 0 < info.swa_layers < info.block_count else 0)
    embd = info.embedding_length
    ff = info.feed_forward_length or 4 * embd
    if flash_attn:
        layer = n_ubatch * mask_kvs * 2 + n_ubatch * (4 * ff + 3 * embd // 2) * 4
    else:
        kq = n_ubatch * n_kv * 4 * info.head_count
        layer = kq + n_ubatch * mask_kvs * 4 + n_ubatch * (2 * ff + embd) * 4
    logits = min(n_ubatch, max(1, n_outputs)) * info.vocab_size * 4 + n_ubatch * embd * 4
    return max(layer, logits)
