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


FLAG = "🇫🇷"


def test_a_cut_reply_drops_an_unfinished_character_and_half_a_flag():
    raw = ("ok " + FLAG + FLAG).encode()
    for size in range(len(raw) + 1):
        stream = TextStream()
        text = stream.feed(raw[:size]) + stream.flush(cut=True)
        assert "\ufffd" not in text
        indicators = sum("\U0001f1e6" <= c <= "\U0001f1ff" for c in text)
        assert indicators % 2 == 0, (size, text)
        assert ("ok " + FLAG + FLAG).startswith(text)


def test_a_finished_reply_keeps_every_whole_character_and_drops_stray_bytes():
    stream = TextStream()
    text = stream.feed("a👨‍👩‍👧".encode()) + stream.feed(b"\xff") + stream.flush()
    assert text == "a👨‍👩‍👧"
    # U+FFFD the model wrote itself stays.
    assert TextStream().feed("\ufffd!".encode()) + "" != ""


def test_a_family_emoji_cut_after_a_joiner_is_dropped_whole():
    stream = TextStream()
    text = stream.feed("go 👨‍👩‍".encode()) + stream.flush(cut=True)
    assert text == "go "


def test_pieces_never_split_a_grapheme():
    text = "x" + FLAG + "y👍🏽z" + "e\u0301"
    raw = text.encode()
    stream = TextStream()
    pieces = [stream.feed(raw[i : i + 1]) for i in range(len(raw))] + [stream.flush()]
    assert "".join(pieces) == text
    assert sum(FLAG in piece for piece in pieces) == 1
    assert sum("👍🏽" in piece for piece in pieces) == 1
