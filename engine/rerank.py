"""Rerank search hits with a small language model: which passage makes the question most likely?

Each candidate's focused excerpt (what the answering model would read, see
`engine.library.answer.prompt_excerpt`) is put before the question, and the model's mean log
probability of the question's tokens is the passage's score: unsupervised passage reranking by
query likelihood (UPR, Sachan et al. 2022, https://arxiv.org/abs/2204.07496). It needs no
trained cross-encoder, so it runs on a GGUF model Hearth already ships.

The search's own order is kept as a prior (`RANK_PRIOR`). Measured with `bench/retrieval.py
--rerank` on the held-out questions of bench/eval (2 cores, bundled Gemma 3 270M, top 10
reranked): right page first 0.476 -> 0.667, in the top 5 0.81 -> 0.81, MRR 0.596 -> 0.733, about
3 s per question on this CPU. So it is something a person asks for (`--rerank`), not the default.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.cancel import CancelToken
from engine.errors import HearthError, utf8
from engine.library.answer import prompt_excerpt
from engine.library.types import Hit

# Candidates reranked: the fused ranking's first ten hold the right page for ~85% of questions.
RERANK_DEPTH = 10
# The window holds an excerpt (at most 600 characters) and a question; 1,024 tokens is ample.
RERANK_CTX = 1024
# A question's first 64 tokens say what it asks; scoring a pasted page of text as the question
# took 18 s per search (6,300 characters; 7 s with this cut).
QUESTION_TOKENS = 64
# Weight of the search's order in the rerank, in nats per question token per ln(1 + place).
# Chosen on the dev split of bench/eval (best MRR among 0.05-1.0; without it reranking lowered
# the dev split's hit@1 from 0.81 to 0.76), then measured on the held-out questions: hit@1
# 0.619 -> 0.667, MRR 0.705 -> 0.733 against reranking on the likelihood alone.
RANK_PRIOR = 0.5
PROMPT = "Passage: {passage}\nA question about this passage:"
# What a person keeps when the reranking model cannot load.
UNRERANKED = "Searches keep their own order meanwhile."

log = logging.getLogger(__name__)


class RerankerUnavailable(HearthError):
    """The reranking model cannot be loaded; searches keep their own order."""


class QueryLikelihoodReranker:
    """Scores passages by log P(question | passage) under a GGUF model; use from one thread.

    Args:
        model_path: A GGUF model file; None takes the bundled Gemma 3 270M, the best of the
            bundled models here (bench/retrieval.py --rerank).
        n_threads: CPU threads (0: one per physical core this process may run on).
        rank_prior: Weight of the search's order (`RANK_PRIOR`; 0 ranks on the fit alone).

    Raises:
        RerankerUnavailable: the model is missing or cannot be loaded; the message says why.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_threads: int = 0,
        rank_prior: float = RANK_PRIOR,
    ) -> None:
        from engine.bundled import gemma_model_path
        from engine.lab.evaluate import TokenEvaluator
        from engine.llama_load import max_outputs
        from engine.session import LoadSettings, ModelSession

        try:
            self.model_path = str(model_path or gemma_model_path())
            settings = LoadSettings(model_path=self.model_path, n_ctx=RERANK_CTX,
                                    n_threads=n_threads, n_batch=RERANK_CTX)  # fmt: skip
            self._session = ModelSession()
            self._session.load(settings)
        except HearthError as exc:
            raise RerankerUnavailable(
                f"The reranking model could not be loaded: {exc}", UNRERANKED
            ) from exc
        except Exception as exc:  # llama.cpp's own failure: still only the order is lost
            log.exception("Loading the reranking model failed")
            raise RerankerUnavailable(
                f"The reranking model could not be loaded ({type(exc).__name__}: {exc}).",
                UNRERANKED,
            ) from exc
        self.rank_prior = rank_prior
        self._evaluator = TokenEvaluator(self._session.llama)
        # Logits rows one decode may ask for (llama.cpp aborts on more).
        self._outputs = max_outputs(settings)

    def score(self, question: str, passage: str) -> float:
        """Mean log probability (nats per token, <= 0) of `question`'s tokens after `passage`;
        higher means the passage fits the question better. The passage is cut to fit the window,
        the question to its first `QUESTION_TOKENS` tokens.
        """
        evaluator = self._evaluator
        words = " ".join(question.split())
        if not words:
            return 0.0
        asked = list(self._session.llama.tokenize(utf8(" " + words), add_bos=False, special=False))[
            :QUESTION_TOKENS
        ]
        room = RERANK_CTX - len(asked) - 1
        prefix = evaluator.tokenize(PROMPT.format(passage=" ".join(passage.split())))
        if len(prefix) > room:  # keep the prompt's tail, which names what follows
            after = PROMPT.split("{passage}")[1]
            tail = list(self._session.llama.tokenize(after.encode(), add_bos=False, special=False))
            prefix = prefix[: room - len(tail)] + tail
        evaluator.clear()
        # The prefix's last position predicts the question's first token; the question's own
        # positions predict the rest, in decodes of at most the outputs the context allows.
        evaluator.decode(prefix, 0)
        total = _log_prob(evaluator.logits(1)[0], asked[0])
        step = self._outputs
        position = len(prefix)
        for start in range(0, len(asked) - 1, step):
            part = asked[start : start + step]
            rows = evaluator.decode(part, position, logits_from=0)
            logits = evaluator.logits(rows)
            for row, token in zip(logits, asked[start + 1 : start + 1 + len(part)], strict=False):
                total += _log_prob(row, token)
            position += len(part)
        return total / len(asked)

    def rerank(
        self,
        question: str,
        hits: Sequence[Hit],
        depth: int = RERANK_DEPTH,
        cancel: CancelToken | None = None,
    ) -> list[Hit]:
        """`hits` with the first `depth` reordered by their `rerank_score` (ties keep the
        search's order); the rest follow unchanged. When `cancel` is set between two
        candidates, the hits come back in the search's order.

        A hit's `rerank_score` is the `score` of its focused excerpt minus `rank_prior` times
        ln(1 + its place in the search, from 0): the search's own order still counts, so a
        lower candidate must fit the question clearly better to move up."""
        head, rest = list(hits[:depth]), list(hits[depth:])
        scored = []
        for place, hit in enumerate(head):
            if cancel is not None and cancel.cancelled:
                return list(hits)
            fit = self.score(question, prompt_excerpt(question, hit))
            scored.append(replace(hit, rerank_score=fit - self.rank_prior * math.log1p(place)))
        order = sorted(range(len(scored)), key=lambda i: (-(scored[i].rerank_score or 0.0), i))
        return [scored[i] for i in order] + rest

    def close(self) -> None:
        """Free the model."""
        self._evaluator.close()
        self._session.unload()

    def __enter__(self) -> QueryLikelihoodReranker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reranked_search(
    library: Any,
    question: str,
    k: int,
    reranker: Callable[[], QueryLikelihoodReranker | None],
    cancel: CancelToken | None = None,
    **search_options: Any,
) -> list[Hit]:
    """`library.search`'s best `RERANK_DEPTH` (or `k`, when more) matches, reranked, cut to `k`.

    The candidates are the same whatever `k` up to `RERANK_DEPTH`, so asking for fewer
    excerpts gives the first of the same order. `reranker` is called only once the search has
    candidates (a question it refuses, or one without a match, loads no model); when it gives
    None, the search's own order stands. `search_options` go to `library.search` (`files=...`).
    """
    hits = library.search(question, k=max(k, RERANK_DEPTH), **search_options)
    model = reranker() if hits else None
    if model is None:
        return list(hits[:k])
    return model.rerank(question, hits, cancel=cancel)[:k]


def _log_prob(logits: np.ndarray, token: int) -> float:
    """log softmax(logits)[token], in float64."""
    row = logits.astype(np.float64)
    top = float(row.max())
    return float(row[token] - top - math.log(np.exp(row - top).sum()))
