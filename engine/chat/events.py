"""What answering a question reports, in this order: the sources found (when the conversation has
documents), how the context window is used, the question as the model reads it (with its
excerpts), the reply's text as it arrives, the evidence for it
(when there were sources), and its stats.

These records cross threads and processes as they are (frozen dataclasses); the window's model
thread batches `TextArrived` before they reach the GUI (see app.throttle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.context.budget import ContextBudget
from engine.stats import GenerationStats

if TYPE_CHECKING:
    from engine.library.answer import Source
    from engine.library.types import Evidence


@dataclass(frozen=True)
class SourcesFound:
    """The numbered excerpts retrieved for the question (empty: nothing in the documents bears
    on it). The reply cites them as [1], [2]..."""

    sources: tuple[Source, ...]


@dataclass(frozen=True)
class ContextUsed:
    """How the context window is split for this turn; `notice` says what was left out to fit."""

    budget: ContextBudget
    notice: str = ""


@dataclass(frozen=True)
class QuestionRead:
    """The question as the model reads it this turn: the person's words after the excerpts
    found for them, as the context manager placed them. Comes after the first `ContextUsed`,
    only when it differs from the words typed. Kept with the question, it is what later turns
    send as that message, so their prompts begin with what the KV cache already holds."""

    text: str


@dataclass(frozen=True)
class TextArrived:
    """Reply text; `pieces` counts the model's text pieces in it (about one token each)."""

    text: str
    pieces: int = 1

    def joined(self, later: TextArrived) -> TextArrived:
        """This text followed by `later`'s, as one batch."""
        return TextArrived(self.text + later.text, self.pieces + later.pieces)


@dataclass(frozen=True)
class EvidenceFound:
    """The few sentences of the top sources that best support the written reply, best first,
    with the matched terms marked (empty: no sentence holds the question's or reply's terms).
    Comes after the reply's text, just before `ReplyEnded`, when there were sources."""

    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class ReplyEnded:
    """The last event of every answer: the reply's numbers and why it stopped."""

    stats: GenerationStats


AnswerEvent = SourcesFound | ContextUsed | QuestionRead | TextArrived | EvidenceFound | ReplyEnded
