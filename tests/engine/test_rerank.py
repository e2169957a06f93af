"""Reranking search hits by query likelihood, on the bundled models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.library.answer import prompt_excerpt
from engine.library.types import Hit
from engine.rerank import (
    PROMPT,
    QUESTION_TOKENS,
    RANK_PRIOR,
    RERANK_DEPTH,
    QueryLikelihoodReranker,
    reranked_search,
)

pytestmark = pytest.mark.slow

QUESTION = "How long must the pump stay switched off after an overheating alarm?"
ANSWER = (
    "Overheating. When the overheating alarm sounds, switch the pump off and leave it off for "
    "at least 45 minutes so the motor can cool before you start it again."
)
DISTRACTORS = (
    "Warranty. The warranty covers manufacturing defects for two years from the date of "
    "purchase; keep the receipt.",
    "Cleaning the filter. Rinse the filter basket under running water once a month and let it "
    "dry before you put it back.",
    "Installing. Place the pump on a level surface at least 30 cm from the wall and connect the "
    "hose with the clamp supplied.",
    "Noise. A humming noise at start-up is normal; a grinding noise means a stone is stuck in "
    "the impeller.",
)


def hit(number: int, text: str) -> Hit:
    return Hit(chunk_id=number, file="/docs/pump.pdf", page=number, text=text, score=1 / number)


@pytest.fixture(scope="module")
def gemma_reranker(gemma_model_path):
    with QueryLikelihoodReranker(gemma_model_path, n_threads=2) as reranker:
        yield reranker


def test_the_passage_that_answers_comes_first_and_the_rest_keep_their_place(gemma_reranker):
    filler = [hit(n, f"Spare part number {n} fits the older model only.") for n in range(6, 13)]
    hits = [hit(n, text) for n, text in enumerate(DISTRACTORS, start=1)]
    hits += [hit(5, ANSWER), *filler]
    assert len(hits) > RERANK_DEPTH

    reranked = gemma_reranker.rerank(QUESTION, hits)

    assert reranked[0].page == 5
    scores = [h.rerank_score for h in reranked[:RERANK_DEPTH]]
    assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)
    assert all(h.rerank_score is None for h in reranked[RERANK_DEPTH:])
    assert sorted(h.page for h in reranked) == sorted(h.page for h in hits)
    assert reranked[RERANK_DEPTH:] == hits[RERANK_DEPTH:]  # beyond the depth, the search's order
    # The search's order still counts: the answer, fifth in it (place 4), pays the rank prior.
    fit = gemma_reranker.score(QUESTION, prompt_excerpt(QUESTION, hits[4]))
    assert reranked[0].rerank_score == pytest.approx(fit - RANK_PRIOR * math.log(5))


def test_a_cancelled_rerank_gives_the_search_order(gemma_reranker):
    hits = [hit(1, DISTRACTORS[0]), hit(2, ANSWER)]
    cancel = CancelToken()
    cancel.cancel()
    assert gemma_reranker.rerank(QUESTION, hits, cancel=cancel) == hits


def test_a_passage_longer_than_the_window_is_cut_to_fit(gemma_reranker):
    score = gemma_reranker.score(QUESTION, "The pump hums. " * 2000)
    assert math.isfinite(score) and score < 0
    assert gemma_reranker.score("", ANSWER) == 0.0


def test_the_score_is_the_question_s_mean_log_likelihood_after_the_passage(default_model_path):
    """Checked against llama.cpp's logits of every position: the question is longer than the
    logits one decode may ask for, so it is scored over several decodes, and longer than the
    tokens scored, so only its first `QUESTION_TOKENS` count."""
    from llama_cpp import Llama

    question = " ".join([QUESTION] * 6)  # about 90 tokens: more than 33 logits rows
    with QueryLikelihoodReranker(default_model_path, n_threads=2) as reranker:
        score = reranker.score(question, ANSWER)

    reference = Llama(model_path=str(default_model_path), n_ctx=1024, n_batch=1024,
                      logits_all=True, n_threads=2, verbose=False)  # fmt: skip
    prefix = reference.tokenize(PROMPT.format(passage=ANSWER).encode(), add_bos=True, special=False)
    asked = reference.tokenize((" " + question).encode(), add_bos=False, special=False)
    assert len(asked) > QUESTION_TOKENS > 33
    asked = asked[:QUESTION_TOKENS]
    reference.eval(prefix + asked)
    logits = np.asarray(reference.scores[: len(prefix) + len(asked)], dtype=np.float64)
    total = 0.0
    for i, token in enumerate(asked):
        row = logits[len(prefix) + i - 1]
        top = row.max()
        total += row[token] - top - math.log(np.exp(row - top).sum())
    reference.close()
    assert score == pytest.approx(total / len(asked), abs=0.02)


class _Searched:
    """A library whose search returns `hits`, cut to the k asked, and records each k."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.asked: list[int] = []

    def search(self, _question: str, k: int) -> list[Hit]:
        self.asked.append(k)
        return self.hits[:k]


def test_a_reranked_search_ranks_the_same_candidates_whatever_the_k(gemma_reranker):
    hits = [hit(n, text) for n, text in enumerate(DISTRACTORS, start=1)] + [hit(5, ANSWER)]
    library = _Searched(hits)
    two = reranked_search(library, QUESTION, 2, lambda: gemma_reranker)
    four = reranked_search(library, QUESTION, 4, lambda: gemma_reranker)
    assert library.asked == [RERANK_DEPTH, RERANK_DEPTH]
    assert [h.page for h in two] == [h.page for h in four[:2]] and two[0].page == 5
    # No candidates: no model is asked for. No model: the search's own order.
    assert reranked_search(_Searched([]), QUESTION, 2, _never_loaded) == []
    assert reranked_search(library, QUESTION, 2, lambda: None) == hits[:2]


def _never_loaded():
    raise AssertionError("a search without candidates loads no reranking model")


def test_a_model_that_cannot_load_is_named_as_the_reranking_model(tmp_path):
    from engine.rerank import RerankerUnavailable

    broken = tmp_path / "reranker.gguf"
    broken.write_bytes(b"GGUF but not really")
    with pytest.raises(RerankerUnavailable, match="The reranking model could not be loaded"):
        QueryLikelihoodReranker(broken)
