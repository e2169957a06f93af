"""Quality of a model on a text: perplexity, and KL divergence and top-1 agreement with a reference.

The method is llama.cpp's `llama-perplexity` (tools/perplexity/perplexity.cpp, `perplexity` and
`kl_divergence`): the text is tokenized once, BOS first where the model wants one, and cut into
chunks of `n_ctx` tokens; each chunk is evaluated from an empty cache with its first token replaced
by BOS, and only the second half of each chunk is scored, so every scored token has at least
`n_ctx / 2` tokens of context. Perplexity is exp(mean negative log-likelihood) over those tokens.

For the reference model, the log-probabilities of every scored position are kept; a candidate is
then judged position by position with

    KL(P_ref || Q) = sum_i p_ref(i) * (log p_ref(i) - log q(i))

and top-1 agreement (llama.cpp's "Same top p"): the share of positions where both models' most
likely token is the same. As in llama.cpp, tokens whose reference log-probability is -16 or less
are left out of the sum; unlike llama.cpp, which stores the reference in 16 bits per token, the
kept log-probabilities are exact float32, so a model judged against itself scores exactly 0 and 1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.cancel import CancelToken
from engine.display import counted
from engine.errors import HearthError
from engine.lab.evaluate import TokenEvaluator
from engine.lab.events import LabCancelled

# llama.cpp's floor for reference log-probabilities in the KL sum (`p_log_base > -16.f`).
LOG_PROB_FLOOR = -16.0
# At most this many tokens per position are kept for the reference (the most likely ones); real
# models keep a few thousand above the floor, so this only bounds memory for degenerate ones.
MAX_REFERENCE_TOKENS = 32768


@dataclass(frozen=True)
class QualitySettings:
    """How much of the text to score.

    Attributes:
        n_ctx: Tokens per chunk (llama-perplexity's `-c`, 512 by default there too).
        max_chunks: Chunks to score at most (llama-perplexity's `--chunks`); 0 means all.
    """

    n_ctx: int = 512
    max_chunks: int = 8


@dataclass(frozen=True)
class QualityResult:
    """Quality figures for one model on one text.

    Attributes:
        perplexity: exp(mean negative log-likelihood) of the scored tokens.
        perplexity_error: llama.cpp's uncertainty of the perplexity (standard error, propagated).
        scored_tokens: Positions scored (chunks x (n_ctx - 1 - n_ctx / 2)).
        kl_divergence: Mean KL divergence from the reference, in nats; None without a reference.
        kl_divergence_p99, kl_divergence_max: 99th percentile and maximum over positions.
        top1_agreement: Share of positions whose most likely token matches the reference's.
    """

    perplexity: float
    perplexity_error: float
    scored_tokens: int
    chunks: int
    n_ctx: int
    seconds: float
    kl_divergence: float | None = None
    kl_divergence_p99: float | None = None
    kl_divergence_max: float | None = None
    top1_agreement: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReferenceDistribution:
    """The reference model's next-token log-probabilities at every scored position, kept sparse.

    Position p keeps the tokens `indices[offsets[p]:offsets[p + 1]]` with their log-probabilities,
    all those above `LOG_PROB_FLOOR`; `top1[p]` is its most likely token.
    """

    def __init__(self, tokens: Sequence[int], n_vocab: int) -> None:
        self.tokens = tuple(tokens)
        self.n_vocab = n_vocab
        self._indices: list[np.ndarray] = []
        self._logprobs: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._top1: list[np.ndarray] = []
        self.offsets = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self.logprobs = np.zeros(0, dtype=np.float32)
        self.top1 = np.zeros(0, dtype=np.int32)

    def add(self, logp: np.ndarray) -> None:
        """Keep rows of log-probabilities (positions x vocabulary)."""
        rows, cols = np.nonzero(logp > LOG_PROB_FLOOR)
        counts = np.bincount(rows, minlength=logp.shape[0])
        if counts.max(initial=0) > MAX_REFERENCE_TOKENS:
            rows, cols, counts = _top_entries(logp, MAX_REFERENCE_TOKENS)
        self._indices.append(cols.astype(np.int32))
        self._logprobs.append(logp[rows, cols].astype(np.float32))
        self._counts.append(counts)
        self._top1.append(logp.argmax(axis=1).astype(np.int32))

    def seal(self) -> None:
        """Join what `add` collected into flat arrays, ready for `kl_block`."""
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.indices = np.concatenate(self._indices) if self._indices else self.indices
        self.logprobs = np.concatenate(self._logprobs) if self._logprobs else self.logprobs
        self.top1 = np.concatenate(self._top1) if self._top1 else self.top1
        self._indices, self._logprobs, self._counts, self._top1 = [], [], [], []

    @property
    def positions(self) -> int:
        return len(self.offsets) - 1

    @property
    def nbytes(self) -> int:
        return int(self.indices.nbytes + self.logprobs.nbytes + self.offsets.nbytes)

    def kl_block(self, logp: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-position KL divergence and top-1 match for rows `first`... of a candidate.

        Args:
            logp: Candidate log-probabilities, positions x vocabulary.
            first: The reference position of `logp`'s first row.

        Returns:
            (kl, same_top1): float64 and bool arrays, one value per row.
        """
        count = logp.shape[0]
        bounds = self.offsets[first : first + count + 1]
        indices = self.indices[bounds[0] : bounds[-1]]
        ref = self.logprobs[bounds[0] : bounds[-1]].astype(np.float64)
        rows = np.repeat(np.arange(count), np.diff(bounds))
        terms = np.exp(ref) * (ref - logp[rows, indices])
        kl = np.bincount(rows, weights=terms, minlength=count)
        same = logp.argmax(axis=1) == self.top1[first : first + count]
        return kl, same


def text_chunks(
    tokens: Sequence[int], n_ctx: int, max_chunks: int, bos: int | None
) -> list[list[int]]:
    """Cut `tokens` into whole chunks of `n_ctx`, each starting with `bos` when given.

    Raises:
        HearthError: the text is shorter than one chunk.
    """
    if n_ctx < 16:
        raise HearthError(f"A perplexity chunk of {counted(n_ctx, 'token')} is too short to score.")
    count = len(tokens) // n_ctx
    if max_chunks > 0:
        count = min(count, max_chunks)
    if count == 0:
        raise HearthError(
            f"The text is {counted(len(tokens), 'token')} long; perplexity needs at least {n_ctx:,}.",
            "Choose a longer text or a smaller chunk size.",
        )
    chunks = []
    for index in range(count):
        chunk = list(tokens[index * n_ctx : (index + 1) * n_ctx])
        if bos is not None:
            chunk[0] = bos
        chunks.append(chunk)
    return chunks


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities as a new float32 array; the sums run in float64."""
    shifted = np.subtract(logits, logits.max(axis=1, keepdims=True))
    log_sum = np.log(np.add.reduce(np.exp(shifted), axis=1, dtype=np.float64))
    shifted -= log_sum.astype(np.float32)[:, None]
    return shifted


def measure_quality(
    evaluator: TokenEvaluator,
    text: str,
    settings: QualitySettings,
    reference: ReferenceDistribution | None = None,
    keep_reference: bool = False,
    cancel: CancelToken | None = None,
) -> Generator[float, None, tuple[QualityResult, ReferenceDistribution | None]]:
    """Score `text`; yields the fraction done after each block, returns (result, kept reference).

    Args:
        reference: Judge against this reference (KL divergence, top-1 agreement); skipped when
            the model reads the text as different tokens (another tokenizer).
        keep_reference: Keep this model's distributions, to be the reference of others.

    Raises:
        HearthError: the text is too short for one chunk, or longer chunks than the context.
        LabCancelled: `cancel` was set.
        RuntimeError: llama.cpp failed to decode.
    """
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    n_ctx = settings.n_ctx
    if n_ctx > evaluator.n_ctx:
        raise HearthError(
            f"Perplexity chunks of {n_ctx} tokens do not fit the {evaluator.n_ctx}-token window."
        )
    tokens = evaluator.tokenize(text)
    chunks = text_chunks(
        tokens, n_ctx, settings.max_chunks, evaluator.bos if evaluator.add_bos else None
    )
    flat = [token for chunk in chunks for token in chunk]
    if reference is not None and (
        reference.tokens != tuple(flat) or reference.n_vocab != evaluator.n_vocab
    ):
        reference = None
    kept = ReferenceDistribution(flat, evaluator.n_vocab) if keep_reference else None
    first = n_ctx // 2
    nll: list[np.ndarray] = []
    kl: list[np.ndarray] = []
    same: list[np.ndarray] = []
    position = 0  # index of the next scored position over all chunks
    for index, chunk in enumerate(chunks):
        evaluator.clear()
        for offset in range(0, first, evaluator.n_batch):
            if cancel.cancelled:
                raise LabCancelled
            end = min(first, offset + evaluator.n_batch)
            evaluator.decode(chunk[offset:end], offset, logits_from=end - offset)
        # Logits at positions first..n_ctx-2 predict tokens first+1..n_ctx-1.
        for offset in range(first, n_ctx - 1, evaluator.logit_rows):
            if cancel.cancelled:
                raise LabCancelled
            end = min(n_ctx - 1, offset + evaluator.logit_rows)
            rows = evaluator.decode(chunk[offset:end], offset, logits_from=0)
            logp = log_softmax(evaluator.logits(rows))
            targets = np.asarray(chunk[offset + 1 : end + 1])
            nll.append(-logp[np.arange(rows), targets].astype(np.float64))
            if reference is not None:
                block_kl, block_same = reference.kl_block(logp, position)
                kl.append(block_kl)
                same.append(block_same)
            if kept is not None:
                kept.add(logp)
            position += rows
            yield (index + (end - first) / (n_ctx - 1 - first)) / len(chunks)
    evaluator.clear()
    if kept is not None:
        kept.seal()
    losses = np.concatenate(nll)
    mean = float(losses.mean())
    perplexity = math.exp(mean)
    result = QualityResult(
        perplexity=perplexity,
        perplexity_error=perplexity * _standard_error(losses),
        scored_tokens=len(losses),
        chunks=len(chunks),
        n_ctx=n_ctx,
        seconds=time.perf_counter() - started,
    )
    if reference is not None:
        divergences = np.concatenate(kl)
        result = _with_divergence(result, divergences, np.concatenate(same))
    return result, kept


def _with_divergence(result: QualityResult, kl: np.ndarray, same: np.ndarray) -> QualityResult:
    values = dict(result.to_dict())
    values.update(
        kl_divergence=float(kl.mean()),
        kl_divergence_p99=float(np.percentile(kl, 99)),
        kl_divergence_max=float(kl.max()),
        top1_agreement=float(same.mean()),
    )
    return QualityResult(**values)


def _standard_error(values: np.ndarray) -> float:
    """llama.cpp's uncertainty of a mean: sqrt((E[x^2] - E[x]^2) / (n - 1))."""
    if len(values) < 2:
        return 0.0
    variance = float((values**2).mean() - values.mean() ** 2)
    return math.sqrt(variance / (len(values) - 1)) if variance > 0 else 0.0


def _top_entries(logp: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and per-row counts of each row's `limit` largest entries above the floor."""
    rows_out, cols_out, counts = [], [], []
    for row in range(logp.shape[0]):
        above = np.nonzero(logp[row] > LOG_PROB_FLOOR)[0]
        if len(above) > limit:
            above = above[np.argpartition(-logp[row, above], limit)[:limit]]
            above.sort()
        rows_out.append(np.full(len(above), row))
        cols_out.append(above)
        counts.append(len(above))
    return np.concatenate(rows_out), np.concatenate(cols_out), np.asarray(counts)
