"""The llama.cpp session: load a GGUF model, stream chat replies, reuse the KV cache across turns.

One `ModelSession` owns one `llama_cpp.Llama`. Every call on it must come from the same thread
(the app's model thread); only `CancelToken.cancel()` may be called from elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.backends import auto_gpu_layers, default_threads, usable_cpus
from engine.cancel import CancelToken
from engine.draft_model import DraftModel, DraftModelRefused, auto_draft_path
from engine.drafter import Drafter
from engine.errors import GenerationError, HearthError, ModelLoadError, utf8
from engine.gguf_info import ModelInfo, read_model_info
from engine.llama_load import KV_CACHE_TYPES, LoadSettings, decode_batch
from engine.llama_load import create_llama as _create_llama
from engine.memory.allocation import AllocationReport, capture_llama_log
from engine.memory.estimate import kv_cache_bytes
from engine.model_probe import DEFAULT_GUARD, ModelGuard
from engine.prefix_cache import PrefixCache, model_key
from engine.prompt_format import PromptFormat
from engine.settings_schema import (
    CHAT_REQUEST_FIELDS,
    MAX_DRAFT_TOKENS,
    SettingError,
    validate_field,
)
from engine.stats import GenerationStats, StopReason
from engine.textstream import TextStream

log = logging.getLogger(__name__)

Message = dict[str, str]


@dataclass(frozen=True)
class SamplingSettings:
    """How to pick tokens. temperature <= 0 means greedy.

    `lookup_draft_tokens` > 0 turns on prompt-lookup speculative decoding with at most that many
    drafted tokens per step; drafting adapts to how often guesses are right, so it is on by
    default (see engine/lookup.py and bench/engine.py). 0 turns it off.
    """

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int = -1
    lookup_draft_tokens: int = 0

    def __post_init__(self) -> None:
        """Every value is checked against the settings schema, whoever built the settings.

        Raises:
            SettingError: naming the field and its range.
        """
        for name, key in _SAMPLING_KEYS.items():
            validate_field(getattr(self, name), key, name)


# The schema options (engine/settings_schema.py) that bound each sampling field.
# A system turn shorter than this is not worth a file: restoring costs about what evaluating does.
MIN_OPENING_TOKENS = 16

_SAMPLING_KEYS = {**{field: key for field, key in CHAT_REQUEST_FIELDS.items()},
                  "lookup_draft_tokens": "request.lookup_draft_tokens"}  # fmt: skip


@dataclass(frozen=True)
class LoadReport:
    """What was actually loaded, for `hearth info`, the backend badge and the logs.

    `n_batch` and `swa_full` are the settings the KV cache was built with (see `LoadSettings`);
    the context manager needs them to count the cache's bytes. `draft_model` is the file of the
    draft model in use ("" when none).
    """

    model: ModelInfo
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    flash_attn: bool
    type_k: str
    type_v: str
    template: str
    load_seconds: float
    notes: tuple[str, ...] = field(default=())
    n_batch: int = 512
    swa_full: bool = True
    draft_model: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.summary()
        return data


class ModelSession:
    """Owns the loaded model; see the module docstring for the threading rule."""

    # Counts come from the model's own tokenizer and template (see engine.chat_session).
    token_counts_exact = True

    def __init__(
        self, guard: ModelGuard | None = None, prefix_cache: PrefixCache | None = None
    ) -> None:
        # Opens files never loaded before in a child process first (see engine/model_probe.py).
        self.guard = guard or DEFAULT_GUARD
        # Keeps the system turn's KV cache on disk for the next process (engine/prefix_cache.py).
        self.prefix_cache = prefix_cache
        self._prefix_key = ""
        self._system_turn: tuple[str, list[int]] | None = None  # (system prompt, its tokens)
        self._llama: Any = None
        self._format: PromptFormat | None = None
        self.report: LoadReport | None = None
        # The buffers llama.cpp allocated for the loaded model (weights, KV cache, compute).
        self.allocation: AllocationReport | None = None
        # A small model of the same vocabulary that drafts tokens for the loaded one, if any.
        self._draft: DraftModel | None = None

    # -- loading ---------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    @property
    def n_ctx(self) -> int:
        return self._require().n_ctx()

    @property
    def llama(self) -> Any:
        """The underlying `llama_cpp.Llama`, for the engine's own planners and benchmarks."""
        return self._require()

    def load(self, settings: LoadSettings) -> LoadReport:
        """Load a model, replacing the current one only once the new one has loaded.

        A file never loaded before is first opened in a short-lived child process, so a file that
        would make llama.cpp abort costs that child, not this process.

        Raises:
            ModelFileError: the file is missing, not GGUF, truncated, inconsistent or damaged.
            ModelLoadError: llama.cpp could not load it (memory, unsupported architecture).
            SettingError: a setting is out of its range.
        """
        info = read_model_info(settings.model_path)
        settings, notes = _resolve(settings, info)
        self.guard.check(settings.model_path)
        started = time.perf_counter()
        # llama.cpp logs each buffer it allocates; keep them to check the memory estimate.
        with capture_llama_log() as captured:
            try:
                llama = _create_llama(settings, captured)
            except ModelLoadError as gpu_error:
                if settings.n_gpu_layers == 0:
                    raise
                notes.append(
                    f"Loading on the GPU failed ({gpu_error.message}); running on the CPU."
                )
                settings = replace(settings, n_gpu_layers=0)
                captured.clear()
                llama = _create_llama(settings, captured)
        draft = self._load_draft(settings, llama, notes)
        self.unload()
        if self.prefix_cache is not None:
            self._prefix_key = model_key(settings.model_path, {
                "n_ctx": llama.n_ctx(), "type_k": settings.type_k, "type_v": settings.type_v,
                "flash_attn": settings.flash_attn, "swa_full": settings.swa_full,
                "n_gpu_layers": settings.n_gpu_layers,
            })  # fmt: skip
        self._llama = llama
        self._draft = draft
        self._system_turn = None  # another model tokenizes it another way
        self.allocation = captured.allocation()
        self._format = PromptFormat.for_model(llama, info)
        notes.extend(self._format.notes)
        self.report = LoadReport(
            model=info,
            n_ctx=llama.n_ctx(),
            n_threads=int(settings.n_threads),
            n_gpu_layers=int(settings.n_gpu_layers),
            flash_attn=settings.flash_attn,
            type_k=settings.type_k,
            type_v=settings.type_v,
            template=self._format.kind,
            load_seconds=time.perf_counter() - started,
            notes=tuple(notes),
            n_batch=settings.n_batch,
            swa_full=settings.swa_full,
            draft_model=draft.path if draft is not None else "",
        )
        log.info("Loaded %s: %s", info.path, self.report.to_dict())
        return self.report

    def _load_draft(self, settings: LoadSettings, target: Any,
                    notes: list[str]) -> DraftModel | None:  # fmt: skip
        """The draft model `settings` names, loaded beside `target`; None with a note if it
        cannot draft for it (another vocabulary, a damaged file, too little memory)."""
        path = settings.draft_model_path
        if path == "auto":
            path = auto_draft_path(read_model_info(settings.model_path))
        if not path:
            return None
        draft_settings = replace(
            settings, model_path=path, n_ctx=target.n_ctx(), type_k="f16", type_v="f16",
            draft_model_path="",
        )  # fmt: skip
        try:
            read_model_info(path)
            self.guard.check(path)
            llama = _create_llama(draft_settings)
        except HearthError as exc:
            notes.append(f"The draft model is not used: {exc.message}")
            return None
        try:
            return DraftModel(llama, target, path)
        except DraftModelRefused as exc:
            llama.close()
            notes.append(f"The draft model is not used: {exc.message}")
            return None

    def unload(self) -> None:
        """Free the model and its KV cache now rather than whenever the garbage collector runs."""
        if self._llama is None:
            return
        llama, self._llama = self._llama, None
        if self._draft is not None:
            self._draft.close()
            self._draft = None
        self._format = None
        self.report = None
        self.allocation = None
        # close() frees the weights and the KV cache at once; no gc.collect(): a full collection
        # holds the GIL long enough to stall the window when a model is switched.
        llama.close()
        del llama

    # -- tokens ----------------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        return list(self._require().tokenize(utf8(text), add_bos=add_bos, special=False))

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The exact tokens the model will see for `messages`, reply header included."""
        self._require()
        assert self._format is not None
        return self._format.tokens(messages)

    @property
    def template_kind(self) -> str:
        self._require()
        assert self._format is not None
        return self._format.kind

    @property
    def cached_tokens(self) -> list[int]:
        """Tokens whose keys and values are in the KV cache now."""
        llama = self._require()
        return [int(t) for t in llama.input_ids[: llama.n_tokens]]

    # -- generation ------------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Message],
        sampling: SamplingSettings | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str | GenerationStats]:
        """Stream the reply to `messages`: text pieces, then one `GenerationStats`.

        Raises:
            GenerationError: the prompt does not fit the context window.
        """
        tokens = self.prompt_tokens(messages)
        assert self._format is not None
        return self.generate(tokens, sampling, cancel, stop_strings=self._format.stop_strings,
                             opening=self._system_turn_length(messages, tokens))  # fmt: skip

    def _system_turn_length(self, messages: Sequence[Message], tokens: list[int]) -> int:
        """How many of `tokens` the system message alone accounts for (0 without one, or
        without a prefix cache): the part every prompt with that system message opens with."""
        if self.prefix_cache is None or not messages or messages[0].get("role") != "system":
            return 0
        assert self._format is not None
        content = messages[0].get("content", "")
        if self._system_turn is None or self._system_turn[0] != content:
            # Rendered once per system prompt and model: a render costs a few ms of every TTFT.
            try:
                self._system_turn = (content, self._format.tokens(messages[:1]))
            except GenerationError:  # a template that wants a user turn too
                self._system_turn = (content, [])
        alone = self._system_turn[1]
        length = 0
        for ours, theirs in zip(alone, tokens, strict=False):
            if ours != theirs:
                break
            length += 1
        return length if length >= MIN_OPENING_TOKENS else 0

    def generate(
        self,
        prompt: Sequence[int],
        sampling: SamplingSettings | None = None,
        cancel: CancelToken | None = None,
        stop_strings: tuple[str, ...] = (),
        opening: int = 0,
    ) -> Iterator[str | GenerationStats]:
        """Stream a completion of raw prompt tokens; see `chat`.

        Args:
            opening: How many of the first tokens the prefix cache may restore or save.
        """
        llama = self._require()
        sampling = sampling or SamplingSettings()
        prompt = list(prompt)
        if not prompt:
            raise GenerationError("There is nothing to answer: the prompt is empty.")
        if len(prompt) >= llama.n_ctx():
            raise GenerationError(
                f"The conversation is {len(prompt):,} tokens long but the context window holds "
                f"{llama.n_ctx():,}.",
                "Start a new chat, shorten the message, or choose a larger context window.",
            )
        assert self._format is not None
        saved = None
        if self.prefix_cache is not None and 0 < opening < len(prompt):
            saved = _SavedOpening(self.prefix_cache, self._prefix_key, opening)
        return _Generation(llama, prompt, sampling, cancel or CancelToken(), stop_strings,
                           self._format.kind, self._draft, saved).run()  # fmt: skip

    def _require(self) -> Any:
        if self._llama is None:
            raise HearthError("No model is loaded yet.", "Load a model first.")
        return self._llama


def _resolve(settings: LoadSettings, info: ModelInfo) -> tuple[LoadSettings, list[str]]:
    """Fill in automatic values and fix combinations llama.cpp would reject."""
    notes: list[str] = []
    for name, value, low in (("context window", settings.n_ctx, 0), ("threads", settings.n_threads, 0),
                             ("batch size", settings.n_batch, 1)):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise SettingError(
                f"The {name} must be a whole number of at least {low}, not {value!r}."
            )
    for name in (settings.type_k, settings.type_v):
        if name not in KV_CACHE_TYPES:
            raise HearthError(
                f"Unknown K/V cache type '{name}'.", f"Choose one of {', '.join(KV_CACHE_TYPES)}."
            )
    n_ctx = settings.n_ctx or info.context_length or 4096
    flash_attn = settings.flash_attn
    if settings.type_v != "f16" and not flash_attn:
        flash_attn = True
        notes.append("Flash attention was turned on: a quantized V cache needs it.")
    threads = settings.n_threads or default_threads()
    cpus = usable_cpus()
    if threads > cpus:  # a settings file or --threads from a bigger machine
        notes.append(
            f"{threads} CPU threads were asked for, but Hearth may use {cpus} CPUs here: it uses "
            f"{cpus}, since more threads than CPUs only slow generation down."
        )
        threads = cpus
    gpu_layers = settings.n_gpu_layers
    if gpu_layers == "auto":
        import llama_cpp

        kv_bytes = kv_cache_bytes(info, n_ctx, settings.type_k, settings.type_v)
        gpu_layers = auto_gpu_layers(info, kv_bytes, bool(llama_cpp.llama_supports_gpu_offload()))
    else:
        try:
            gpu_layers = max(-1, int(gpu_layers))
        except ValueError as exc:
            raise HearthError(
                f"GPU layers must be a number or 'auto', not '{gpu_layers}'."
            ) from exc
    return (
        replace(
            settings,
            n_ctx=n_ctx,
            n_threads=threads,
            n_gpu_layers=gpu_layers,
            flash_attn=flash_attn,
        ),
        notes,
    )


@dataclass(frozen=True)
class _SavedOpening:
    """Where a reply's opening tokens' KV cache may be restored from or saved to."""

    cache: PrefixCache
    key: str
    length: int


class _Generation:
    """One reply: prefill what the cache lacks, then sample, optionally verifying drafted tokens."""

    def __init__(
        self,
        llama: Any,
        prompt: list[int],
        sampling: SamplingSettings,
        cancel: CancelToken,
        stop_strings: tuple[str, ...],
        template: str,
        draft_model: DraftModel | None = None,
        opening: _SavedOpening | None = None,
    ) -> None:
        self.llama = llama
        self.opening = opening
        self.prompt = prompt
        self.sampling = sampling
        self.cancel = cancel
        self.text = TextStream(stop_strings)
        self.template = template
        self.generated = 0
        self.drafted = 0
        self.accepted = 0
        self.draft_model = draft_model
        drafter = Drafter(prompt, sampling.lookup_draft_tokens, draft_model)
        self.drafter = drafter if drafter.active and not self.reproducible else None

    @property
    def reproducible(self) -> bool:
        """A sampled request with a seed must give the same reply every time. llama.cpp's
        logits differ in their last bits with the batch a token is evaluated in (its server's
        docs say so of `cache_prompt`), which can change a sampled token: such a request reuses
        no cached prefix and decodes without drafts, one token per batch. Greedy decoding takes
        no seed and keeps both."""
        return self.sampling.seed >= 0 and self.sampling.temperature > 0

    def run(self) -> Iterator[str | GenerationStats]:
        started = time.perf_counter()
        cached = start = self._reuse_cache()
        if cached == 0 and self.opening is not None and not self.reproducible:
            start, cached = self._opening_from_disk(self.opening)
        first_token_at = prefill_s = 0.0
        reason: StopReason = "stop"
        error = ""
        sampler = _make_sampler(self.llama, self.sampling)
        try:
            if not self._prefill(self.prompt[start:]):
                reason = "cancelled"
            else:
                prefill_s = time.perf_counter() - started
                for piece, first in self._sample_loop(sampler):
                    if first:
                        first_token_at = time.perf_counter() - started
                    if piece:
                        yield piece
                reason = self._stop_reason
            # Cut at the token limit or a full window: end at the last whole character.
            tail = self.text.flush(cut=reason == "length")
            if tail and reason != "cancelled":
                yield tail
        except RuntimeError as exc:  # llama_decode failures surface as RuntimeError
            log.exception("Generation failed")
            reason, error = "error", str(exc)
        finally:
            sampler.close()
        total = time.perf_counter() - started
        evaluated = len(self.prompt) - cached
        decode_s = total - (first_token_at or total)
        yield GenerationStats(
            prompt_tokens=len(self.prompt),
            cached_tokens=cached,
            generated_tokens=self.generated,
            ttft_s=first_token_at,
            prompt_tokens_per_s=evaluated / prefill_s if prefill_s > 0 else 0.0,
            # The first token's time belongs to the prefill; tokens/s counts the rest.
            generation_tokens_per_s=(self.generated - 1) / decode_s
            if decode_s > 0 and self.generated > 1
            else 0.0,
            stop_reason=reason,
            template=self.template,  # type: ignore[arg-type]
            drafted_tokens=self.drafted,
            accepted_draft_tokens=self.accepted,
            error=error,
        )

    def _reuse_cache(self) -> int:
        """Keep the longest common prefix of the cache and the prompt; drop the rest."""
        llama = self.llama
        cached = 0
        limit = min(llama.n_tokens, len(self.prompt) - 1)  # at least one token must be evaluated
        if self.reproducible:
            limit = 0
        ids = llama.input_ids
        while cached < limit and ids[cached] == self.prompt[cached]:
            cached += 1
        llama._ctx.kv_cache_seq_rm(-1, cached, -1)
        llama.n_tokens = cached
        return cached

    def _opening_from_disk(self, opening: _SavedOpening) -> tuple[int, int]:
        """Restore the opening's KV cache from disk, or evaluate it and save it there.

        Returns:
            (tokens now in the cache, tokens of them that were restored rather than evaluated).
        """
        tokens = self.prompt[: opening.length]
        if opening.cache.restore(self.llama, opening.key, tokens):
            return opening.length, opening.length
        if not self._prefill(tokens, sync_draft=False):
            return 0, 0
        opening.cache.store(self.llama, opening.key, tokens)
        return opening.length, 0

    def _prefill(self, tokens: list[int], sync_draft: bool = True) -> bool:
        """Evaluate the prompt in batches, checking for cancel between them."""
        step = self.llama.n_batch
        for start in range(0, len(tokens), step):
            if self.cancel.cancelled:
                return False
            self.llama.eval(tokens[start : start + step])
        if sync_draft and self.draft_model is not None and not self.cancel.cancelled:
            # The draft model reads the prompt now, so its first draft costs one token's decode.
            self.draft_model.sync(self.prompt)
        return True

    def _sample_loop(self, sampler: Any) -> Iterator[tuple[str, bool]]:
        llama = self.llama
        vocab = llama._model.vocab
        n_ctx = llama.n_ctx()
        drafter = self.drafter
        limit = self.sampling.max_tokens if self.sampling.max_tokens > 0 else n_ctx
        self._stop_reason: StopReason = "length"
        outputs = 1  # logits rows produced by the last decode
        drafts: list[int] = []
        while True:
            accepted = 0
            for row in range(outputs):
                token = sampler.sample(llama._ctx, row - outputs)
                if self.cancel.cancelled:
                    self._stop_reason = "cancelled"
                    return
                if _is_end_of_generation(vocab, token):
                    self._stop_reason = "stop"
                    return
                self.generated += 1
                yield self.text.feed(_token_bytes(vocab, token)), self.generated == 1
                if self.text.stopped:
                    self._stop_reason = "stop"
                    return
                if row < len(drafts) and token == drafts[row]:
                    accepted += 1
                    continue  # the draft was right: its K/V are already in the cache
                # Keep the cache up to the last verified token; `token` is decoded next.
                kept = llama.n_tokens - outputs + row + 1
                if kept < llama.n_tokens:
                    llama._ctx.kv_cache_seq_rm(-1, kept, -1)
                    llama.n_tokens = kept
                break
            self.accepted += accepted
            if drafter is not None:
                drafter.verified(drafts, accepted, token)
            if self.generated >= limit:
                return
            room = n_ctx - llama.n_tokens - 1
            if room <= 0:
                return
            drafts = []
            if drafter is not None:
                # The context holds logits for at most 1 + MAX_DRAFT_TOKENS tokens of a batch.
                budget = min(room, limit - self.generated - 1, MAX_DRAFT_TOKENS,
                             llama.n_batch - 1)  # fmt: skip
                drafts = drafter.draft(llama.input_ids[: llama.n_tokens], token, budget)
            self.drafted += len(drafts)
            decode_batch(llama, [token, *drafts], all_logits=bool(drafts))
            outputs = 1 + len(drafts)


def _make_sampler(llama: Any, sampling: SamplingSettings) -> Any:
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()
    if sampling.repeat_penalty != 1.0:
        sampler.add_penalties(
            n_vocab=llama.n_vocab(),
            penalty_last_n=64,
            penalty_repeat=sampling.repeat_penalty,
            penalty_freq=0.0,
            penalty_present=0.0,
        )
    if sampling.temperature <= 0:
        sampler.add_greedy()
        return sampler
    if sampling.top_k > 0:
        sampler.add_top_k(sampling.top_k)
    sampler.add_top_p(sampling.top_p, 1)
    sampler.add_min_p(sampling.min_p, 1)
    sampler.add_temp(sampling.temperature)
    seed = sampling.seed if sampling.seed >= 0 else 0xFFFFFFFF  # llama.cpp: random seed
    sampler.add_dist(seed)
    return sampler


def _is_end_of_generation(vocab: Any, token: int) -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(vocab, token))


def _token_bytes(vocab: Any, token: int) -> bytes:
    """The raw bytes of one token (special tokens render as nothing)."""
    import ctypes

    import llama_cpp

    buffer = ctypes.create_string_buffer(64)
    size = llama_cpp.llama_token_to_piece(vocab, token, buffer, 64, 0, False)
    if size < 0:  # a longer piece than the buffer: ask again with the exact size
        buffer = ctypes.create_string_buffer(-size)
        size = llama_cpp.llama_token_to_piece(vocab, token, buffer, -size, 0, False)
    return buffer.raw[:size]
