"""Turn a stream of token bytes into text pieces that are always whole characters (graphemes).

A character can span several tokens (emoji, CJK in byte-level vocabularies); an incremental UTF-8
decoder holds the partial bytes back, so each step costs O(new bytes), never O(reply length).
What a person reads as one character can also span several code points (a flag is two regional
indicators, a family emoji is joined by zero-width joiners), so the last grapheme cluster is held
back until the next one starts. When the reply is cut (token limit, full window) the held bytes
and an unfinished cluster are dropped: the reply ends at the last whole character, and no U+FFFD
appears that the model did not write (bytes that are not UTF-8 are dropped, not replaced).
Stop strings are matched across piece boundaries by holding back any tail that could start one.
"""

from __future__ import annotations

import codecs

import regex

_GRAPHEME = regex.compile(r"\X")
_ZWJ = "\u200d"
_TAG_CANCEL = "\U000e007f"
# How far back to look for the start of the last grapheme cluster.
_TAIL_CHARS = 64


class TextStream:
    """Feed token bytes, get printable text; reports when a stop string appears."""

    def __init__(self, stop_strings: tuple[str, ...] = ()) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        self._stops = tuple(s for s in stop_strings if s)
        self._held = ""
        self.stopped = False

    def feed(self, data: bytes) -> str:
        """Add one token's bytes; return the text that is safe to show now."""
        if self.stopped:
            return ""
        self._held += self._decoder.decode(data)
        for stop in self._stops:
            at = self._held.find(stop)
            if at >= 0:
                self.stopped = True
                out, self._held = self._held[:at], ""
                return out
        keep = max(self._longest_stop_prefix_at_end(), _last_cluster_length(self._held))
        cut = len(self._held) - keep
        out, self._held = self._held[:cut], self._held[cut:]
        return out

    def flush(self, cut: bool = False) -> str:
        """The text still held back when the stream ends.

        Args:
            cut: The reply was cut short (token limit, full window): an unfinished character or
                grapheme at the end is dropped instead of shown.
        """
        if self.stopped:
            return ""
        out = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        if cut and out and _unfinished(out):
            out = out[: len(out) - _last_cluster_length(out)]
        return out

    def _longest_stop_prefix_at_end(self) -> int:
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._held)), best, -1):
                if self._held.endswith(stop[:size]):
                    best = size
                    break
        return best


def _last_cluster_length(text: str) -> int:
    """Characters in the last grapheme cluster of `text` (0 for empty text)."""
    if not text:
        return 0
    clusters = _GRAPHEME.findall(text[-_TAIL_CHARS:])
    return len(clusters[-1]) if clusters else 0


def _unfinished(text: str) -> bool:
    """Whether the last grapheme cluster is visibly incomplete: half a flag, a sequence that ends
    in a joiner, or a tag sequence without its end."""
    last = text[len(text) - _last_cluster_length(text) :]
    indicators = sum(1 for char in last if "\U0001f1e6" <= char <= "\U0001f1ff")
    if indicators % 2:
        return True
    if last.endswith(_ZWJ):
        return True
    tags = any("\U000e0020" <= char <= "\U000e007e" for char in last)
    return tags and not last.endswith(_TAG_CANCEL)
