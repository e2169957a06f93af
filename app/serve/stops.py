"""Stop strings: the reply ends where one of them begins, and none of it is sent.

Text is released as it streams except for a tail that could still be the start of a stop
string, so a client never sees part of one.
"""

from __future__ import annotations

from collections.abc import Sequence

# OpenAI's limit on stop strings per request.
MAX_STOPS = 4


class StopScanner:
    """Cuts streamed text at the first stop string.

    Args:
        stops: The stop strings (empty strings are ignored).

    Attributes:
        stopped: True once a stop string was found; later text is dropped.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stop for stop in stops if stop)
        self.stopped = False
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of `text` (after what was held back) that is safe to send now."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        buffer = self._held + text
        cut = min((i for i in (buffer.find(stop) for stop in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return buffer[:cut]
        keep = _partial_tail(buffer, self.stops)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """What was held back, at the end of the reply."""
        held, self._held = self._held, ""
        return "" if self.stopped else held


def _partial_tail(text: str, stops: Sequence[str]) -> int:
    """The length of the longest end of `text` that begins some stop string."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if stop.startswith(text[-size:]):
                longest = size
                break
    return longest
