"""Streaming text stays whole characters; prompt-lookup drafts come from earlier context."""

from __future__ import annotations

from engine.lookup import PromptLookup
from engine.textstream import TextStream


def test_characters_split_across_tokens_come_out_whole():
    text = "Hi 🎉 你好 — ok"
    raw = text.encode("utf-8")
    stream = TextStream()
    pieces = [stream.feed(raw[i : i + 1]) for i in range(len(raw))] + [stream.flush()]
    assert "".join(pieces) == text
    assert all("\ufffd" not in piece for piece in pieces)
    # A 4-byte emoji appears in exactly one piece, never in halves.
    assert sum("🎉" in piece for piece in pieces) == 1


def test_stop_string_across_pieces_is_cut_and_not_shown():
    stream = TextStream(("\nUser:",))
    shown = [stream.feed(chunk.encode()) for chunk in ["Sure, here", " it is.\nUs", "er: next"]]
    assert "".join(shown) == "Sure, here it is."
    assert stream.stopped
    assert stream.flush() == ""


def test_partial_stop_prefix_is_released_when_it_turns_out_harmless():
    stream = TextStream(("\nUser:",))
    out = stream.feed(b"line one\nUs") + stream.feed(b"ually fine") + stream.flush()
    assert out == "line one\nUsually fine"
    assert not stream.stopped


def test_lookup_drafts_the_continuation_of_the_latest_match():
    lookup = PromptLookup(max_ngram=3)
    lookup.extend([1, 2, 3, 4, 5, 9, 9, 1, 2, 3])
    assert lookup.draft(2) == [4, 5]
    lookup.extend([7])  # 2, 3, 7 was never seen; 3, 7 neither; 7 neither
    assert lookup.draft(4) == []


def test_lookup_prefers_longer_ngrams():
    lookup = PromptLookup(max_ngram=2)
    # "3" alone was last followed by 8, but "2 3" was followed by 4.
    lookup.extend([2, 3, 4, 0, 3, 8, 2, 3])
    assert lookup.draft(1) == [4]
    assert lookup.draft(0) == []
