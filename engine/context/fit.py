"""Fit the context window to the machine: check a load before it happens and propose what fits.

`check_fit` compares the memory estimate (see `estimate`) with free RAM and VRAM, with a margin for
the estimate's error and for the rest of the system. When a request does not fit it comes back with
proposals: a smaller window, a quantized K/V cache (flash attention on), fewer GPU layers.
`prepare_load` turns that into settings ready for `ModelSession.load`, or a `ContextFitError`.

The flash-attention rule: a quantized V cache needs flash attention, so it is turned on unless it
was explicitly turned off (then the load is refused). Quantized caches also need attention heads
whose size is a multiple of the cache's block size (32); other models can only use f16.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import HearthError
from engine.gguf_info import ModelInfo, read_model_info
from engine.memory.estimate import MemoryEstimate, estimate_memory, padded_cells
from engine.session import KV_CACHE_TYPES, LoadSettings

MAX_WINDOW = 131072
# Smaller windows are too short for a conversation to be worth proposing.
MIN_PROPOSED_WINDOW = 2048
WINDOW_CHOICES = (2048, 4096, 8192, 16384, 32768, 65536, 131072)
# The estimate is within a few percent of llama.cpp's buffers; keep 10% on top of it, and leave
# room for the operating system, the app and the document index.
ESTIMATE_MARGIN = 0.10
RAM_RESERVE_BYTES = 1024 * 2**20
QUANT_BLOCK = 32
GB = 1e9


class ContextFitError(HearthError):
    """A load that would not fit or that llama.cpp would reject; carries the `FitReport`."""

    def __init__(self, message: str, hint: str = "", report: FitReport | None = None) -> None:
        super().__init__(message, hint)
        self.report = report


@dataclass(frozen=True)
class MachineMemory:
    """Memory a new model may use: available RAM and the largest GPU's free VRAM (0: no GPU)."""

    ram_available: int
    vram_available: int = 0

    @classmethod
    def probe(cls, freed_ram: int = 0, freed_vram: int = 0) -> MachineMemory:
        """Measure now. `freed_*`: bytes the currently loaded model will give back first."""
        from engine.backends import GPU_RESERVE_BYTES
        from engine.memory import probe_memory

        snapshot = probe_memory()
        vram = 0
        if snapshot.gpus and _gpu_offload():
            vram = max(gpu.free for gpu in snapshot.gpus) + freed_vram - GPU_RESERVE_BYTES
        return cls(snapshot.ram_available + freed_ram, max(0, vram))

    def fits(self, estimate: MemoryEstimate) -> bool:
        return not self.shortfall(estimate)

    def shortfall(self, estimate: MemoryEstimate) -> dict[str, int]:
        """Bytes missing per memory kind ("ram", "vram"); empty when the estimate fits."""
        missing = {}
        if ram_needed(estimate) > self.ram_available:
            missing["ram"] = ram_needed(estimate) - self.ram_available
        if vram_needed(estimate) > self.vram_available and estimate.vram:
            missing["vram"] = vram_needed(estimate) - self.vram_available
        return missing


def ram_needed(estimate: MemoryEstimate) -> int:
    """RAM a load needs: the estimate with its margin, and the RAM kept for the rest of the
    system (bytes)."""
    return int(estimate.ram * (1 + ESTIMATE_MARGIN)) + RAM_RESERVE_BYTES


def vram_needed(estimate: MemoryEstimate) -> int:
    """GPU memory a load needs: the estimate with its margin (bytes)."""
    return int(estimate.vram * (1 + ESTIMATE_MARGIN))


def needed_bytes(estimate: MemoryEstimate) -> int:
    """RAM plus VRAM a load needs, margin and reserve included: the need every verdict states."""
    return ram_needed(estimate) + vram_needed(estimate)


