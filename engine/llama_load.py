"""Creating a `llama_cpp.Llama` from `LoadSettings`, and llama.cpp's reason when it refuses.

Below both the session (engine/session.py), which loads models for chats, and the model probe
(engine/model_probe.py), which opens a file never loaded before in a child process first: both
create the model the same way.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.display import display_text, with_article
from engine.errors import HearthError, ModelLoadError
from engine.settings_schema import MAX_DRAFT_TOKENS

if TYPE_CHECKING:
    from engine.memory.allocation import LogCapture

# llama.cpp ggml_type ids for the K/V cache types Hearth offers.
KV_CACHE_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}


@dataclass(frozen=True)
class LoadSettings:
    """How to load a model.

    Args:
        model_path: The GGUF file.
        n_ctx: Context window in tokens; 0 means the model's trained length.
        n_threads: CPU threads; 0 means one per physical core.
        n_gpu_layers: Layers to offload, or "auto" to fit free VRAM (0 without a GPU).
        flash_attn: Flash attention where the backend has it (llama.cpp's "auto"); needed for a
            quantized V cache. On by default: faster on a 2-core CPU (bench/context.py).
        type_k: K cache type: "f16", "q8_0" or "q4_0".
        type_v: V cache type, as type_k.
        n_batch: Prompt tokens evaluated per step; also how often a prefill can be cancelled.
        swa_full: Keep sliding-window layers' KV cache full-size (llama.cpp's default), which
            lets a later prompt reuse any cached prefix; False saves memory on such models.
        draft_model_path: A small model of the same vocabulary that drafts tokens for this one
            (speculative decoding); "auto" picks one (engine/draft_model.py); "" for none.
        all_logits: Reserve logits for every token of a batch (perplexity and KL divergence
            read them all, engine/lab/evaluate.py); otherwise only for the sampled token and a
            draft, which keeps the compute buffer small.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 0
    n_gpu_layers: int | str = "auto"
    flash_attn: bool = True
    type_k: str = "f16"
    type_v: str = "f16"
    n_batch: int = 512
    swa_full: bool = True
    draft_model_path: str = ""
    all_logits: bool = False


