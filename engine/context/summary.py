"""The running summary: older turns replaced by a summary the model writes, updated incrementally.

The summary is kept with the fingerprint of the messages it covers, so a later turn of the same
conversation reuses it without asking the model again, and only newly dropped turns are folded
in. The request to summarize is appended to the prompt the model has just seen (system message,
then the turns to summarize), so the KV cache already holds almost all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from engine.cancel import CancelToken
from engine.context.budget import Message, TokenCounter
from engine.context.policies import fingerprint, truncate_middle
from engine.errors import HearthError

SUMMARY_REQUEST = (
    "Pause the conversation here. Write a short summary of everything above: the earlier "
    "summary if there is one, and the messages since. Keep names, numbers, decisions and open "
    "questions. Write only the summary, in a few sentences."
)


class SummaryCancelled(HearthError):
    """The turn was cancelled while the model was writing the summary."""


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

        Turns that do not fit the window in one request are split by `chunks` and folded in
        one after another, oldest first, each with the summary so far in the system message.
        """
        messages = [*system_messages, *turns, {"role": "user", "content": SUMMARY_REQUEST}]
        return self._generate(messages, cancel)

    def chunks(self, system_tokens: int, turns: Sequence[Message]) -> list[list[Message]]:
        """Split `turns` into runs that fit the window with the request and the summary."""
        room = self._session.n_ctx - system_tokens - self.max_tokens
        room -= self._counter.text(SUMMARY_REQUEST) + 2 * self._counter.framing
        room = max(64, room)
        chunks: list[list[Message]] = [[]]
        used = 0
        for message in turns:
            size = self._counter.message(message)
            if size > room:  # one message longer than the window: summarize its two ends
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
