"""Draft-model speculative decoding: a small model guesses the next tokens, the loaded model checks.

The loaded (target) model verifies every guess in one batch and keeps only the tokens it would
have chosen itself, so the reply is exactly what it would be without a draft model; the draft only
saves time when it guesses right often and costs much less per token than the target.

Both models must share one vocabulary: a token id has to mean the same text to both.
`vocabulary_mismatch` compares what matters (tokenizer model, vocabulary size, special tokens,
a sample of token texts) and says in words what differs.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.errors import HearthError
from engine.gguf_info import ModelInfo
from engine.llama_load import decode_batch

# Token ids compared by text: the first ones (special and byte tokens), then an even spread.
_SAMPLE_HEAD = 300
_SAMPLE_SPREAD = 700
# llama.cpp's own speculative example accepts vocabularies this many tokens apart (padding).
MAX_VOCAB_DIFFERENCE = 128
# A drafted token whose probability under the draft model is below this ends the draft: the
# target would likely reject it and the rest, and each drafted token costs a draft decode.
MIN_DRAFT_PROBABILITY = 0.5


class DraftModelRefused(HearthError):
    """The draft model cannot draft for the loaded model; the message says why."""


def vocabulary_mismatch(target: Any, draft: Any) -> str:
    """Why `draft` cannot draft for `target` (two `llama_cpp.Llama`), or "" when it can.

    Compares the tokenizer model, the vocabulary size (within `MAX_VOCAB_DIFFERENCE`), the
    special tokens (start, end, end of turn) and the texts of a sample of token ids.
    """
    import llama_cpp

    kinds = [llama.metadata.get("tokenizer.ggml.model", "?") for llama in (target, draft)]
    if kinds[0] != kinds[1]:
        return f"its tokenizer is {kinds[1]!r} and the loaded model's is {kinds[0]!r}"
    sizes = [llama.n_vocab() for llama in (target, draft)]
    if abs(sizes[0] - sizes[1]) > MAX_VOCAB_DIFFERENCE:
        return f"its vocabulary has {sizes[1]:,} tokens and the loaded model's has {sizes[0]:,}"
    vocabs = [llama._model.vocab for llama in (target, draft)]
    for name, getter in (("start-of-text", llama_cpp.llama_vocab_bos),
                         ("end-of-text", llama_cpp.llama_vocab_eos),
                         ("end-of-turn", llama_cpp.llama_vocab_eot)):  # fmt: skip
        ids = [int(getter(vocab)) for vocab in vocabs]
        if ids[0] != ids[1]:
            return f"its {name} token is {ids[1]} and the loaded model's is {ids[0]}"
    common = min(sizes)
    step = max(1, common // _SAMPLE_SPREAD)
    sample = sorted(set(range(min(_SAMPLE_HEAD, common))) | set(range(0, common, step)))
    for token in sample:
        texts = [llama_cpp.llama_vocab_get_text(vocab, token) for vocab in vocabs]
        if texts[0] != texts[1]:
            shown = [(text or b"").decode("utf-8", errors="replace") for text in texts]
            return (
                f"token {token} is {shown[1]!r} in it but {shown[0]!r} in the loaded model, so "
                "the two models do not share a vocabulary"
            )
    return ""


class DraftModel:
    """A loaded draft model that keeps its KV cache in step with the target's tokens.

    Args:
        llama: The draft model's `llama_cpp.Llama` (same window as the target's).
        target: The target's `llama_cpp.Llama`, to check the vocabularies.
        path: The draft model's file, for messages.

    Raises:
        DraftModelRefused: the vocabularies differ; the message says how.
    """

    def __init__(self, llama: Any, target: Any, path: str) -> None:
        problem = vocabulary_mismatch(target, llama)
        if problem:
            raise DraftModelRefused(
                f"{Path(path).name} cannot draft for this model: {problem}.",
                "Choose a smaller model of the same family (the same tokenizer).",
            )
        self.llama = llama
        self.path = path
        self._n_vocab = min(llama.n_vocab(), target.n_vocab())

    def sync(self, history: Sequence[int]) -> None:
        """Make the draft's cache hold exactly `history` (the target's tokens), reusing its prefix.

        Evaluates what is missing in batches; leaves the logits after the last token ready.
        """
        import numpy as np

        llama = self.llama
        wanted = np.asarray(history, dtype=np.intc)
        have = llama.input_ids[: llama.n_tokens]
        same = min(len(have), len(wanted) - 1)  # evaluate at least one token, for its logits
        differ = np.flatnonzero(have[:same] != wanted[:same])
        keep = int(differ[0]) if len(differ) else same
        if keep < llama.n_tokens:
            llama._ctx.kv_cache_seq_rm(-1, keep, -1)
            llama.n_tokens = keep

        step = llama.n_batch
        for start in range(keep, len(wanted), step):
            decode_batch(llama, [int(t) for t in wanted[start : start + step]], all_logits=False)

    def draft(self, history: Sequence[int], max_tokens: int) -> list[int]:
        """Up to `max_tokens` greedy guesses after `history`, stopping at an unsure one."""
        import llama_cpp
        import numpy as np

        if max_tokens <= 0 or len(history) + max_tokens >= self.llama.n_ctx():
            return []
        self.sync(history)
        drafts: list[int] = []
        for index in range(max_tokens):
            pointer = llama_cpp.llama_get_logits_ith(self.llama._ctx.ctx, -1)
            logits = np.ctypeslib.as_array(
                ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(self._n_vocab,)
            )
            token = int(logits.argmax())
            top = float(logits[token])
            probability = 1.0 / float(np.exp(logits - top).sum())
            if probability < MIN_DRAFT_PROBABILITY:
                break
            drafts.append(token)
            if index + 1 < max_tokens:
                decode_batch(self.llama, [token], all_logits=False)
        return drafts

    def close(self) -> None:
        self.llama.close()


# A draft only saves time when it is much cheaper per token than the model it drafts for.
MAX_DRAFT_SIZE_SHARE = 0.7


def recommend_draft(target: ModelInfo, candidates: Iterable[ModelInfo]) -> ModelInfo | None:
    """The smallest of `candidates` that could draft for `target`, or None.

    From the files' headers only: the same architecture and vocabulary size, and a file at most
    `MAX_DRAFT_SIZE_SHARE` of the target's size. Loading it still checks the vocabularies fully.
    """
    fitting = [
        info
        for info in candidates
        if info.path != target.path
        and info.architecture == target.architecture
        and info.vocab_size == target.vocab_size
        and info.file_size <= target.file_size * MAX_DRAFT_SIZE_SHARE
    ]
    return min(fitting, key=lambda info: info.file_size, default=None)


def auto_draft_path(target: ModelInfo) -> str:
    """The recommended draft for `target` among the bundled models and the files beside it, or ""."""
    from engine.catalog import bundled_model_paths
    from engine.errors import ModelFileError
    from engine.gguf_info import read_model_info

    paths = {*bundled_model_paths(), *Path(target.path).parent.glob("*.gguf")}
    candidates = []
    for path in sorted(paths):
        try:
            candidates.append(read_model_info(path))
        except (ModelFileError, OSError):
            continue  # an unreadable file cannot draft; the loaded model is what matters
    chosen = recommend_draft(target, candidates)
    return chosen.path if chosen is not None else ""
