"""Streaming text stays whole characters; prompt-lookup drafts come from earlier context."""

from __future__ import annotations

from engine.drafter import Drafter
from engine.lookup import DraftPacer, PromptLookup
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


def test_lookup_with_a_minimum_ngram_ignores_single_token_matches():
    lookup = PromptLookup(max_ngram=3, min_ngram=2)
    lookup.extend([5, 6, 7, 1, 9, 6])
    assert lookup.draft(2) == []  # only "6" matched before
    lookup.extend([7])
    assert lookup.draft(2) == [1, 9]


def test_pacer_grows_on_accepted_drafts_and_shrinks_to_what_was_accepted():
    pacer = DraftPacer(max_tokens=16, start_tokens=4)
    assert pacer.want() == 4
    pacer.verified(4, 4)
    pacer.verified(8, 8)
    assert pacer.want() == 16
    pacer.verified(16, 16)
    assert pacer.want() == 16, "never beyond the maximum"
    pacer.verified(16, 2)
    assert pacer.want() == 3


def test_pacer_pauses_longer_after_each_miss_so_plain_replies_decode_plainly():
    pacer = DraftPacer(max_tokens=16, start_tokens=8, max_pause=64)
    paused_steps = []
    for _ in range(6):
        assert pacer.want() > 0
        pacer.verified(pacer.want(), 0)
        steps = 0
        while pacer.want() == 0:
            pacer.observe(None, 1)  # no guess: the lookup found nothing to quote
            steps += 1
        paused_steps.append(steps)
    assert paused_steps == [1, 2, 4, 8, 16, 32]
    assert pacer.length == 1


def test_pacer_resumes_as_soon_as_the_lookup_would_have_guessed_right():
    pacer = DraftPacer(max_tokens=16, start_tokens=8, max_pause=64, resume_after=2)
    for _ in range(6):
        pacer.verified(pacer.want() or 1, 0)
        while pacer.want() == 0:
            pacer.observe(None, 1)
    pacer.verified(1, 0)
    assert pacer.pause == 64
    pacer.observe(7, 8)  # a wrong guess keeps the pause
    pacer.observe(7, 7)
    assert pacer.want() == 0
    pacer.observe(3, 3)  # two right guesses in a row: the reply quotes again
    assert pacer.want() == 1


def test_drafter_follows_a_quote_backs_off_after_misses_and_comes_back():
    quote = list(range(100, 140))
    drafter = Drafter(prompt=[1, 2, *quote, 3], lookup_tokens=16, model=None)
    # The reply starts quoting. Drafting starts paused: as the session does, each token is
    # verified, then the next step's draft asked for; once the lookup has guessed two tokens
    # right in a row, drafts appear and grow while they are right.
    reply: list[int] = []
    drafts: list[int] = []
    while not drafts:
        reply.append(quote[len(reply)])
        drafter.verified([], 0, reply[-1])
        drafts = drafter.draft(reply, reply[-1], budget=64)
    assert len(reply) <= 4, "drafting follows a quote within a few tokens"
    assert drafts == quote[len(reply) : len(reply) + 4]
    lengths = [len(drafts)]
    reply += drafts + [quote[len(reply) + len(drafts)]]
    drafter.verified(drafts, len(drafts), reply[-1])
    while len(reply) < 30:
        drafts = drafter.draft(reply, reply[-1], budget=64)
        assert drafts == quote[len(reply) : len(reply) + len(drafts)]
        lengths.append(len(drafts))
        reply += drafts + [quote[len(reply) + len(drafts)]]
        drafter.verified(drafts, len(drafts), reply[-1])
    assert lengths[:3] == [4, 8, 16]
    # Now it writes something else: one miss, then plain steps until guesses come right again.
    drafts = drafter.draft(reply, reply[-1], budget=64)
    drafter.verified(drafts, 0, 999)
    assert drafter.draft(reply, 999, budget=64) == []


def test_a_reply_that_never_quotes_never_pays_for_a_draft():
    prompt = [1, 2, 3, 4, 5, 6, 7, 8] * 4
    drafter = Drafter(prompt=prompt, lookup_tokens=16, model=None)
    history = list(prompt)
    # After "1 2" the lookup guesses what followed "1 2" last time, and the reply writes a new
    # token each time: guesses, but never two right in a row.
    for fresh in range(100, 140):
        for token in (1, 2, fresh):
            drafter.verified([], 0, token)
            history.append(token)
            assert drafter.draft(history, token, budget=64) == []