class _UnusedChatFormatter:
    """Stands in for llama-cpp-python's chat formatter while a model loads (see below)."""

    def __init__(self, **_: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        def refuse(**_: Any) -> Any:
            raise HearthError("Hearth writes prompts itself; llama-cpp-python's chat is unused.")

        return refuse


_chat_formatter_lock = threading.Lock()


@contextlib.contextmanager
def _hearth_loading(settings: LoadSettings) -> Iterator[None]:
    """Load with Hearth's own choices where `Llama()` offers no argument for them.

    - `Llama()` compiles every template in the file's metadata for its own chat API, outside the
      limits Hearth puts on templates, and a template that does not compile fails the whole load.
      Hearth renders templates itself (engine/chat_template.py), so the loader gets a stand-in.
    - The context is created with `n_outputs_max` = `max_outputs(settings)`: llama.cpp reserves
      logits (and compute scratch for them) for that many tokens of a batch rather than all of
      them, which is most of the compute buffer for large vocabularies.
    - Flash attention on means llama.cpp's "auto": used wherever the backend supports it.
    """
    import llama_cpp.llama_cpp as c_api
    from llama_cpp import llama_chat_format

    real_init = c_api.llama_init_from_model
    outputs = max_outputs(settings)

    def init_from_model(model: Any, params: Any) -> Any:
        params.n_outputs_max = outputs
        if settings.flash_attn:
            params.flash_attn_type = c_api.LLAMA_FLASH_ATTN_TYPE_AUTO
        return real_init(model, params)

    with _chat_formatter_lock:
        original = llama_chat_format.Jinja2ChatFormatter
        llama_chat_format.Jinja2ChatFormatter = _UnusedChatFormatter  # type: ignore[misc, assignment]
        c_api.llama_init_from_model = init_from_model
        try:
            yield
        finally:
            llama_chat_format.Jinja2ChatFormatter = original  # type: ignore[misc]
            c_api.llama_init_from_model = real_init


def max_outputs(settings: LoadSettings) -> int:
    """Tokens of one batch that may ask for logits: the sampled token plus the longest draft, or
    the whole batch with `all_logits` (llama.cpp aborts on a batch that asks for more)."""
    if settings.all_logits:
        return settings.n_batch
    return min(settings.n_batch, 1 + MAX_DRAFT_TOKENS)


def create_llama(
    settings: LoadSettings, captured: LogCapture | None = None, verbose: bool = False
) -> Any:
    """A `llama_cpp.Llama` for `settings`; `captured` holds llama.cpp's log for its reasons.

    `verbose` leaves stderr open during the load (llama-cpp-python silences it otherwise).

    Raises:
        ModelLoadError: llama.cpp refused, with its own reason where it logged one.
    """
    import llama_cpp

    try:
        with _hearth_loading(settings):
            return llama_cpp.Llama(
                model_path=str(settings.model_path),
                n_ctx=settings.n_ctx,
                n_batch=settings.n_batch,
                n_ubatch=settings.n_batch,
                n_threads=int(settings.n_threads),
                n_threads_batch=int(settings.n_threads),
                n_gpu_layers=int(settings.n_gpu_layers),
                flash_attn=settings.flash_attn,
                type_k=KV_CACHE_TYPES[settings.type_k],
                type_v=KV_CACHE_TYPES[settings.type_v],
                swa_full=settings.swa_full,
                verbose=verbose,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        name = Path(settings.model_path).name
        reason = llama_reason(captured.text) if captured is not None else ""
        if reason and not _is_memory_reason(reason):
            raise ModelLoadError(
                f"llama.cpp could not load {name}: {reason}.",
                "The file may be damaged, or made for a newer version of llama.cpp.",
            ) from exc
        raise ModelLoadError(
            f"llama.cpp could not load {name} with {with_article(settings.n_ctx, '-token')} window"
            + (f": {reason}." if reason else "."),
            "The model may need more memory than is free. Try a smaller context window or a "
            "smaller model.",
        ) from exc


def _is_memory_reason(reason: str) -> bool:
    return bool(re.search(r"memory|alloc|buffer", reason, re.IGNORECASE))


def llama_reason(text: str) -> str:
    """The most specific reason llama.cpp or ggml logged for refusing a file, or "" (one line,
    at most 300 characters: a damaged file's names can be anything)."""
    reason = _first_reason(text)
    return display_text(reason if len(reason) <= 300 else reason[:299] + "…")


def _first_reason(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        assertion = re.search(r"GGML_ASSERT\((.+)\) failed", line)
        if assertion:
            return f"an internal check failed (GGML_ASSERT({assertion.group(1)}))"
    for line in lines:
        if "error loading model" in line:
            reason = line.rsplit("error loading model", 1)[1].lstrip(": ")
            reason = re.sub(r"^(error loading model \w+: )+", "", reason)
            if reason:
                return reason.rstrip(".")
    for line in lines:
        if "bad_alloc" in line or "failed to allocate" in line:
            return "it asks for more memory than can be allocated"
    if any("__cxa_throw" in line for line in lines):
        # A C++ exception escaped llama.cpp's C interface: name it and where it came from.
        thrown = next((m.group(1) for line in lines if (m := re.search(r"__throw_(\w+)", line))),
                      "C++")  # fmt: skip
        where = next((m.group(1) for line in lines
                      if (m := re.search(r" in (llama_[\w:]+)", line))), "llama.cpp")  # fmt: skip
        return f"an unexpected {thrown} error in {where}"
    for line in lines:
        if line.startswith(("print_info:", "llama_model_loader: -")) or " = " in line:
            continue  # settings being listed, not complaints
        if re.search(r"\b(error|invalid|failed)\b", line, re.IGNORECASE):
            message = line.split(": ", 1)[1] if ": " in line else line
            if "failed to load model" not in message:
                return message.rstrip(".")
    return ""


def decode_batch(llama: Any, tokens: list[int], all_logits: bool) -> None:
    """Append `tokens` to `llama`'s KV cache in one batch (llama.cpp's llama_decode).

    With `all_logits`, every position's logits are kept so each can be sampled (verifying
    drafted tokens); otherwise only the last one's.

    Raises:
        RuntimeError: llama_decode failed (llama-cpp-python raises it).
    """
    n_past = llama.n_tokens
    llama._batch.set_batch(batch=tokens, n_past=n_past, logits_all=all_logits)
    llama._ctx.decode(llama._batch)
    llama.input_ids[n_past : n_past + len(tokens)] = tokens
    llama.n_tokens = n_past + len(tokens)
