"""The step that sends earlier questions as typed, on a word-counting stand-in for the model's
tokenizer: what it changes and how it says so."""

from __future__ import annotations

from engine.context.policies import Draft, bare_old_questions
from engine.context.turn import TurnRequest


class Words:
    """Counts words as tokens, with two tokens of framing per message."""

    framing = 2

    def text(self, text: str) -> int:
        return len(text.split())

    def message(self, message: dict[str, str]) -> int:
        return self.text(message["content"]) + self.framing


def read_with_excerpts(count: int) -> list[dict[str, str]]:
    history = []
    for n in range(count):
        typed = f"Question {n}?"
        history.append({"role": "user", "content": "excerpt " * 50 + typed, "typed": typed})
        history.append({"role": "assistant", "content": f"Answer {n}."})
    return history


def test_the_notice_counts_every_question_sent_as_typed_not_only_this_turns():
    request = TurnRequest("Be brief.", "And now?", read_with_excerpts(4))
    draft = Draft(request, Words(), bare=2)  # the first question lost its excerpts before
    assert bare_old_questions(draft, draft.estimate() - 10)
    [change] = draft.changes
    assert change.messages == (2,), "this turn strips the second question"
    assert change.description.startswith("the excerpts read with 2 earlier questions left out")
    messages = draft.messages()
    assert [m["content"] for m in messages[1:5:2]] == ["Question 0?", "Question 1?"]
    assert messages[5]["content"].startswith("excerpt")


def test_a_chat_without_excerpts_changes_nothing():
    history = [{"role": "user", "content": "Hi " * 80}, {"role": "assistant", "content": "Hello."}]
    draft = Draft(TurnRequest("Be brief.", "And now?", history), Words())
    assert not bare_old_questions(draft, 10)
    assert not draft.changes
