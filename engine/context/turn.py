"""The inputs and outputs of one turn through the context manager, as plain dataclasses.

A `TurnRequest` lists the parts a person's app wants in the prompt; the manager answers with a
`TurnPlan`: the exact messages for the model, the budget, and every `ContextChange` it made to
fit them (dropped, summarized or shortened), described in words the interface can show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.context.budget import ContextBudget, Message

Policy = Literal["summarize", "sliding_window", "truncate_middle", "stop"]
POLICIES: tuple[str, ...] = ("summarize", "sliding_window", "truncate_middle", "stop")

ChangeKind = Literal["dropped", "summarized", "truncated"]


@dataclass(frozen=True)
class Document:
    """Text for the model: pinned material (in every turn) or an excerpt retrieved for this turn.

    Attributes:
        text: The words themselves.
        title: Where they come from, as a person reads it ("report.pdf, page 3").
    """

    text: str
    title: str = ""


@dataclass(frozen=True)
class TurnRequest:
    """Everything that may go into one turn's prompt.

    Attributes:
        system_prompt: Instructions for the model; never dropped.
        message: The new user message; never dropped.
        history: Earlier messages of this conversation, oldest first (user/assistant).
        pinned: Material kept in every turn (a whole dropped document, notes).
        excerpts: Passages retrieved for this message (from the document library).
        excerpt_intro: The sentence that introduces the excerpts to the model.
    """

    system_prompt: str
    message: str
    history: Sequence[Message] = ()
    pinned: Sequence[Document] = ()
    excerpts: Sequence[Document] = ()
    excerpt_intro: str = "Excerpts from the person's documents:"


@dataclass(frozen=True)
class ContextChange:
    """One thing the manager did to make the turn fit.

    Attributes:
        kind: "dropped", "summarized" or "truncated".
        part: "history", "pinned" or "documents".
        tokens: Tokens this change took out of the prompt.
        messages: For history changes, the indices (in the request's history) affected.
        title: For truncated documents, the document's title.
        description: The change in plain words, for the interface.
    """

    kind: ChangeKind
    part: str
    tokens: int
    description: str
    messages: tuple[int, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class TurnPlan:
    """What goes to the model for one turn, and how the window is used.

    Attributes:
        messages: The chat messages in the model's order.
        prompt_tokens: Exact tokens of the rendered prompt.
        budget: Tokens per part, reserve and free room.
        changes: What was changed this turn to fit (empty when everything fit as it was).
        left_out: Indices of history messages not in the prompt as they were (dropped or
            represented by the summary), across all turns so far.
        summary: The running summary in the prompt, if any.
        summary_written: True when the model wrote or updated the summary for this turn.
        reused_tokens: Prompt tokens already in the KV cache (the stable prefix).
        policy: The overflow policy that was applied.
    """

    messages: list[Message]
    prompt_tokens: int
    budget: ContextBudget
    changes: tuple[ContextChange, ...] = ()
    left_out: tuple[int, ...] = ()
    summary: Any = None
    summary_written: bool = False
    reused_tokens: int = 0
    policy: str = "sliding_window"

    @property
    def reevaluated_tokens(self) -> int:
        """Prompt tokens llama.cpp has to compute for this turn."""
        return self.prompt_tokens - self.reused_tokens

    @property
    def notice(self) -> str:
        """One sentence for the interface about what is not in the prompt as written."""
        notes = [change.description for change in self.changes]
        if not notes and self.left_out:
            how = "summarized" if self.summary is not None else "left out"
            count = len(self.left_out)
            notes.append(f"{count} earlier message{'s' if count != 1 else ''} {how} to fit")
        return "; ".join(notes)


@dataclass(frozen=True)
class DocumentPlacement:
    """Where a dropped document goes: into the prompt whole, or to retrieval.

    Attributes:
        mode: "whole" (add it as pinned material) or "retrieval" (index it in the library).
        tokens: Its length in tokens.
        available: Tokens the conversation can spare for it now.
    """

    mode: Literal["whole", "retrieval"]
    tokens: int
    available: int
    reason: str = ""


@dataclass
class ConversationState:
    """What the manager remembers between turns of one conversation, for a stable prefix.

    The cut only moves forward: once older messages were dropped or summarized they stay out,
    so the next turn's prompt starts the same way and the KV cache can be reused.
    """

    policy: str = ""
    cut: int = 0
    head: int = 0
    bare: int = 0
    fingerprint: str = ""
    summary: Any = None
    pinned_keep: dict[str, int] = field(default_factory=dict)
