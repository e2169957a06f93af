"""A follow-up question in a chat with documents, on the real SmolLM2 model: the prompt repeats
the earlier question as the model read it (with its excerpts), so llama.cpp evaluates only the
new turn instead of everything after the system prompt."""

from __future__ import annotations

import pytest

from engine.chat.answer import Question, answer
from engine.chat.engine import LocalEngine
from engine.chat.events import QuestionRead, ReplyEnded, TextArrived
from engine.library.answer import Source
from engine.session import LoadSettings, SamplingSettings

pytestmark = pytest.mark.slow

SYSTEM = "You are Hearth. Answer from the excerpts."
PAGES = {
    3: "The harbour light is kept by Ann Shore, who climbs the tower at dusk every evening.",
    7: "Ferries leave the north quay at seven and at noon; in winter only the noon ferry runs.",
}


def retrieve(_library, _text, k, _cancel):
    return tuple(Source(n, "/docs/harbour-guide.pdf", page, text, score=1.0 / n)
                 for n, (page, text) in enumerate(list(PAGES.items())[:k], start=1))  # fmt: skip


def ask(engine: LocalEngine, text: str, history: tuple) -> tuple[str, str, ReplyEnded]:
    """(the question as the model read it, the reply, its end) for one turn."""
    sampling = SamplingSettings(temperature=0.0, max_tokens=24)
    question = Question(text, SYSTEM, history, sampling=sampling, library="chat-1",
                        conversation=1)  # fmt: skip
    events = list(answer(engine, question, retrieve))
    [read] = [e.text for e in events if isinstance(e, QuestionRead)]
    reply = "".join(e.text for e in events if isinstance(e, TextArrived))
    return read, reply, events[-1]


@pytest.fixture(scope="module")
def engine(default_model_path):
    engine = LocalEngine()
    engine.load(LoadSettings(model_path=str(default_model_path), n_ctx=2048))
    yield engine
    engine.unload()


def test_a_follow_up_evaluates_only_its_own_turn(engine):
    read, reply, first = ask(engine, "Who keeps the harbour light?", ())
    assert "Ann Shore" in read and read.endswith("Question: Who keeps the harbour light?")

    history = ({"role": "user", "content": read}, {"role": "assistant", "content": reply})
    _read, _reply, second = ask(engine, "When do the ferries leave?", history)
    # Everything the first turn evaluated is reused: its prompt and the reply it wrote.
    assert (
        second.stats.cached_tokens >= first.stats.prompt_tokens + first.stats.generated_tokens - 2
    )
    evaluated = second.stats.prompt_tokens - second.stats.cached_tokens
    assert evaluated < first.stats.prompt_tokens


def test_a_follow_up_sent_as_typed_evaluates_the_earlier_turn_again(engine):
    """Why the question is kept as read: the typed words differ from what the cache holds."""
    _read, reply, first = ask(engine, "Who keeps the harbour light?", ())
    history = ({"role": "user", "content": "Who keeps the harbour light?"},
               {"role": "assistant", "content": reply})  # fmt: skip
    _read, _reply, second = ask(engine, "When do the ferries leave?", history)
    assert second.stats.cached_tokens < first.stats.prompt_tokens // 2
