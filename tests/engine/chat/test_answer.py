"""Answering without Qt and without a model: the events, their order, what reaches the engine,
and every way a reply can end (done, stopped, refused, no model)."""

from __future__ import annotations

import pytest

from engine.cancel import CancelToken
from engine.chat.answer import (
    SOURCES_INSTRUCTION,
    Question,
    WholeDocument,
    answer,
    context_in_use,
)
from engine.chat.engine import NoModelError
from engine.chat.events import ContextUsed, QuestionRead, ReplyEnded, SourcesFound, TextArrived
from engine.context.budget import ContextBudget
from engine.context.manager import ContextFullError
from tests.fakes import FakeEngine, sources


def test_a_plain_question_plans_streams_and_ends_with_stats():
    engine = FakeEngine(reply="Blue is a colour.")
    history = ({"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"})
    question = Question("Name a colour.", "Be brief.", history, conversation=7)
    events = list(answer(engine, question))

    kinds = [type(e).__name__ for e in events]
    assert kinds == ["ContextUsed", *["TextArrived"] * 4, "ContextUsed", "ReplyEnded"]
    assert "".join(e.text for e in events if isinstance(e, TextArrived)) == "Blue is a colour."
    [turn] = engine.turns
    assert (turn.system_prompt, turn.message, tuple(turn.history)) == ("Be brief.", "Name a colour.",
                                                                        history)  # fmt: skip
    assert engine.conversations == [7]
    first, last = events[0], events[-2]
    assert isinstance(first, ContextUsed) and first.budget.message == 3
    assert isinstance(last, ContextUsed) and last.budget.generated == 4
    assert events[-1] == ReplyEnded(events[-1].stats) and events[-1].stats.generated_tokens == 4


def test_a_chat_with_documents_searches_first_and_numbers_the_excerpts():
    engine = FakeEngine()
    asked: list[tuple[str, str, int]] = []

    def retrieve(library: str, text: str, k: int, _cancel: CancelToken):
        asked.append((library, text, k))
        return sources(3, 1)

    question = Question("Who keeps the lighthouse?", library="chat-4", sources_k=2,
                        pinned=(WholeDocument("/docs/notes.txt", "Tides twice a day."),))  # fmt: skip
    events = list(answer(engine, question, retrieve))

    assert asked == [("chat-4", "Who keeps the lighthouse?", 2)]
    assert isinstance(events[0], SourcesFound)
    assert [s.page for s in events[0].sources] == [3, 1]
    [turn] = engine.turns
    assert [d.title for d in turn.excerpts] == ["harbour-guide.pdf, page 3",
                                                "harbour-guide.pdf, page 1"]  # fmt: skip
    assert turn.excerpt_intro == SOURCES_INSTRUCTION
    assert [(d.title, d.text) for d in turn.pinned] == [("notes.txt", "Tides twice a day.")]


def test_the_question_is_read_after_its_excerpts_and_said_so_for_later_turns():
    engine = FakeEngine(reply="Ann.")
    question = Question("Who keeps the lighthouse?", library="chat-4")
    events = list(answer(engine, question, lambda *_args: sources(3)))

    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["SourcesFound", "ContextUsed", "QuestionRead", "TextArrived"]
    [read] = [e for e in events if isinstance(e, QuestionRead)]
    assert read.text.startswith(SOURCES_INSTRUCTION + "\n\n[1] (harbour-guide.pdf, page 3)\n")
    assert read.text.endswith("\n\nQuestion: Who keeps the lighthouse?")


def test_no_library_means_no_search():
    def retrieve(*_args):
        raise AssertionError("a chat without documents is never searched")

    events = list(answer(FakeEngine(), Question("Hi"), retrieve))
    assert not any(isinstance(e, SourcesFound) for e in events)


