"""Stand-ins for the fast test layer: a chat engine without a model and a library client without
a process. They follow the real protocols (engine.chat.engine.ChatEngine,
app.library.client.LibraryClient) so the code under test cannot tell, and they record what they
were asked. The slow tests run the same code against the real model and the real process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from engine.cancel import CancelToken
from engine.context.budget import ContextBudget
from engine.context.turn import ContextChange, DocumentPlacement, TurnPlan, TurnRequest
from engine.errors import HearthError
from engine.stats import GenerationStats


def words(text: str) -> int:
    """The fake engine's tokenizer: one token per word."""
    return len(text.split())


@dataclass
class FakeEngine:
    """A `ChatEngine` that answers with `reply`, one word per piece, counting words as tokens.

    `plan_error` is raised by `plan` (after cancelling the caller's token when `cancel_in_plan`);
    `gate`, when set, is waited on before each piece, so a test can stop a reply half-way.
    """

    reply: str = "It is a file format for models."
    n_ctx: int = 2048
    ready: bool = True
    plan_error: HearthError | None = None
    cancel_in_plan: bool = False
    gate: threading.Event | None = None
    turns: list[TurnRequest] = field(default_factory=list)
    conversations: list[object] = field(default_factory=list)
    _budget: ContextBudget | None = None

    @property
    def budget(self) -> ContextBudget:
        return self._budget or ContextBudget(n_ctx=self.n_ctx)

    def plan(
        self,
        turn: TurnRequest,
        reply_tokens: int,
        policy: str,
        conversation: object = None,
        cancel: CancelToken | None = None,
    ) -> TurnPlan:
        self.turns.append(turn)
        self.conversations.append(conversation)
        if self.plan_error is not None:
            if self.cancel_in_plan and cancel is not None:
                cancel.cancel()
            raise self.plan_error
        system = words(turn.system_prompt) + sum(words(d.text) for d in turn.pinned)
        budget = ContextBudget(
            n_ctx=self.n_ctx,
            system=system,
            history=sum(words(m["content"]) for m in turn.history),
            documents=sum(words(d.text) for d in turn.excerpts),
            message=words(turn.message),
            reply_reserve=reply_tokens,
        )
        self._budget = budget
        messages = [*turn.history, {"role": "user", "content": turn.message}]
        changes = ()
        if policy == "sliding_window" and len(turn.history) > 4:  # as the real manager says it
            changes = (ContextChange("dropped", "history", 10, "2 older messages dropped"),)
        return TurnPlan(messages=messages, prompt_tokens=budget.prompt, budget=budget,
                        changes=changes, policy=policy)  # fmt: skip

    def stream(
        self, plan: TurnPlan, sampling: object, cancel: CancelToken | None = None
    ) -> Iterator[str | GenerationStats]:
        cancel = cancel or CancelToken()
        pieces = self.reply.split(" ")
        written = 0
        for index, piece in enumerate(pieces):
            if self.gate is not None:
                self.gate.wait(5)
            if cancel.cancelled:
                break
            written += 1
            self._budget = replace(plan.budget, generated=written)
            yield piece if index == 0 else " " + piece
        reason = "cancelled" if cancel.cancelled else "stop"
        yield GenerationStats(plan.prompt_tokens, 0, written, 0.05, 900.0, 120.0, reason)

    def place_document(
        self, text: str, turn: TurnRequest, reply_tokens: int, policy: str
    ) -> DocumentPlacement:
        used = words(turn.system_prompt) + sum(words(d.text) for d in turn.pinned)
        used += sum(words(m["content"]) for m in turn.history)
        available = max(0, self.n_ctx - reply_tokens - used - self.n_ctx // 4)
        tokens = words(text)
        if tokens <= available:
            return DocumentPlacement("whole", tokens, available)
        reason = f"The document is {tokens:,} tokens; the conversation can spare {available:,}."
        return DocumentPlacement("retrieval", tokens, available, reason)


def sources(*pages: int, path: str = "/docs/harbour-guide.pdf") -> Sequence:
    """Numbered excerpts from `path`, one per page, as the library's search returns them."""
    from engine.library.answer import Source

    return tuple(
        Source(number=n, file=path, page=page, excerpt=f"Text of page {page}.", score=1.0 / n)
        for n, page in enumerate(pages, start=1)
    )
