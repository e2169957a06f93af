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
    RAM_RESERVE_BYTES,
    MachineMemory,
    cache_type_problem,
    needed_bytes,
    ram_needed,
    resolve_flash_attn,
    vram_needed,
)
from engine.errors import ModelFileError
from engine.hub.connection import HubConnection, HubError
from engine.hub.listing import RemoteModel, RepoListing
from engine.hub.quants import UNQUANTIZED, quality_rank
from engine.hub.remote_gguf import RemoteHeader, read_remote_header
from engine.memory.estimate import MemoryEstimate, estimate_memory
from engine.memory.weights import WeightLayout
from engine.storage import size_text

Placement = Literal["gpu", "partial", "ram", "none"]
# A recommended file leaves this share of free memory unused, for the rest of the machine.
HEADROOM = 0.15
# Without a header: weights plus this share for the KV cache and compute buffers.
SIZE_ONLY_OVERHEAD = 0.20
_WORST_4BIT = quality_rank("Q4_0")
DOES_NOT_FIT = "does not fit"
SIZE_ONLY = "(estimated from its size)"
# Notes about how a verdict was reached rather than what was asked: for the tooltip only.
_QUIET_NOTES = ("weights scaled by size", "the header could not be read")


@dataclass(frozen=True)
class FitVerdict:
    """Where a model would run here, in words and numbers.

    Attributes:
        placement: "gpu" (all layers), "partial" (some layers on the GPU), "ram" or "none".
        text: "fits fully on the GPU", "fits, 20 of 33 layers on the GPU", "fits in RAM" or
            "does not fit" (`words` adds the numbers).
        gpu_layers, total_layers: As llama.cpp counts them (the output layer is one more).
        needed_bytes: RAM plus VRAM the load needs, margins included (`needed_bytes`).
        free_bytes: RAM plus VRAM free now.
        from_header: False when the header could not be read and the size alone was used.
        headroom: Fits and leaves HEADROOM of the free memory unused.
        n_ctx, kv_type: The window and K/V cache type the verdict is for.
        notes: Anything that changed the request (window capped, cache type not usable).
        estimate_bytes: The bare estimate, before the margin and the reserve.
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
    estimate_bytes: int = 0

    @property
    def fits(self) -> bool:
        return self.placement != "none"

    @property
    def words(self) -> str:
        """The verdict with its numbers, as the picker, Get models and the CLI say it."""
        return verdict_words(self.text, self.estimate_bytes, self.needed_bytes, self.free_bytes)

    @property
    def line(self) -> str:
        """`words` and any `shown_notes`: one row of the window's files and of the CLI's."""
        notes = self.shown_notes
        return f"{self.words} · {notes}" if notes else self.words

    @property
    def shown_notes(self) -> str:
        """The notes a person needs beside the verdict (the window capped, the cache type
        changed), in one line; "" when the request was judged as asked."""
        return "; ".join(n for n in self.notes if not n.startswith(_QUIET_NOTES))


def need_words(estimate_bytes: int, needed: int, free: int) -> str:
    """'needs ~300.0 MB (1.4 GB with room for the system), 12.3 GB free': the bare estimate, the
    whole need and what is free, in decimal units."""
    return (f"needs ~{size_text(estimate_bytes)} ({size_text(needed)} with room for the system), "
            f"{size_text(free)} free")  # fmt: skip


def verdict_words(verdict: str, estimate_bytes: int, needed: int, free: int) -> str:
    """'fits in RAM, needs ~…' or 'does not fit: needs ~…' (see `need_words`)."""
    joint = ": " if verdict.startswith("does not fit") else ", "
    return verdict + joint + need_words(estimate_bytes, needed, free)


def placement_words(gpu_layers: int, total_layers: int) -> tuple[Placement, str]:
    """Where a model that fits runs, from the layers on the GPU: ("ram", "fits in RAM")..."""
    if total_layers and gpu_layers >= total_layers:
        return "gpu", "fits fully on the GPU"
    if gpu_layers > 0:
        return "partial", f"fits, {gpu_layers} of {total_layers} layers on the GPU"
    return "ram", "fits in RAM"


def judge(
    model: RemoteModel,
    header: RemoteHeader | None,
    memory: MachineMemory,
    n_ctx: int = 4096,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
) -> FitVerdict:
    """The verdict for `model` at a window of `n_ctx` tokens with a `kv_type` K/V cache.

    Args:
        header: The model's header (`read_remote_header`), or None to judge by size alone.
        memory: Free memory (`MachineMemory.probe()`); VRAM 0 means no usable GPU.
        flash_attn: As the load would take it (True when the setting is on, None to follow the
            cache type), so that the verdict's numbers are the model picker's.
    """
    if header is None:
        return _judge_by_size(model, memory, n_ctx, kv_type)
    info = header.info
    notes = []
    if info.context_length and n_ctx > info.context_length:
        notes.append(f"window capped at the model's trained {info.context_length:,} tokens")
        n_ctx = info.context_length
    problem = cache_type_problem(info, kv_type, kv_type, flash_attn)
    if problem:
        notes.append(f"{problem} Judged with an f16 cache.")
        kv_type = "f16"
    flash, _ = resolve_flash_attn(kv_type, flash_attn)
    total_layers = info.block_count + 1

    def estimate(layers: int) -> MemoryEstimate:
        return estimate_memory(info, n_ctx, kv_type, kv_type, flash, layers, layout=header.layout)

    free = memory.ram_available + memory.vram_available
    layers_tried = range(total_layers, -1, -1) if memory.vram_available else [0]
    for layers in layers_tried:
        candidate = estimate(layers)
        if memory.fits(candidate):
            placement, text = placement_words(layers, total_layers)
            return FitVerdict(placement, text, layers, total_layers, needed_bytes(candidate),
                              free, True, _has_headroom(candidate, memory), n_ctx, kv_type,
                              candidate, tuple(notes), candidate.total)  # fmt: skip
    best = estimate(total_layers if memory.vram_available else 0)
    return FitVerdict("none", DOES_NOT_FIT, 0, total_layers, needed_bytes(best), free, True,
                      False, n_ctx, kv_type, best, tuple(notes), best.total)  # fmt: skip


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


def _has_headroom(estimate: MemoryEstimate, memory: MachineMemory) -> bool:
    return ram_needed(estimate) <= memory.ram_available * (1 - HEADROOM) and vram_needed(
        estimate
    ) <= memory.vram_available * (1 - HEADROOM)


def _judge_by_size(
    model: RemoteModel, memory: MachineMemory, n_ctx: int, kv_type: str
) -> FitVerdict:
    bare = int(model.size * (1 + SIZE_ONLY_OVERHEAD))
    loaded = int(bare * (1 + ESTIMATE_MARGIN))  # where the model goes; the reserve stays in RAM
    needed = loaded + RAM_RESERVE_BYTES
    free = memory.ram_available + memory.vram_available
    note = ("the header could not be read: estimated from the file size alone",)
    if memory.vram_available and loaded <= memory.vram_available:
        placement: Placement = "gpu"
        text = "fits fully on the GPU"
    elif needed <= memory.ram_available:
        placement, text = "ram", "fits in RAM"
    else:
        return FitVerdict("none", DOES_NOT_FIT, 0, 0, needed, free, False, False, n_ctx,
                          kv_type, None, note, bare)  # fmt: skip
    limit = memory.vram_available if placement == "gpu" else memory.ram_available
    headroom = (loaded if placement == "gpu" else needed) <= limit * (1 - HEADROOM)
    return FitVerdict(placement, f"{text} {SIZE_ONLY}", 0, 0, needed, free, False, headroom,
                      n_ctx, kv_type, None, note, bare)  # fmt: skip


@dataclass(frozen=True)
class RepoAssessment:
    """Every model of a repository with its verdict, and the one to recommend.

    Attributes:
        rows: (model, verdict) per model, best quantization first.
        recommended: See `recommend`; None when nothing fits with headroom.
        header: The header that was read (its bytes and time), None when none could be.
        problem: Why no header could be read, in one line ("" when one was).
        headers: Every header read, by model (for `judge_listing` at another window).
    """

    repo_id: str
    rows: tuple[tuple[RemoteModel, FitVerdict], ...]
    recommended: RemoteModel | None
    header: RemoteHeader | None
    problem: str = ""
    headers: tuple[tuple[RemoteModel, RemoteHeader], ...] = ()


def assess_repo(
    connection: HubConnection,
    listing: RepoListing,
    memory: MachineMemory,
    n_ctx: int = 4096,
    kv_type: str = "f16",
    read_all: bool = False,
    flash_attn: bool | None = None,
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
    return judge_listing(listing, headers, memory, n_ctx, kv_type, problem, flash_attn)


def judge_listing(
    listing: RepoListing,
    headers: dict[RemoteModel, RemoteHeader],
    memory: MachineMemory,
    n_ctx: int = 4096,
    kv_type: str = "f16",
    problem: str = "",
    flash_attn: bool | None = None,
) -> RepoAssessment:
    """Judge every model of `listing` from headers already read (no network): a model without
    a header of its own is judged from the first header scaled by size, or by size alone when
    `headers` is empty. Judging again at another window or cache type costs no request.

    Args:
        headers: Headers read so far (`read_remote_header`), by model.
        problem: Why a header could not be read, kept in the assessment.
    """
    reference = next(iter(headers.values()), None)
    rows = []
    for model in listing.models:
        header = headers.get(model) or (scaled_header(reference, model) if reference else None)
        verdict = judge(model, header, memory, n_ctx, kv_type, flash_attn)
        if model not in headers and header is not None:
            verdict = replace(verdict, notes=(*verdict.notes, "weights scaled by size from "
                                              f"{reference.info.path if reference else ''}"))  # fmt: skip
        rows.append((model, verdict))
    return RepoAssessment(
        listing.repo_id, tuple(rows), recommend(rows), reference, problem, tuple(headers.items())
    )


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
