"""Chunks sized in the embedding model's word pieces, overlapping, cut between words."""

from __future__ import annotations

import pytest

from engine.library.chunk import Chunker, load_tokenizer
from engine.library.extract import PageText

WORDS = [
    "lighthouse",
    "keepers",
    "trimmed",
    "wicks",
    "nightly",
    "while",
    "storms",
    "battered",
    "granite",
    "towers;",
    "unbelievably,",
    "meticulous",
    "logbooks",
    "recorded",
    "every",
    "passing",
    "schooner's",
    "name",
]


@pytest.fixture(scope="module")
def tokenizer(embedding_model_dir):
    return load_tokenizer(embedding_model_dir)


def long_text(words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


def test_chunks_fit_the_model_overlap_and_end_between_words(tokenizer):
    chunker = Chunker(tokenizer, max_tokens=64, overlap_tokens=16)
    text = long_text(600)
    page = PageText(page=3, text=text, headings=[(0, "Keepers")])
    chunks = list(chunker.chunk_page(page))
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.page == 3
        assert chunk.heading == "Keepers"
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        pieces = tokenizer.encode(chunk.text, add_special_tokens=False).ids
        assert len(pieces) == chunk.token_count <= 64
        # Whole words only: the chunk starts and ends at a word edge of the page text.
        assert chunk.char_start == 0 or text[chunk.char_start - 1] == " "
        assert chunk.char_end == len(text) or text[chunk.char_end] == " "
    for previous, following in zip(chunks, chunks[1:], strict=False):
        assert following.char_start < previous.char_end  # overlap
        assert following.char_start > previous.char_start
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].char_end == len(text)


def test_offsets_and_headings_follow_the_page(tokenizer):
    chunker = Chunker(tokenizer, max_tokens=48, overlap_tokens=8)
    first, second = long_text(100), long_text(100)
    text = f"{first}\n{second}"
    heading_at = len(first) + 1
    page = PageText(None, text, offset=1000, headings=[(heading_at, "Second part")],
                    heading_before="First part")  # fmt: skip
    chunks = list(chunker.chunk_page(page, first_ordinal=7))
    assert chunks[0].ordinal == 7
    assert chunks[0].heading == "First part"
    assert chunks[-1].heading == "Second part"
    for chunk in chunks:
        local = chunk.char_start - 1000
        assert text[local : local + len(chunk.text)] == chunk.text


def test_a_word_longer_than_a_chunk_is_cut_rather_than_lost(tokenizer):
    chunker = Chunker(tokenizer, max_tokens=32, overlap_tokens=4)
    text = "start " + "x1y2z3" * 200 + " end"
    chunks = list(chunker.chunk_page(PageText(1, text)))
    assert chunks[0].text.startswith("start")
    assert chunks[-1].text.endswith("end")
    assert all(c.token_count <= 32 for c in chunks)


def test_blank_page_gives_no_chunks(tokenizer):
    assert list(Chunker(tokenizer).chunk_page(PageText(1, " \n\t "))) == []


def test_default_chunks_fit_all_minilm(tokenizer):
    chunker = Chunker(tokenizer)
    chunks = list(chunker.chunk_page(PageText(1, long_text(2000))))
    # 256 word pieces including [CLS] and [SEP].
    assert max(c.token_count for c in chunks) <= 254


def test_a_heading_starts_a_new_chunk_and_a_tiny_section_joins_the_next(tokenizer):
    chunker = Chunker(tokenizer, max_tokens=800, overlap_tokens=16)
    first = "Pumps\n" + long_text(150) + "\n"
    tiny = "Seals\n"  # a heading followed at once by a sub-heading
    second = "Valves\n" + long_text(150)
    text = first + tiny + second
    headings = [(0, "Pumps"), (len(first), "Seals"), (len(first) + len(tiny), "Valves")]
    chunks = list(chunker.chunk_page(PageText(page=1, text=text, headings=headings)))
    # Everything fits one chunk by size, but the sections are cut apart at their headings; the
    # second chunk carries the heading that governs most of its text.
    assert [c.heading for c in chunks] == ["Pumps", "Valves"]
    assert chunks[0].text.startswith("Pumps") and chunks[0].char_end <= len(first)
    assert chunks[1].text.startswith("Seals\nValves")
    assert chunks[1].char_end == len(text)
