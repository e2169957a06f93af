"""Will a model on the Hub run on this machine? A verdict per file, before any download.

The numbers come from the engine's one fit estimator (`engine.memory.estimate.estimate_memory`
with `engine.context.fit.MachineMemory`'s margins): weights on the CPU and GPU, KV cache and
compute buffers, at the window and K/V cache type the person chose. Where the header could not be
read, the verdict is an estimate from the file size alone and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from engine.context.fit import (
    ESTIMATE_MARGIN,
    GB,
    RAM_RESERVE_BYTES,
    MachineMemory,
    cache_type_problem,
    resolve_flash_attn,
)
from engine.errors import ModelFileError
from engine.hub.connection import HubConnection, HubError
from engine.hub.listing import RemoteModel, RepoListing
from engine.hub.quants import UNQUANTIZED, quality_rank
from engine.hub.remote_gguf import RemoteHeader, read_remote_header
from engine.memory.estimate import MemoryEstimate, estimate_memory
from engine.memory.weights import WeightLayout

Placement = Literal["gpu", "partial", "ram", "none"]
# A recommended file leaves this share of free memory unused, for the rest of the machine.
HEADROOM = 0.15
# Without a header: weights plus this share for the KV cache and compute buffers.
SIZE_ONLY_OVERHEAD = 0.20
_WORST_4BIT = quality_rank("Q4_0")


@dataclass(frozen=True)
class FitVerdict:
    """Where a model would run here, in words and numbers.

    Attributes:
        placement: "gpu" (all layers), "partial" (some layers on the GPU), "ram" or "none".
        text: "fits fully on the GPU", "fits, 20 of 33 layers on the GPU", "fits in RAM" or
            "does not fit: needs 12.4 GB, 7.9 GB free".
        gpu_layers, total_layers: As llama.cpp counts them (the output layer is one more).
        needed_bytes: RAM plus VRAM the load needs, margins included.
        free_bytes: RAM plus VRAM free now.
        from_header: False when the header could not be read and the size alone was used.
        headroom: Fits and leaves HEADROOM of the free memory unused.
        n_ctx, kv_type: The window and K/V cache type the verdict is for.
        notes: Anything that changed the request (window capped, cache type not usable).
    """

    placement: Placement
    text: str
    gpu_layers: int
    total_layers: int
    needed_bytes: int
    free_bytes: int
    from_header: bool
    headroom: bool
    n_ctx: int
    kv_type: str
    estimate: MemoryEstimate | None = None
    notes: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        return self.placement != "none"


def judge(
    model: RemoteModel,
    header: RemoteHeader | None,
    memory: MachineMemory,
    n_ctx: int = 4096,
    kv_type: str = "f16",
) -> FitVerdict:
    """The verdict for `model` at a window of `n_ctx` tokens with a `kv_type` K/V cache.

    Args:
        header: The model's header (`read_remote_header`), or None to judge by size alone.
        memory: Free memory (`MachineMemory.probe()`); VRAM 0 means no usable GPU.
    """
    if header is None:
        return _judge_by_size(model, memory, n_ctx, kv_type)
    info = header.info
    notes = []
    if info.context_length and n_ctx > info.context_length:
        notes.append(f"window capped at the model's trained {info.context_length:,} tokens")
        n_ctx = info.context_length
    problem = cache_type_problem(info, kv_type, kv_type, None)
    if problem:
        notes.append(f"{problem} Judged with an f16 cache.")
        kv_type = "f16"
    flash, _ = resolve_flash_attn(kv_type, None)
    total_layers = info.block_count + 1

    def estimate(layers: int) -> MemoryEstimate:
        return estimate_memory(info, n_ctx, kv_type, kv_type, flash, layers, layout=header.layout)

    free = memory.ram_available + memory.vram_available
    layers_tried = range(total_layers, -1, -1) if memory.vram_available else [0]
    for layers in layers_tried:
        candidate = estimate(layers)
        if memory.fits(candidate):
            placement: Placement = (
                "gpu" if layers == total_layers else "partial" if layers else "ram"
            )
            text = {
                "gpu": "fits fully on the GPU",
                "partial": f"fits, {layers} of {total_layers} layers on the GPU",
                "ram": "fits in RAM",
            }[placement]
            return FitVerdict(placement, text, layers, total_layers, _needed(candidate), free,
                              True, _has_headroom(candidate, memory), n_ctx, kv_type, candidate,
                              tuple(notes))  # fmt: skip
    best = estimate(total_layers if memory.vram_available else 0)
    needed = _needed(best)
    return FitVerdict("none", _does_not_fit(needed, free), 0, total_layers, needed, free, True,
                      False, n_ctx, kv_type, best, tuple(notes))  # fmt: skip


def recommend(judged: list[tuple[RemoteModel, FitVerdict]]) -> RemoteModel | None:
    """The best quantization that fits with headroom, or None when none does.

    On a machine with a GPU, a file that fits wholly on the GPU is preferred when one of at least
    4-bit quality (Q4_0 or better) does. Unquantized files (F16, BF16, F32) are chosen only when
    no quantized one fits: Q8_0 is as good at half the size.
    """
    candidates = [(m, v) for m, v in judged if v.fits and v.headroom and m.complete]
    on_gpu = [(m, v) for m, v in candidates
              if v.placement == "gpu" and quality_rank(m.quant) <= _WORST_4BIT]  # fmt: skip
    pool = on_gpu or candidates
    quantized = [(m, v) for m, v in pool if m.quant not in UNQUANTIZED]
    pool = quantized or pool
    if not pool:
        return None
    return min(pool, key=lambda mv: (quality_rank(mv[0].quant), -mv[0].size))[0]


def _needed(estimate: MemoryEstimate) -> int:
    return int(estimate.total * (1 + ESTIMATE_MARGIN)) + RAM_RESERVE_BYTES


def _has_headroom(estimate: MemoryEstimate, memory: MachineMemory) -> bool:
    ram = int(estimate.ram * (1 + ESTIMATE_MARGIN)) + RAM_RESERVE_BYTES
    vram = int(estimate.vram * (1 + ESTIMATE_MARGIN))
    return ram <= memory.ram_available * (1 - HEADROOM) and vram <= memory.vram_available * (
        1 - HEADROOM
    )


def _does_not_fit(needed: int, free: int) -> str:
    return f"does not fit: needs {needed / GB:.1f} GB, {free / GB:.1f} GB free"


def _judge_by_size(
    model: RemoteModel, memory: MachineMemory, n_ctx: int, kv_type: str
) -> FitVerdict:
    needed = int(model.size * (1 + SIZE_ONLY_OVERHEAD) * (1 + ESTIMATE_MARGIN))
    free = memory.ram_available + memory.vram_available
    note = ("the header could not be read: estimated from the file size alone",)
    if memory.vram_available and needed <= memory.vram_available:
        placement: Placement = "gpu"
        text = "fits fully on the GPU"
    elif needed + RAM_RESERVE_BYTES <= memory.ram_available:
        placement, text = "ram", "fits in RAM"
    else:
        return FitVerdict("none", _does_not_fit(needed + RAM_RESERVE_BYTES, free), 0, 0,
                          needed + RAM_RESERVE_BYTES, free, False, False, n_ctx, kv_type,
                          None, note)  # fmt: skip
    limit = memory.vram_available if placement == "gpu" else memory.ram_available
    headroom = needed + (0 if placement == "gpu" else RAM_RESERVE_BYTES) <= limit * (1 - HEADROOM)
    return FitVerdict(placement, f"{text} (estimated from its size)", 0, 0, needed, free, False,
                      headroom, n_ctx, kv_type, None, note)  # fmt: skip


@dataclass(frozen=True)
class RepoAssessment:
    """Every model of a repository with its verdict, and the one to recommend.

    Attributes:
        rows: (model, verdict) per model, best quantization first.
        recommended: See `recommend`; None when nothing fits with headroom.
        header: The header that was read (its bytes and time), None when none could be.
        problem: Why no header could be read, in one line ("" when one was).
    """

    repo_id: str
    rows: tuple[tuple[RemoteModel, FitVerdict], ...]
    recommended: RemoteModel | None
    header: RemoteHeader | None
    problem: str = ""


def assess_repo(
    connection: HubConnection,
    listing: RepoListing,
    memory: MachineMemory,
    n_ctx: int = 4096,
    kv_type: str = "f16",
    read_all: bool = False,
) -> RepoAssessment:
    """Judge every model of `listing` on this machine.

    Quantizations of one model share its architecture; only their weights differ. So one file's
    header is read (a few MB over range requests) and the others' weights are scaled from it by
    file size, unless `read_all` asks for every header (exact, and one header's bytes per file).

    Raises:
        HubError: only for `read_all`; otherwise an unreadable header falls back to sizes.
    """
    headers: dict[RemoteModel, RemoteHeader] = {}
    problem = ""
    targets = list(listing.models) if read_all else _representative(listing)
    for model in targets:
        try:
            headers[model] = read_remote_header(connection, model)
        except (HubError, ModelFileError) as exc:
            if read_all:
                raise
            problem = f"The header of {model.name} could not be read ({exc.message})."
    reference = next(iter(headers.values()), None)
    rows = []
    for model in listing.models:
        header = headers.get(model) or (scaled_header(reference, model) if reference else None)
        verdict = judge(model, header, memory, n_ctx, kv_type)
        if model not in headers and header is not None:
            verdict = replace(verdict, notes=(*verdict.notes, "weights scaled by size from "
                                              f"{reference.info.path if reference else ''}"))  # fmt: skip
        rows.append((model, verdict))
    return RepoAssessment(listing.repo_id, tuple(rows), recommend(rows), reference, problem)


def scaled_header(reference: RemoteHeader, model: RemoteModel) -> RemoteHeader:
    """`reference`'s header for another quantization of the same model: the weights by layer
    scaled by the ratio of file sizes, everything else (layers, heads, vocabulary) the same."""
    ratio = model.size / max(1, reference.info.file_size)
    layout = reference.layout

    def scale(values: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(v * ratio) for v in values)

    scaled = WeightLayout(
        layers=scale(layout.layers),
        output=int(layout.output * ratio),
        token_embd=int(layout.token_embd * ratio),
        layers_repackable=scale(layout.layers_repackable),
        output_repackable=int(layout.output_repackable * ratio),
    )
    info = replace(reference.info, path=model.name, file_size=model.size,
                   file_type=model.quant or "unknown")  # fmt: skip
    return RemoteHeader(info, scaled, 0, 0, 0.0)


def _representative(listing: RepoListing) -> list[RemoteModel]:
    """The model whose header stands for all: a single file if there is one, else the smallest."""
    complete = [m for m in listing.models if m.complete]
    if not complete:
        return []
    return [min(complete, key=lambda m: (len(m.parts), m.size))]
