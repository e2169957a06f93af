"""Cut page text into chunks sized in the embedding model's own word pieces.

A chunk never crosses a page (so its citation is exact), nor a heading: a new section starts a
new chunk, so a chunk is about one thing and carries that section's heading (bench/retrieval.py
measures what this gains). It overlaps the previous chunk of its section a little (so a sentence
cut at the edge is still found whole), and ends between words, never inside one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.library.document import PageText
from engine.library.types import Chunk

# all-MiniLM-L6-v2 reads 256 word pieces including its two special tokens.
DEFAULT_MAX_TOKENS = 224
# Chunks cut at headings are more and shorter; the smaller overlap keeps the word pieces to
# embed (and so indexing time) at what they were before (bench/library.py --against).
DEFAULT_OVERLAP_TOKENS = 16
# A section shorter than this (a heading followed at once by a sub-heading, an entry of a
# reference manual) joins the next one rather than becoming a chunk of a few words.
MIN_SECTION_TOKENS = 128


def load_tokenizer(model_dir: Path):
    """The embedding model's fast tokenizer, without loading torch or the model itself."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class Chunker:
    """Turns pages into `Chunk`s.

    Args:
        tokenizer: A `tokenizers.Tokenizer` (the embedding model's).
        max_tokens: Word pieces per chunk, special tokens not counted.
        overlap_tokens: Word pieces repeated from the end of the previous chunk.
    """

    def __init__(
        self,
        tokenizer,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    ) -> None:
        if not 0 <= overlap_tokens < max_tokens // 2:
            raise ValueError("overlap_tokens must be below half of max_tokens")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def chunk_pages(self, pages: Iterable[PageText], first_ordinal: int = 0) -> Iterator[Chunk]:
        ordinal = first_ordinal
        for page in pages:
            for chunk in self.chunk_page(page, ordinal):
                yield chunk
                ordinal += 1

    def chunk_page(self, page: PageText, first_ordinal: int = 0) -> Iterator[Chunk]:
        text = page.text
        if not text.strip():
            return
        offsets = self.tokenizer.encode(text, add_special_tokens=False).offsets
        ordinal = first_ordinal
        for section_start, section_end in _sections(page, offsets):
            for start, end in self._windows(text, offsets, section_start, section_end):
                char_start, char_end = offsets[start][0], offsets[end - 1][1]
                yield Chunk(
                    ordinal=ordinal,
                    page=page.page,
                    char_start=page.offset + char_start,
                    char_end=page.offset + char_end,
                    heading=_heading_for(page, char_start, char_end),
                    text=text[char_start:char_end],
                    token_count=end - start,
                    location=_location_for(page, char_start, char_end),
                )
                ordinal += 1

    def _windows(
        self, text: str, offsets: list[tuple[int, int]], first: int, count: int
    ) -> Iterator[tuple[int, int]]:
        """(start, end) token ranges of the chunks of tokens first..count-1."""
        start = first
        while start < count:
            end = min(start + self.max_tokens, count)
            if end < count:
                end = _boundary_before(text, offsets, end, floor=start + self.max_tokens // 2)
            yield start, end
            if end >= count:
                break
            # Step back for the overlap, then forward to the next word start.
            next_start = max(end - self.overlap_tokens, start + 1)
            while next_start < end and not _is_boundary(text, offsets, next_start):
                next_start += 1
            start = next_start


def _sections(page: PageText, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token ranges of the page's sections: cut where a heading starts, at a word start."""
    import bisect

    count = len(offsets)
    starts = [start for start, _end in offsets]
    cuts = [0]
    for position, _title in page.headings:
        cut = bisect.bisect_left(starts, position)
        if cut - cuts[-1] >= MIN_SECTION_TOKENS and count - cut >= MIN_SECTION_TOKENS:
            cuts.append(cut)
    return list(zip(cuts, [*cuts[1:], count], strict=True))


def _is_boundary(text: str, offsets: list[tuple[int, int]], index: int) -> bool:
    """True when a word starts at token `index`: whitespace (or removed text) before it."""
    if index <= 0 or index >= len(offsets):
        return True
    previous_end, this_start = offsets[index - 1][1], offsets[index][0]
    if this_start > previous_end:
        return True
    return previous_end < len(text) and text[previous_end].isspace()


def _boundary_before(text: str, offsets: list[tuple[int, int]], end: int, floor: int) -> int:
    """The largest token index <= end where a word starts, not below floor.

    A single "word" longer than half a chunk (a long URL, a hash) is cut where the window ends.
    """
    index = end
    while index > floor:
        if _is_boundary(text, offsets, index):
            return index
        index -= 1
    return end


def _heading_for(page: PageText, char_start: int, char_end: int) -> str | None:
    """The heading in force at the chunk, or one that starts in its first half."""
    cutoff = char_start + (char_end - char_start) // 2
    heading = page.heading_before
    for position, title in page.headings:
        if position > cutoff:
            break
        heading = title
    return heading


def _location_for(page: PageText, char_start: int, char_end: int) -> str | None:
    """What a citation shows for the chunk: "slide 3", "sheet Budget, rows 12-40", "row 7"."""
    if not page.rows:
        return page.location
    import bisect

    positions = [position for position, _row in page.rows]
    first = page.rows[max(0, bisect.bisect_right(positions, char_start) - 1)][1]
    last = page.rows[max(0, bisect.bisect_left(positions, char_end) - 1)][1]
    rows = f"row {first}" if first == last else f"rows {first}-{last}"
    return f"{page.location}, {rows}" if page.location else rows
