"""The records extraction hands on: one page's text (`PageText`) and an opened document
(`Extraction`), shared by the readers of each format."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class PageText:
    """The text of one page (or one block of a page-less file).

    Attributes:
        page: 1-based page (or slide) number, or None for formats without pages.
        text: The text, tags and layout removed, lines kept.
        offset: Where `text` starts in the whole document's text (page-less formats; 0 for pages).
        headings: (position in `text`, title) for each heading that starts in this text.
        heading_before: The heading in force where this text starts, if any.
        location: What a citation calls this text when a page number says too little or
            nothing: "slide 3", "sheet Budget".
        rows: (position in `text`, row number) of each line, for tables (sheets, CSV).
        ocr: The text was read by OCR from a picture of the page.
        blank: Why the page has no text ("blank", "scanned", "outlines", "unreadable").
    """

    page: int | None
    text: str
    offset: int = 0
    headings: list[tuple[int, str]] = field(default_factory=list)
    heading_before: str | None = None
    location: str | None = None
    rows: list[tuple[int, int]] = field(default_factory=list)
    ocr: bool = False
    blank: str | None = None


class Extraction:
    """An opened document. Iterate `pages()`; `page_count` is None where unknown in advance.

    Attributes:
        repaired: The file had to be repaired to be read (it is damaged or cut short).
        pages_found: The file's list of pages was lost: its pages are those found in it, and
            how many it had is unknown.
        note: Something a person should know about the whole file (bytes that could not be
            decoded), or None.
        read_fraction: How much of the file its pages so far came from (0..1), where
            `page_count` is None and this can be told (a text file: bytes read of its size).
    """

    def __init__(self, kind: str, page_count: int | None, pages: Iterator[PageText]) -> None:
        self.kind = kind
        self.page_count = page_count
        self._pages = pages
        self.repaired = False
        self.pages_found = False
        self.note: str | None = None
        self.read_fraction: Callable[[], float] | None = None

    def pages(self) -> Iterator[PageText]:
        return self._pages

    @property
    def paged(self) -> bool:
        return self.page_count is not None


def locate_headings(text: str, titles: list[str]) -> list[tuple[int, str]]:
    """Positions of headings in the page text, in order; a title not found counts as the top."""
    found: list[tuple[int, str]] = []
    start = 0
    lowered = text.lower()
    for title in titles:
        pos = lowered.find(title.lower(), start)
        if pos < 0:
            pos = start
        found.append((pos, title))
        start = pos
    return found
