"""A task score: the share of questions about a library whose answer contains the expected words.

The person writes a small question file; each question is searched in their library once
(retrieval does not depend on the model), then every model answers it the way `hearth ask` does
(`engine.library.answer`), greedily, and an answer counts when it contains every expected word.

Question file: a JSON list, or JSON lines, of objects

    {"question": "How do I reset the router?", "expected": ["reset button", "ten seconds"]}

where `expected` is a string or a list of strings, matched case-insensitively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.cancel import CancelToken
from engine.errors import HearthError
from engine.lab.events import LabCancelled
from engine.lab.files import read_text_file
from engine.library.answer import AnswerPlan, AnswerResult, plan_answer, stream_answer
from engine.library.types import Hit
from engine.session import ModelSession, SamplingSettings

# Answers are greedy and short: the score should not depend on luck or on rambling.
TASK_SAMPLING = SamplingSettings(temperature=0.0, max_tokens=160, repeat_penalty=1.0, seed=0)
MAX_QUESTIONS = 500


@dataclass(frozen=True)
class TaskQuestion:
    question: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class TaskItem:
    """A question ready for the models: what the library search found for it."""

    question: TaskQuestion
    plan: AnswerPlan


@dataclass(frozen=True)
class TaskScore:
    """How one model did: `correct` of `total` answers held every expected word."""

    correct: int
    total: int
    passed: tuple[bool, ...]

    @property
    def share(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}


def load_questions(path: str | Path) -> list[TaskQuestion]:
    """Read a question file (see the module docstring).

    Raises:
        HearthError: unreadable, not JSON, no questions, or a question without expected words.
    """
    path = Path(path)
    text = read_text_file(path, "a question file")
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise HearthError(
                f"{path.name} is neither JSON nor JSON lines.", _QUESTION_HINT
            ) from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise HearthError(f"{path.name} holds no questions.", _QUESTION_HINT)
    if len(data) > MAX_QUESTIONS:
        raise HearthError(f"{path.name} has {len(data)} questions; at most {MAX_QUESTIONS}.")
    return [_question(item, number, path.name) for number, item in enumerate(data, start=1)]


_QUESTION_HINT = 'Write items like {"question": "...", "expected": ["word", "other words"]}.'


def _question(item: Any, number: int, name: str) -> TaskQuestion:
    if not isinstance(item, dict) or not str(item.get("question", "")).strip():
        raise HearthError(f"Item {number} of {name} has no question.", _QUESTION_HINT)
    expected = item.get("expected")
    if isinstance(expected, str):
        expected = [expected]
    if not isinstance(expected, list) or not [w for w in expected if str(w).strip()]:
        raise HearthError(f"Item {number} of {name} has no expected words.", _QUESTION_HINT)
    words = tuple(str(word).strip() for word in expected if str(word).strip())
    return TaskQuestion(str(item["question"]).strip(), words)


def prepare_task(
    questions: Sequence[TaskQuestion], search: Callable[[str], list[Hit]]
) -> tuple[TaskItem, ...]:
    """Search the library for each question once.

    Args:
        search: The library's search for one question (`Library.search`, or the app's call to its
            library process).
    """
    return tuple(TaskItem(q, plan_answer(q.question, search(q.question))) for q in questions)


def answer_contains(answer: str, expected: Sequence[str]) -> bool:
    """Whether every expected phrase appears in the answer, ignoring case and spacing."""
    flat = _normalize(answer)
    return all(_normalize(word) in flat for word in expected)


def _normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def score_task(
    session: ModelSession, items: Sequence[TaskItem], cancel: CancelToken | None = None
) -> Generator[float, None, TaskScore]:
    """Let the loaded model answer each item; yields the fraction done, returns the score.

    A question the library has nothing for is answered "not found" without the model, as in
    `hearth ask`, and counts only if that is what was expected.
    """
    cancel = cancel or CancelToken()
    passed = []
    for number, item in enumerate(items, start=1):
        if cancel.cancelled:
            raise LabCancelled
        result: AnswerResult | None = None
        for piece in stream_answer(session, item.plan, TASK_SAMPLING, cancel):
            if isinstance(piece, AnswerResult):
                result = piece
        if cancel.cancelled:
            raise LabCancelled
        passed.append(result is not None and answer_contains(result.text, item.question.expected))
        yield number / len(items)
    return TaskScore(sum(passed), len(passed), tuple(passed))
