"""What an indexed file's note tells a person: warnings (pages or characters the search lost)
apart from plain information (pages read by OCR, blank pages).

The note is one line in the manifest's `error` column, its parts joined by "; " (written by
`file_note` in engine/library/indexer.py); a damaged file's part holds a "; " of its own
("damaged: 10 of 30 pages cannot be read (...); the other 20 are searchable").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The kinds of part a note has. Every kind but INFORMATION is a warning.
DAMAGED = "damaged"
PAGES_WITHOUT_TEXT = "pages_without_text"
UNDECODABLE = "undecodable"
INFORMATION = "information"

# How a notice counts the files with warnings of one kind: "1 with damaged pages".
WARNING_HEADINGS = {
    DAMAGED: "with damaged pages",
    PAGES_WITHOUT_TEXT: "with pages that have no readable text",
    UNDECODABLE: "with characters that could not be read",
}
MIXED_HEADING = "with warnings"

_PATTERNS = (
    (DAMAGED, re.compile(r"damaged: (?P<short>[^;(]*?)(?: \(.*\))?(?:; .*)?")),
    (PAGES_WITHOUT_TEXT, re.compile(r"(?P<short>[\d,]+ scanned pages? without readable text)")),
    (PAGES_WITHOUT_TEXT, re.compile(r"(?P<short>[\d,]+ pages? of vector outlines without text)")),
    (UNDECODABLE, re.compile(r"(?P<short>[\d,]+ bytes? could not be decoded as \S+)(?: \(.*\))?")),
)


@dataclass(frozen=True)
class NotePart:
    """One thing a note says.

    Attributes:
        kind: DAMAGED, PAGES_WITHOUT_TEXT, UNDECODABLE (warnings) or INFORMATION.
        text: The part as the note words it.
        short: Its gist for a notice: "10 of 30 pages cannot be read".
    """

    kind: str
    text: str
    short: str

    @property
    def warning(self) -> bool:
        """Something of the file is not searchable (or reads wrong), not merely how it was read."""
        return self.kind != INFORMATION


def note_parts(note: str | None) -> list[NotePart]:
    """The parts of an indexed file's note, in order, each with its kind.

    Args:
        note: The note ("" or None for a file with nothing to say).

    Returns:
        E.g. [NotePart(DAMAGED, "damaged: 10 of 30 pages cannot be read (...); the other 20 are
        searchable", "10 of 30 pages cannot be read"), NotePart(INFORMATION, "4 of 30 pages read
        by OCR", ...)].
    """
    pieces: list[str] = []
    for piece in (note or "").split("; "):
        # "the other 20 are searchable" belongs to the damage part before it.
        if pieces and pieces[-1].startswith("damaged: ") and piece.endswith(" searchable"):
            pieces[-1] += f"; {piece}"
        elif piece.strip():
            pieces.append(piece)
    return [_part(piece) for piece in pieces]


def note_warnings(note: str | None) -> list[NotePart]:
    """The parts of `note` that are warnings (none for a note of plain information)."""
    return [part for part in note_parts(note) if part.warning]


def _part(text: str) -> NotePart:
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return NotePart(kind, text, match["short"])
    return NotePart(INFORMATION, text, text)


# A note's level, as the documents panel colours it and `hearth library show --json` says it.
WARNING = "warning"


def note_level(note: str | None) -> str | None:
    """How much an indexed file's note matters: WARNING when part of the file is lost to the
    search, INFORMATION when it only says how the file was read, None for no note."""
    parts = note_parts(note)
    if not parts:
        return None
    return WARNING if any(part.warning for part in parts) else INFORMATION


def warning_heading(kinds: Iterable[str]) -> str:
    """How a count of files with warnings of `kinds` is worded: "with damaged pages" for one
    kind, "with warnings" for several ("" for none), the same words wherever files are counted."""
    found = set(kinds)
    if not found:
        return ""
    return WARNING_HEADINGS[found.pop()] if len(found) == 1 else MIXED_HEADING


# A damage part's count of the pages that cannot be read: "10 of 30 pages cannot be read".
_UNREADABLE_PAGES = re.compile(r"(?P<lost>[\d,]+) of [\d,]+ pages? cannot be read")


def unreadable_pages(note: str | None) -> int:
    """How many of an indexed file's pages cannot be read, as its note's damage part counts
    them (they are among the file's pages): 0 for none, and 0 when its list of pages was lost,
    since how many it had is then unknown (its pages are those found)."""
    lost = 0
    for part in note_parts(note):
        match = _UNREADABLE_PAGES.fullmatch(part.short) if part.kind == DAMAGED else None
        if match:
            lost += int(match["lost"].replace(",", ""))
    return lost
