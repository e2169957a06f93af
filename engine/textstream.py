"""Turn a stream of token bytes into text pieces that are always whole characters.

A character can span several tokens (emoji, CJK in byte-level vocabularies); an incremental UTF-8
decoder holds the partial bytes back, so each step costs O(new bytes), never O(reply length).
Stop strings are matched across piece boundaries by holding back any tail that could start one.
"""

from __future__ import annotations

import codecs


class TextStream:
    """Feed token bytes, get printable text; reports when a stop string appears."""

    def __init__(self, stop_strings: tuple[str, ...] = ()) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = tuple(s for s in stop_strings if s)
        self._held = ""
        self.stopped = False

    def feed(self, data: bytes) -> str:
        """Add one token's bytes; return the text that is safe to show now."""
        if self.stopped:
            return ""
        self._held += self._decoder.decode(data)
        if not self._stops:
            out, self._held = self._held, ""
            return out
        for stop in self._stops:
            at = self._held.find(stop)
            if at >= 0:
                self.stopped = True
                out, self._held = self._held[:at], ""
                return out
        keep = self._longest_stop_prefix_at_end()
        cut = len(self._held) - keep
        out, self._held = self._held[:cut], self._held[cut:]
        return out

    def flush(self) -> str:
        """The text still held back when the stream ends."""
        if self.stopped:
            return ""
        out = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return out

    def _longest_stop_prefix_at_end(self) -> int:
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._held)), best, -1):
                if self._held.endswith(stop[:size]):
                    best = size
                    break
        return best