@dataclass(frozen=True)
class Proposal:
    """A change to the load settings that would fit, in words and as settings."""

    description: str
    n_ctx: int
    type_k: str
    type_v: str
    flash_attn: bool
    n_gpu_layers: int
    estimate: MemoryEstimate

    def apply(self, settings: LoadSettings) -> LoadSettings:
        return replace(
            settings,
            n_ctx=self.n_ctx,
            type_k=self.type_k,
            type_v=self.type_v,
            flash_attn=self.flash_attn,
            n_gpu_layers=self.n_gpu_layers,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["estimate"] = self.estimate.to_dict()
        return data


@dataclass(frozen=True)
class FitReport:
    """Whether a load fits this machine, why not, and what would."""

    fits: bool
    estimate: MemoryEstimate | None
    memory: MachineMemory
    reason: str = ""
    notes: tuple[str, ...] = ()
    proposals: tuple[Proposal, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "fits": self.fits,
            "reason": self.reason,
            "notes": list(self.notes),
            "estimate": self.estimate.to_dict() if self.estimate else None,
            "memory": asdict(self.memory),
            "proposals": [proposal.to_dict() for proposal in self.proposals],
        }


def window_choices(info: ModelInfo) -> list[int]:
    """Window sizes to offer: the usual steps up to the trained length (128K at most)."""
    limit = min(info.context_length or MAX_WINDOW, MAX_WINDOW)
    choices = [size for size in WINDOW_CHOICES if size <= limit]
    if limit not in choices:
        choices.append(limit)
    return choices


def cache_type_problem(info: ModelInfo, type_k: str, type_v: str, flash_attn: bool | None) -> str:
    """Why llama.cpp would reject these cache types for this model, or "" when it would not."""
    for name in (type_k, type_v):
        if name not in KV_CACHE_TYPES:
            return f"'{name}' is not a K/V cache type; choose one of {', '.join(KV_CACHE_TYPES)}."
    if type_v != "f16" and flash_attn is False:
        return (
            f"A {type_v} V cache needs flash attention, which is turned off. Turn flash attention "
            "on or use an f16 cache."
        )
    if type_v != "f16" and info.architecture == "grok":
        return f"A {type_v} V cache needs flash attention, which llama.cpp does not run for Grok."
    for name, width in ((type_k, info.key_length), (type_v, info.value_length)):
        if name != "f16" and width % QUANT_BLOCK:
            return (
                f"This model's attention heads are {width} values wide; a {name} cache stores "
                f"blocks of {QUANT_BLOCK}, so only f16 works for it."
            )
    return ""


def resolve_flash_attn(type_v: str, flash_attn: bool | None) -> tuple[bool, str]:
    """Flash attention on or off, and a note when it was turned on for a quantized V cache."""
    if type_v != "f16" and not flash_attn:
        return True, "Flash attention was turned on: a quantized V cache needs it."
    return bool(flash_attn), ""


def largest_window(
    info: ModelInfo,
    memory: MachineMemory,
    type_k: str = "f16",
    type_v: str | None = None,
    n_gpu_layers: int = 0,
    n_batch: int = 512,
    flash_attn: bool | None = None,
    swa_full: bool = True,
) -> int:
    """The largest window (a multiple of 256, up to the trained length) that fits; 0 if none.

    Also 0 when the cache type cannot be used with this model (see `cache_type_problem`).
    """
    type_v = type_v or type_k
    if cache_type_problem(info, type_k, type_v, flash_attn):
        return 0
    flash, _ = resolve_flash_attn(type_v, flash_attn)
    limit = min(info.context_length or MAX_WINDOW, MAX_WINDOW)

    def fits(n_ctx: int) -> bool:
        estimate = estimate_memory(
            info, n_ctx, type_k, type_v, flash, n_gpu_layers, n_batch, swa_full
        )
        return memory.fits(estimate)

    low, high = 0, limit // 256  # in units of 256 cells; memory grows with the window
    if fits(limit):
        return limit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle * 256):
            low = middle
        else:
            high = middle - 1
    return low * 256


def largest_windows(
    info: ModelInfo, memory: MachineMemory, n_gpu_layers: int = 0
) -> dict[str, int]:
    """Per cache type (K and V alike), the largest window that fits; 0 where none does."""
    return {
        name: largest_window(info, memory, name, name, n_gpu_layers=n_gpu_layers)
        for name in KV_CACHE_TYPES
    }


