"""Answers from the library: numbered excerpts in, sources out, honest "not found"."""

from __future__ import annotations

import pytest

from engine.library.answer import (
    NOT_FOUND,
    AnswerResult,
    cited_numbers,
    plan_answer,
    stream_answer,
)
from tests.engine.library.corpus import EXACT_TERM, UNANSWERABLE


@pytest.mark.slow
def test_plan_numbers_sources_and_puts_them_in_the_prompt(guide_library, guide_pdf):
    question = "What water temperature is best for green tea?"
    plan = plan_answer(question, guide_library.search(question, k=5))
    assert plan.found
    first = plan.sources[0]
    assert (first.number, first.page, first.file) == (1, 4, str(guide_pdf))
    assert [s.number for s in plan.sources] == list(range(1, len(plan.sources) + 1))
    prompt = plan.messages[-1]["content"]
    assert "[1] (field-guide.pdf, page 4, Brewing green tea)" in prompt
    assert "eighty degrees Celsius" in prompt and prompt.endswith(f"Question: {question}")
    assert "[1]" in plan.messages[0]["content"]  # the model is told how to cite


@pytest.mark.slow
@pytest.mark.parametrize("question", UNANSWERABLE)
def test_nothing_relevant_means_not_found_without_the_model(guide_library, question):
    plan = plan_answer(question, guide_library.search(question, k=5))
    assert not plan.found and plan.messages == []
    items = list(stream_answer(None, plan))  # no model needed: it is never asked
    assert items[0] == NOT_FOUND
    result = items[-1]
    assert isinstance(result, AnswerResult)
    assert not result.found and result.sources == [] and result.text == NOT_FOUND


@pytest.mark.slow
def test_exact_term_counts_as_relevant(guide_library):
    plan = plan_answer(EXACT_TERM, guide_library.search(EXACT_TERM, k=5))
    assert plan.found and plan.sources[0].page == 7


def test_cited_numbers():
    assert cited_numbers("Bees swarm [2]. Queens leave [1][2], see [3, 1] and [9].", 3) == [2, 1, 3]
    assert cited_numbers("no citations", 3) == []


@pytest.mark.slow
def test_real_model_streams_an_answer_with_sources(guide_library, default_model_path):
    from engine.session import LoadSettings, ModelSession, SamplingSettings
    from engine.stats import GenerationStats

    question = "How often should I oil my bicycle chain?"
    plan = plan_answer(question, guide_library.search(question, k=3))
    session = ModelSession()
    session.load(LoadSettings(model_path=str(default_model_path), n_ctx=2048))
    try:
        sampling = SamplingSettings(temperature=0.0, max_tokens=48, seed=1)
        items = list(stream_answer(session, plan, sampling))
    finally:
        session.unload()
    pieces = [item for item in items if isinstance(item, str)]
    result = items[-1]
    assert isinstance(result, AnswerResult)
    assert pieces and result.text == "".join(pieces).strip()
    assert isinstance(result.stats, GenerationStats) and result.stats.generated_tokens > 0
    assert result.sources[0].page == 3
    assert result.to_dict()["sources"][0]["page"] == 3


def test_the_note_on_documents_not_indexed_yet_names_them_and_says_what_to_do():
    from engine.library.answer import UnreadDocument, not_indexed_note

    big = UnreadDocument("/home/me/big.txt", 0.0)
    assert not_indexed_note([], reading=True) == ""
    assert not_indexed_note([big], reading=True) == (
        "1 document is still being read (big.txt, 0 %): this answer does not use it yet. "
        "Ask again when it is ready."
    )
    five = [UnreadDocument(f"/d/{n}.pdf", n / 10 if n == 1 else None) for n in range(5)]
    assert not_indexed_note(five, reading=False, then="Re-index finishes them.") == (
        "5 documents are not indexed yet (0.pdf; 1.pdf, 10 %; 2.pdf; 2 more): this answer "
        "does not use them. Re-index finishes them."
    )
