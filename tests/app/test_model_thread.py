"""The model thread from plain code, as the API server and the lab will use it: submit, iterate
the events as they come, cancel, and take turns with other callers; no Qt, no model."""

from __future__ import annotations

import threading

from app.model_thread import ModelThread, batched
from engine.chat.answer import Question, answer
from engine.chat.events import ContextUsed, ReplyEnded, TextArrived
from tests.fakes import FakeEngine


def test_a_caller_iterates_the_events_of_its_question():
    thread = ModelThread(FakeEngine(reply="one two three"))
    try:
        events = list(thread.ask(Question("Count.")).events(timeout=5))
    finally:
        thread.shutdown(5)
    assert [e.text for e in events if isinstance(e, TextArrived)] == ["one", " two", " three"]
    assert isinstance(events[-1], ReplyEnded) and events[-1].stats.generated_tokens == 3


def test_callers_take_turns_and_a_cancelled_one_ends_cleanly():
    engine = FakeEngine(reply="a b c d e f", hold_after=1)
    thread = ModelThread(engine)
    try:
        first = thread.ask(Question("First."))
        second = thread.ask(Question("Second."))
        events = first.events(timeout=5)
        assert next(e for e in events if isinstance(e, TextArrived)).text == "a"
        first.cancel()  # the caller went away
        engine.resume.set()
        rest = list(events)
        assert rest[-1].stats.stop_reason == "cancelled"
        done = [e for e in second.events(timeout=5) if isinstance(e, ReplyEnded)]
        assert done[0].stats.stop_reason == "stop"  # the next caller's turn, whole
        assert [t.message for t in engine.turns] == ["First.", "Second."]
    finally:
        thread.shutdown(5)


def test_the_engine_is_freed_on_its_own_thread_at_shutdown():
    freed: list[str] = []

    class Engine(FakeEngine):
        def unload(self) -> None:
            freed.append(threading.current_thread().name)

    thread = ModelThread(Engine())
    assert thread.shutdown(5)
    assert freed == ["model"]


def test_the_windows_batches_carry_the_budget_after_each_text():
    engine = FakeEngine(reply="one two three four")
    sent: list[object] = []
    batched(engine, answer(engine, Question("Count.")), sent.append, interval_s=3600)
    texts = [e for e in sent if isinstance(e, TextArrived)]
    assert [t.text for t in texts] == ["one", " two three four"]  # the first at once, then one
    after_text = [sent[sent.index(t) + 1] for t in texts]
    assert all(isinstance(e, ContextUsed) for e in after_text)
    assert after_text[-1].budget.generated == 4
    assert isinstance(sent[-1], ReplyEnded)
