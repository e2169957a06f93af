"""Evaluate tokens on a loaded model through llama.cpp's C API, with logits where they are wanted.

The lab needs what a chat never does: the logits of every position of a text (perplexity, KL
divergence) and bare decode timings without sampling extras (prompt processing, generation). This
works on the context of a model loaded by `ModelSession` and leaves the session's own cache
bookkeeping empty afterwards, so the session stays usable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.cancel import CancelToken
from engine.errors import utf8
from engine.lab.events import LabCancelled

# Logits rows requested per decode call: llama.cpp keeps an output buffer of rows x vocabulary
# floats, 64 MiB at most here (about 64 rows for a 262K-token vocabulary).
LOGITS_BUDGET_BYTES = 64 * 2**20


class TokenEvaluator:
    """Decode batches on one llama.cpp context; call from the thread that owns the model.

    Args:
        llama: A loaded `llama_cpp.Llama` (`ModelSession.llama`).
        cancel: Checked before every decode call; once set, `decode` raises LabCancelled, so a
            long prefill stops within one batch, not at the end of its measurement.
    """

    def __init__(self, llama: Any, cancel: CancelToken | None = None) -> None:
        import llama_cpp

        self.cancel = cancel

        self._lib = llama_cpp
        self._llama = llama
        self.ctx = llama.ctx
        self.vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = int(llama_cpp.llama_n_batch(self.ctx))
        self.logit_rows = max(1, min(self.n_batch, LOGITS_BUDGET_BYTES // (self.n_vocab * 4)))
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._sampler: Any = None

    @property
    def add_bos(self) -> bool:
        return bool(self._lib.llama_vocab_get_add_bos(self.vocab))

    @property
    def bos(self) -> int:
        return int(self._lib.llama_vocab_bos(self.vocab))

    def tokenize(self, text: str) -> list[int]:
        """`text` as the model reads it: BOS first where the model wants one, no special tokens
        parsed (llama.cpp's `common_tokenize(ctx, text, true)`)."""
        return list(self._llama.tokenize(utf8(text), add_bos=True, special=False))

    def clear(self) -> None:
        """Empty the KV cache."""
        self._lib.llama_memory_clear(self._lib.llama_get_memory(self.ctx), True)
        self._llama.n_tokens = 0

    def decode(self, tokens: Sequence[int], start: int, logits_from: int | None = None) -> int:
        """Append `tokens` at positions `start`... in one llama_decode call.

        Args:
            tokens: At most `n_batch` tokens.
            start: Position of the first token (the cache must hold positions before it).
            logits_from: Index into `tokens` from which logits are kept; None keeps only the last.

        Returns:
            The number of logits rows produced (read them with `logits`).

        Raises:
            RuntimeError: llama.cpp could not decode (no room in the cache, a backend failure).
            LabCancelled: `cancel` was set.
        """
        if self.cancel is not None and self.cancel.cancelled:
            raise LabCancelled
        batch = self._batch
        count = len(tokens)
        first = count - 1 if logits_from is None else logits_from
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = start + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = i >= first
        batch.n_tokens = count
        code = self._lib.llama_decode(self.ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode failed with code {code}")
        return count - first

    def logits(self, rows: int) -> np.ndarray:
        """The last decode's logits, `rows` x `n_vocab` float32: a view of llama.cpp's buffer,
        valid until the next decode (copy it to keep it)."""
        pointer = self._lib.llama_get_logits(self.ctx)
        flat = np.ctypeslib.as_array(pointer, shape=(rows * self.n_vocab,))
        return flat.reshape(rows, self.n_vocab)

    def prefill(self, tokens: Sequence[int], start: int = 0) -> None:
        """Evaluate `tokens` in batches of `n_batch`, logits for the last token only."""
        for offset in range(0, len(tokens), self.n_batch):
            self.decode(tokens[offset : offset + self.n_batch], start + offset)

    def synchronize(self) -> None:
        """Wait for a GPU to finish queued work, so that a clock read afterwards is honest."""
        self._lib.llama_synchronize(self.ctx)

    def sample_greedy(self) -> int:
        """The most likely next token after the last decode (llama.cpp's greedy sampler)."""
        if self._sampler is None:
            lib = self._lib
            self._sampler = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
            lib.llama_sampler_chain_add(self._sampler, lib.llama_sampler_init_greedy())
        return int(self._lib.llama_sampler_sample(self._sampler, self.ctx, -1))

    def timed_prefill(self, tokens: Sequence[int]) -> float:
        """Seconds to evaluate `tokens` from an empty cache."""
        self.clear()
        started = time.perf_counter()
        self.prefill(tokens)
        self.synchronize()
        return time.perf_counter() - started

    def close(self) -> None:
        """Free the batch and sampler and leave the cache empty for the session."""
        self.clear()
        if self._sampler is not None:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None

    def __enter__(self) -> TokenEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