def test_stopped_while_the_documents_are_searched_ends_as_cancelled():
    engine = FakeEngine()
    cancel = CancelToken()

    def retrieve(_library: str, _text: str, _k: int, search_cancel: CancelToken):
        assert search_cancel is cancel  # the search itself can stop early (a rerank)
        cancel.cancel()  # Stop pressed while the search runs
        return sources(3, 1)

    events = list(answer(engine, Question("Hi", library="chat-4"), retrieve, cancel))
    assert [type(e) for e in events] == [ReplyEnded]
    assert events[0].stats.stop_reason == "cancelled" and engine.turns == []


def test_stopped_before_it_starts_it_ends_at_once_as_cancelled():
    engine = FakeEngine()
    cancel = CancelToken()
    cancel.cancel()
    events = list(answer(engine, Question("Hi"), cancel=cancel))
    assert [type(e) for e in events] == [ReplyEnded]
    assert events[0].stats.stop_reason == "cancelled" and events[0].stats.generated_tokens == 0
    assert engine.turns == []


def test_stopped_while_the_context_is_planned_ends_as_cancelled():
    error = ContextFullError("summary interrupted", (), ContextBudget(n_ctx=10))
    engine = FakeEngine(plan_error=error, cancel_in_plan=True)
    events = list(answer(engine, Question("Hi"), cancel=CancelToken()))
    assert [type(e) for e in events] == [ReplyEnded]
    assert events[0].stats.stop_reason == "cancelled"


def test_a_turn_that_cannot_fit_is_refused_with_the_engines_reason():
    error = ContextFullError("This turn needs 5,000 tokens.", ("start a new chat",),
                             ContextBudget(n_ctx=2048))  # fmt: skip
    with pytest.raises(ContextFullError, match="needs 5,000 tokens") as refused:
        list(answer(FakeEngine(plan_error=error), Question("Hi")))
    assert "start a new chat" in str(refused.value)


def test_without_a_model_it_says_so():
    with pytest.raises(NoModelError, match="No model is loaded"):
        list(answer(FakeEngine(ready=False), Question("Hi")))


def test_a_stop_mid_reply_keeps_what_was_written():
    engine = FakeEngine(reply="one two three four five six")
    cancel = CancelToken()
    texts: list[str] = []
    for event in answer(engine, Question("Count."), cancel=cancel):
        if isinstance(event, TextArrived):
            texts.append(event.text)
            if len(texts) == 2:
                cancel.cancel()
        last = event
    assert "".join(texts) == "one two"
    assert isinstance(last, ReplyEnded) and last.stats.stop_reason == "cancelled"
    assert last.stats.generated_tokens == 2


def test_text_batches_join_in_order():
    batch = TextArrived("Hello").joined(TextArrived(",")).joined(TextArrived(" world", 2))
    assert batch == TextArrived("Hello, world", 4)


LIGHTHOUSE = (
    "The harbour has twelve boats. The keeper of the lighthouse is Marta Quillfeather. "
    "The lamp turns twice a minute."
)
MARKET = "The market opens on Saturday. Bread and fish are sold on the quay."


def _excerpts():
    from engine.library.answer import Source

    return (
        Source(1, "/docs/market.pdf", 4, MARKET, char_start=100),
        Source(2, "/docs/harbour-guide.pdf", 2, LIGHTHOUSE, char_start=40),
    )


def test_the_evidence_for_the_reply_comes_just_before_it_ends():
    from engine.chat.events import EvidenceFound

    engine = FakeEngine(reply="Marta Quillfeather keeps it [2].")
    question = Question("Who keeps the lighthouse?", library="chat-1")
    events = list(answer(engine, question, lambda *_: _excerpts()))

    assert [type(e).__name__ for e in events[-3:]] == ["ContextUsed", "EvidenceFound", "ReplyEnded"]
    found = events[-2]
    assert isinstance(found, EvidenceFound)
    best = found.evidence[0]
    # The cited source's sentence with the question's and the reply's terms, file and page kept.
    assert (best.source, best.file, best.page) == (2, "/docs/harbour-guide.pdf", 2)
    assert best.text == "The keeper of the lighthouse is Marta Quillfeather."
    assert best.marked() == ("The **keeper** of the **lighthouse** is **Marta** **Quillfeather**.")
    assert best.char_start == 40 + LIGHTHOUSE.index("The keeper")
    assert all(e.source != 1 for e in found.evidence), "the market page holds none of the terms"