def check_fit(
    settings: LoadSettings,
    memory: MachineMemory | None = None,
    info: ModelInfo | None = None,
    flash_attn: bool | None = None,
) -> FitReport:
    """Would `settings` load on this machine? With proposals when not.

    Args:
        settings: The requested load; `n_gpu_layers` "auto" is resolved as the session does.
        memory: Free memory; measured now when not given.
        info: The model's metadata; read from `settings.model_path` when not given.
        flash_attn: True/False when the person chose, None to follow the cache type
            (`settings.flash_attn` is used when this is None and it is True).
    """
    info = info or read_model_info(settings.model_path)
    memory = memory or MachineMemory.probe()
    wanted_fa = flash_attn if flash_attn is not None else (settings.flash_attn or None)
    n_ctx = settings.n_ctx or info.context_length or 4096
    gpu_layers = _gpu_layers(settings, info, n_ctx)
    notes = []
    problem = cache_type_problem(info, settings.type_k, settings.type_v, wanted_fa)
    if problem:
        return FitReport(False, None, memory, problem, (), _proposals(info, settings, memory,
                                                                      gpu_layers, n_ctx))  # fmt: skip
    flash, note = resolve_flash_attn(settings.type_v, wanted_fa)
    if note:
        notes.append(note)
    if info.context_length and n_ctx > info.context_length:
        return FitReport(
            False,
            None,
            memory,
            f"{Path(settings.model_path).name} was trained for windows up to "
            f"{info.context_length:,} tokens; "
            f"{n_ctx:,} is more than it can use.",
            tuple(notes),
            _proposals(info, settings, memory, gpu_layers, n_ctx),
        )
    estimate = estimate_memory(info, n_ctx, settings.type_k, settings.type_v, flash,
                               gpu_layers, settings.n_batch, settings.swa_full)  # fmt: skip
    missing = memory.shortfall(estimate)
    if not missing:
        return FitReport(True, estimate, memory, "", tuple(notes))
    return FitReport(
        False,
        estimate,
        memory,
        _shortfall_reason(estimate, memory, missing),
        tuple(notes),
        _proposals(info, settings, memory, gpu_layers, n_ctx),
    )


def prepare_load(
    settings: LoadSettings,
    memory: MachineMemory | None = None,
    info: ModelInfo | None = None,
    flash_attn: bool | None = None,
) -> tuple[LoadSettings, FitReport]:
    """Settings ready for `ModelSession.load` (flash attention resolved), after the fit check.

    Raises:
        ContextFitError: it would not fit or llama.cpp would reject it; the error's `report`
            holds the proposals, and its hint names the first few.
    """
    info = info or read_model_info(settings.model_path)
    report = check_fit(settings, memory, info, flash_attn)
    if not report.fits:
        hint = "Try: " + "; or ".join(p.description for p in report.proposals[:3]) + "."
        if not report.proposals:
            hint = "Close other programs to free memory, or choose a smaller model."
        raise ContextFitError(report.reason, hint, report)
    assert report.estimate is not None
    return (
        replace(
            settings,
            n_ctx=settings.n_ctx or info.context_length or 4096,
            flash_attn=report.estimate.flash_attn,
            n_gpu_layers=report.estimate.n_gpu_layers,
        ),
        report,
    )


def _gpu_offload() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def _gpu_layers(settings: LoadSettings, info: ModelInfo, n_ctx: int) -> int:
    """The layer count the session would use, resolving "auto" the same way it does."""
    if settings.n_gpu_layers != "auto":
        try:
            layers = int(settings.n_gpu_layers)
        except ValueError as exc:
            raise HearthError(
                f"GPU layers must be a number or 'auto', not '{settings.n_gpu_layers}'."
            ) from exc
        return info.block_count + 1 if layers < 0 else layers
    from engine.backends import auto_gpu_layers
    from engine.memory.estimate import kv_cache_bytes

    return auto_gpu_layers(info, kv_cache_bytes(info, padded_cells(n_ctx)), _gpu_offload())


