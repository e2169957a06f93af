"""Answer a question from the library: numbered excerpts in the prompt, sources in the result.

When no retrieved chunk is close enough to the question, the answer is an honest "not found in
your documents" without asking the model at all, so nothing is invented from an unrelated page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.cancel import CancelToken
from engine.library.types import Hit

NOT_FOUND = "Not found in your documents."

# Cosine similarity (all-MiniLM-L6-v2) below which a chunk is taken as unrelated to the question.
# Paraphrased questions about a passage score 0.55-0.76 on the test corpus; unrelated ones < 0.1.
MIN_SIMILARITY = 0.3
# A chunk the keyword search ranked near the top holds the question's exact words; it needs less.
MIN_KEYWORD_SIMILARITY = 0.15
KEYWORD_TOP_RANK = 3

SYSTEM_PROMPT = (
    "You answer questions using only the numbered excerpts from the user's documents. "
    "After each statement, cite the excerpt it comes from by its number in square brackets, "
    "like [1] or [2]. If the excerpts do not contain the answer, reply exactly: " + NOT_FOUND
)


@dataclass(frozen=True)
class Source:
    """One numbered excerpt given to the model; the UI links [number] to file and page."""

    number: int
    file: str
    page: int | None
    excerpt: str
    heading: str | None = None
    score: float = 0.0
    similarity: float | None = None

    @property
    def label(self) -> str:
        name = Path(self.file).name
        return f"{name}, page {self.page}" if self.page else name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnswerPlan:
    """What will be sent to the model, or why nothing will be."""

    question: str
    sources: list[Source]
    messages: list[dict[str, str]]

    @property
    def found(self) -> bool:
        return bool(self.sources)


@dataclass
class AnswerResult:
    """Ends an answer stream: the full text, its sources, which of them it cited, and stats."""

    text: str
    sources: list[Source]
    found: bool
    cited: list[int] = field(default_factory=list)
    stats: Any = None  # engine.stats.GenerationStats when the model ran

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats.to_dict() if self.stats is not None else None
        return {
            "answer": self.text,
            "found": self.found,
            "cited": self.cited,
            "sources": [s.to_dict() for s in self.sources],
            "stats": stats,
        }


def is_relevant(hit: Hit) -> bool:
    """Close enough in meaning, or holding the question's exact words or terms."""
    if hit.exact_match:
        return True
    similarity = hit.similarity if hit.similarity is not None else 0.0
    if similarity >= MIN_SIMILARITY:
        return True
    on_top = hit.keyword_rank is not None and hit.keyword_rank <= KEYWORD_TOP_RANK
    return on_top and similarity >= MIN_KEYWORD_SIMILARITY


def plan_answer(question: str, hits: list[Hit], max_sources: int = 5) -> AnswerPlan:
    """Number the relevant hits and build the chat messages; no sources means "not found"."""
    relevant = [hit for hit in hits if is_relevant(hit)][:max_sources]
    sources = [
        Source(
            number=n,
            file=hit.file,
            page=hit.page,
            excerpt=hit.text,
            heading=hit.heading,
            score=hit.score,
            similarity=hit.similarity,
        )
        for n, hit in enumerate(relevant, start=1)
    ]
    if not sources:
        return AnswerPlan(question, [], [])
    excerpts = "\n\n".join(
        f"[{s.number}] ({s.label}{', ' + s.heading if s.heading else ''})\n{_squash(s.excerpt)}"
        for s in sources
    )
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Excerpts:\n\n{excerpts}\n\nQuestion: {question}"},
    ]
    return AnswerPlan(question, sources, messages)


def cited_numbers(text: str, count: int) -> list[int]:
    """Source numbers cited in `text` as [n] (also [1, 2] and [1][2]), in first-cited order."""
    seen: list[int] = []
    for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", text):
        for part in group.split(","):
            number = int(part)
            if 1 <= number <= count and number not in seen:
                seen.append(number)
    return seen


def stream_answer(
    session, plan: AnswerPlan, sampling=None, cancel: CancelToken | None = None
) -> Iterator[str | AnswerResult]:
    """Stream the model's answer for `plan`: text pieces, then one `AnswerResult`.

    Args:
        session: A loaded `engine.session.ModelSession` (call from its model thread).
        plan: From `plan_answer`.
        sampling: `engine.session.SamplingSettings`; the session's defaults when None.
        cancel: Stops generation between tokens.
    """
    if not plan.found:
        yield NOT_FOUND
        yield AnswerResult(NOT_FOUND, [], found=False)
        return
    pieces: list[str] = []
    stats = None
    for item in session.chat(plan.messages, sampling, cancel):
        if isinstance(item, str):
            pieces.append(item)
            yield item
        else:
            stats = item
    text = "".join(pieces).strip()
    found = bool(text) and NOT_FOUND.lower().rstrip(".") not in text.lower()
    cited = cited_numbers(text, len(plan.sources))
    yield AnswerResult(text, plan.sources, found=found, cited=cited, stats=stats)


def _squash(text: str) -> str:
    """Excerpt text for the prompt: PDF line breaks inside paragraphs cost tokens and help nothing."""
    return re.sub(r"[ \t]*\n(?!\n)[ \t]*", " ", text).strip()