def test_the_reply_s_own_words_choose_the_evidence():
    from engine.library.answer import Source, sources_evidence

    excerpts = (
        Source(1, "/docs/guide.pdf", 5, "The lamp is lit at sunset by the keeper."),
        Source(2, "/docs/history.pdf", 9, "The lamp was replaced in 1911 after a storm."),
    )
    before = sources_evidence("When was the lamp changed?", excerpts, "")
    after = sources_evidence("When was the lamp changed?", excerpts, "It was replaced in 1911.")
    assert [e.source for e in before] == [1, 2]
    assert [e.source for e in after] == [2, 1]
    # Of the reply, the number it states is marked (not "replaced": see evidence._claims).
    assert after[0].marked() == "The **lamp** was replaced in **1911** after a storm."


def test_no_sources_no_evidence_event():
    from engine.chat.events import EvidenceFound

    events = list(answer(FakeEngine(), Question("Hi", library="chat-1"), lambda *_: ()))
    assert not any(isinstance(e, EvidenceFound) for e in events)


def test_the_model_reads_the_part_of_a_long_source_that_bears_on_the_question():
    from engine.library.answer import EXCERPT_CHARS, Source

    filler = " ".join(f"Paragraph {n} is about nets and ropes." for n in range(40))
    long = f"{filler} The keeper of the lighthouse is Marta Quillfeather. {filler}"
    engine = FakeEngine()
    question = Question("Who keeps the lighthouse?", library="chat-1")
    events = list(answer(engine, question, lambda *_: (Source(1, "/docs/guide.pdf", 2, long),)))

    [turn] = engine.turns
    [excerpt] = turn.excerpts
    assert "Marta Quillfeather" in excerpt.text and len(excerpt.text) <= EXCERPT_CHARS
    assert events[0].sources[0].excerpt == long  # the person's source stays whole


def test_the_context_in_use_is_the_chat_as_it_stands_and_says_when_it_outgrew_the_window():
    from dataclasses import replace

    from engine.session import SamplingSettings

    engine = FakeEngine(n_ctx=64)
    history = ({"role": "user", "content": "word " * 20}, {"role": "assistant", "content": "ok"})
    question = Question("", "Be brief.", history, sampling=SamplingSettings(max_tokens=16))
    used = context_in_use(engine, question)
    assert used is not None and used.notice == ""
    assert (used.budget.system, used.budget.history, used.budget.reply_reserve) == (2, 21, 16)
    assert engine.turns == [], "counted, not asked"

    longer = replace(question, history=(*history, {"role": "user", "content": "word " * 30}))
    used = context_in_use(engine, longer)
    assert used is not None and used.budget.prompt + used.budget.reply_reserve > 64
    assert "longer than the context window" in used.notice and "makes room" in used.notice
    used = context_in_use(engine, replace(longer, overflow_policy="stop"))
    assert used is not None and "will be refused" in used.notice
    assert context_in_use(FakeEngine(ready=False), question) is None


@pytest.mark.slow
def test_a_message_too_long_for_the_window_is_refused_before_the_documents_are_searched(
    default_model_path,
):
    """A pasted book in a chat with documents: the real model's tokenizer says at once that it
    cannot fit, and the library is never asked (a search of 2 MB took seconds more)."""
    from engine.chat.answer import Question
    from engine.chat.engine import LocalEngine
    from engine.session import LoadSettings, SamplingSettings

    engine = LocalEngine()
    engine.load(LoadSettings(str(default_model_path), n_ctx=2048))
    searched: list[str] = []

    def retrieve(library, text, k, cancel):
        searched.append(text)
        return sources(1)

    try:
        book = "the manual says to hold the button for ten seconds\n" * 45_000
        question = Question(book, library="manuals", sampling=SamplingSettings(max_tokens=64))
        with pytest.raises(ContextFullError) as refused:
            list(answer(engine, question, retrieve))
        assert "your message alone are about" in refused.value.message
        assert searched == []
    finally:
        engine.unload()