def _shortfall_reason(
    estimate: MemoryEstimate, memory: MachineMemory, missing: dict[str, int]
) -> str:
    parts = (
        f"weights {estimate.weights / GB:.2f} GB, KV cache {estimate.kv / GB:.2f} GB, "
        f"compute {estimate.compute / GB:.2f} GB"
    )
    where = []
    if "ram" in missing:
        # Say the whole need: the reserve for the rest of the system is why 0.3 GB may not fit
        # in 1.3 GB free.
        where.append(
            f"{estimate.ram / GB:.2f} GB of RAM, {ram_needed(estimate) / GB:.2f} GB with the "
            "margin and the "
            f"{RAM_RESERVE_BYTES / GB:.2f} GB kept for the rest of the system "
            f"({memory.ram_available / GB:.2f} GB free)"
        )
    if "vram" in missing and memory.vram_available == 0:
        # No GPU (or a CPU-only build): "0.00 GB free" would read as a full GPU.
        many = "s" if estimate.n_gpu_layers != 1 else ""
        return (
            f"The load asks for {estimate.n_gpu_layers:,} GPU layer{many}, but llama.cpp has no "
            "GPU it can use on this computer."
        )
    if "vram" in missing:
        where.append(
            f"{estimate.vram / GB:.2f} GB of GPU memory ({memory.vram_available / GB:.2f} GB free)"
        )
    return (
        f"A window of {estimate.n_ctx:,} tokens with "
        f"{cache_words((estimate.type_k, estimate.type_v))} needs about "
        f"{' and '.join(where)}: {parts}. That does not fit."
    )


def _proposals(
    info: ModelInfo, settings: LoadSettings, memory: MachineMemory, gpu_layers: int, n_ctx: int
) -> tuple[Proposal, ...]:
    """What would fit, least change first: another cache type, fewer GPU layers, a smaller window."""
    proposals: list[Proposal] = []
    seen: set[tuple] = set()

    def offer(description: str, window: int, cache: tuple[str, str], layers: int) -> None:
        flash, _ = resolve_flash_attn(cache[1], settings.flash_attn or None)
        if window <= 0 or cache_type_problem(info, *cache, flash):
            return
        key = (window, cache, layers)
        if key in seen:
            return
        estimate = estimate_memory(info, window, cache[0], cache[1], flash, layers,
                                   settings.n_batch, settings.swa_full)  # fmt: skip
        if memory.fits(estimate):
            seen.add(key)
            proposals.append(Proposal(description, window, cache[0], cache[1], flash, layers,
                                      estimate))  # fmt: skip

    requested = (settings.type_k, settings.type_v)
    limit = min(n_ctx, info.context_length or n_ctx)
    if limit < n_ctx:
        offer(f"a window of {limit:,} tokens (the model's trained length)", limit, requested,
              gpu_layers)  # fmt: skip
        if proposals:  # it fits as asked at the trained length: nothing else need change
            return tuple(proposals)
    caches = list(dict.fromkeys([requested, ("q8_0", "q8_0"), ("q4_0", "q4_0"), ("f16", "f16")]))
    for cache in caches[1:]:
        flash = " (flash attention on)" if cache[1] != "f16" else ""
        offer(f"{cache_words(cache)}{flash} to keep {limit:,} tokens", limit, cache, gpu_layers)
    for layers in range(gpu_layers - 1, -1, -1):
        before = len(proposals)
        offer(f"{layers} GPU layers instead of {gpu_layers}", limit, requested, layers)
        if len(proposals) > before:
            break
    for cache in caches:
        window = largest_window(info, memory, cache[0], cache[1], gpu_layers, settings.n_batch,
                                settings.flash_attn or None, settings.swa_full)  # fmt: skip
        window = _round_down_choice(info, window)
        if MIN_PROPOSED_WINDOW <= window < limit:
            with_cache = "" if cache == requested else f" with {cache_words(cache)}"
            offer(f"a window of {window:,} tokens{with_cache}", window, cache, gpu_layers)
    return tuple(proposals)


def cache_words(cache: tuple[str, str]) -> str:
    """ "an f16 K/V cache", "a q8_0 K/V cache", or both types when they differ."""
    name = cache[0] if cache[0] == cache[1] else f"{cache[0]}/{cache[1]}"
    return f"{'an' if name.startswith('f') else 'a'} {name} K/V cache"


def _round_down_choice(info: ModelInfo, window: int) -> int:
    """A window people recognise (4K, 8K...) at or below `window`, else `window` itself."""
    choices = [size for size in window_choices(info) if size <= window]
    return max(choices) if choices else window
