"""The running summary: older turns replaced by a summary the model writes, updated incrementally.

The summary is kept with the fingerprint of the messages it covers, so a later turn of the same
conversation reuses it without asking the model again, and only newly dropped turns are folded
in. The request to summarize is appended to the prompt the model has just seen (system message,
then the turns to summarize), so the KV cache already holds almost all of it.

Each request is itself fitted to the window: when the full system message (with pinned material)
leaves too little room, the request uses the system prompt and the summary so far only; turns are
split across requests; and a request whose exact length still overflows has its longest message
shortened. When not even that fits, `SummaryDoesNotFit` says so instead of overflowing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from engine.cancel import CancelToken
from engine.context.budget import Message, TokenCounter
from engine.context.policies import fingerprint, truncate_middle
from engine.errors import GenerationError, HearthError

SUMMARY_REQUEST = (
    "Pause the conversation here. Write a short summary of everything above: the earlier "
    "summary if there is one, and the messages since. Keep names, numbers, decisions and open "
    "questions. Write only the summary, in a few sentences."
)


# A request with less room than this for the turns it summarizes is not worth making.
MIN_TURN_ROOM = 64


class SummaryCancelled(HearthError):
    """The turn was cancelled while the model was writing the summary."""


class SummaryDoesNotFit(GenerationError):
    """Even the smallest request to summarize does not fit the window.

    Attributes:
        need: Tokens the smallest request needs, the summary's own reply included.
    """

    def __init__(self, message: str, need: int) -> None:
        super().__init__(message)
        self.need = need


@dataclass(frozen=True)
class RunningSummary:
    """A model-written summary of `history[:covered]`.

    Attributes:
        text: The summary.
        covered: How many history messages (from the start) it stands in for.
        fingerprint: Hash of those messages; a changed history invalidates the summary.
        updates: How many times the model wrote or updated it.
    """

    text: str
    covered: int
    fingerprint: str
    updates: int = 1

    def valid_for(self, history: Sequence[Message]) -> bool:
        return (
            len(history) >= self.covered
            and fingerprint(history[: self.covered]) == self.fingerprint
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunningSummary:
        return cls(**data)


class Summarizer:
    """Asks the loaded model for summaries (model thread only)."""

    def __init__(self, session: Any, counter: TokenCounter, max_tokens: int = 256) -> None:
        self._session = session
        self._counter = counter
        self.max_tokens = max_tokens
        self.calls = 0  # how many times the model was asked (a cache hit asks nothing)

    def fold(
        self,
        system_messages: Sequence[Message],
        turns: Sequence[Message],
        cancel: CancelToken | None = None,
    ) -> str:
        """A summary of `turns`, given the system message holding the summary so far.

        The request is measured exactly; if it would overflow the window, its longest turns are
        shortened until it fits.

        Raises:
            SummaryDoesNotFit: no shortening makes it fit.
            SummaryCancelled: cancelled while the model wrote.
        """
        turns = [dict(turn) for turn in turns]
        limit = self._session.n_ctx - self.max_tokens
        for _attempt in range(4):
            messages = [*system_messages, *turns, {"role": "user", "content": SUMMARY_REQUEST}]
            excess = len(self._counter.exact(messages)) - limit
            if excess <= 0:
                return self._generate(messages, cancel)
            longest = max(range(len(turns)), key=lambda i: self._counter.message(turns[i]))
            keep = self._counter.text(turns[longest]["content"]) - excess - self._counter.framing
            if keep < MIN_TURN_ROOM // 2:
                break
            turns[longest]["content"] = truncate_middle(turns[longest]["content"], keep,
                                                        self._counter)  # fmt: skip
        raise self._does_not_fit(len(self._counter.exact(messages)) + self.max_tokens)

    def plan(
        self, systems: Sequence[str], turns: Sequence[Message]
    ) -> tuple[str, list[list[Message]]]:
        """The system message for the requests (the first of `systems` that leaves room for the
        turns) and `turns` split into runs that fit the window with the request and the summary.

        Args:
            systems: Candidate system contents, fullest first (with pinned material, then without).

        Raises:
            SummaryDoesNotFit: none leaves MIN_TURN_ROOM tokens for the turns.
        """
        smallest = 0
        for system in dict.fromkeys(systems):
            room = self.room(system)
            if room >= MIN_TURN_ROOM:
                return system, self._split(room, turns)
            smallest = self._session.n_ctx - room + MIN_TURN_ROOM
        raise self._does_not_fit(smallest)

    def room(self, system: str) -> int:
        """Tokens left for the turns in a request with this system message (may be negative)."""
        used = self.max_tokens + self._counter.text(SUMMARY_REQUEST) + 2 * self._counter.framing
        if system:
            used += self._counter.text(system) + self._counter.framing
        return self._session.n_ctx - used

    def _split(self, room: int, turns: Sequence[Message]) -> list[list[Message]]:
        chunks: list[list[Message]] = [[]]
        used = 0
        for message in turns:
            size = self._counter.message(message)
            if size > room:  # one message longer than the room: summarize its two ends
                content = truncate_middle(message["content"], room - self._counter.framing,
                                          self._counter)  # fmt: skip
                message = {"role": message["role"], "content": content}
                size = self._counter.message(message)
            if used + size > room and chunks[-1]:
                chunks.append([])
                used = 0
            chunks[-1].append(message)
            used += size
        return [chunk for chunk in chunks if chunk]

    def _does_not_fit(self, need: int) -> SummaryDoesNotFit:
        """`need`: tokens of the smallest request, the summary's reply included."""
        return SummaryDoesNotFit(
            f"The summarize policy cannot fit its own request: summarizing the older messages "
            f"needs {need:,} tokens ({self.max_tokens:,} of them for the summary) and the "
            f"context window holds {self._session.n_ctx:,}.",
            need,
        )

    def _generate(self, messages: list[Message], cancel: CancelToken | None) -> str:
        from engine.session import SamplingSettings
        from engine.stats import GenerationStats

        self.calls += 1
        sampling = SamplingSettings(temperature=0.0, max_tokens=self.max_tokens,
                                    repeat_penalty=1.15)  # fmt: skip
        pieces: list[str] = []
        for item in self._session.chat(messages, sampling, cancel):
            if isinstance(item, GenerationStats):
                if item.stop_reason == "cancelled":
                    raise SummaryCancelled("Stopped while the older messages were summarized.")
                if item.stop_reason == "error":
                    raise HearthError(
                        "The model could not summarize the older messages.",
                        "Choose the sliding-window policy for this chat, or start a new one.",
                    )
                break
            pieces.append(item)
        return "".join(pieces).strip()
