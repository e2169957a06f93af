"""Running headers and footers of laid-out pages (PDF, XPS): the book title, chapter name and
page number printed in the margin of every page, found so that they can be left out of the text.

A line is running when it stands in the outermost row at the top or bottom of at least
MIN_REPEATS of the NEIGHBOURS pages before and after its own, with the same words and with
numbers that either stay ("Release 12.18", "Chapter 4") or move with the page ("Page 23",
"23 / 248", "iv"). Counting near pages rather than the whole document catches a chapter's
running title, which is on every page of that chapter only, and headers that alternate between
odd and even pages (the same parity is two pages away). A title that repeats on two pages is
kept, and so is "Invoice 4711" at the top of every page of a batch of invoices (its number
neither stays nor follows the page). A document of fewer than MIN_PAGES pages keeps every line.

A running line with letters must also stand in the margins of those pages more often than in
their text: a manual that writes "Syntax:" on every page ends some pages with it. It drops its
whole row (the section name and page number printed beside a book's title); a running page
number alone ("12", "12 / 248", "- iv -") drops only itself, so an entry of a table of
contents whose page number stands at the top of a page keeps its title. Lines further in than
the outermost rows are never dropped: a table's column titles repeated under the header of
every page it spans are part of the table.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

# Pages counted on each side of a page.
NEIGHBOURS = 4
# Other pages among those that must carry a line for it to be running.
MIN_REPEATS = 2
# Shorter documents keep every line: too few pages tell a running title from a repeated one.
MIN_PAGES = 4
# The outermost rows are looked at only inside this share of the page height, top and bottom.
MARGIN_BAND = 0.12

_NUMBER = re.compile(r"\d+")
# Front-matter page numbers: "iv", "- xii -".
_ROMAN = re.compile(
    r"[^\w#]*((?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))[^\w#]*"
)
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
# A page number, with its total or dashes around it: "#", "# / #", "- # -"; not "#.#", a section.
_PAGE_NUMBER = re.compile(r"[^\w#]*#(?:\s*[/|]\s*#)?[^\w#]*")

T = TypeVar("T")


class Line(NamedTuple):
    """One line of a laid-out page (a tuple: pages have many, made fast).

    Attributes:
        text: The line's text as the page's text spells it (without its line break).
        bbox: (x0, y0, x1, y1) in points, y growing down the page: the line's box, or the box
            of the block of lines it belongs to (lines of one box are one row or none).
    """

    text: str
    bbox: tuple[float, float, float, float]


class _MarginLine(NamedTuple):
    key: str  # margin_key of the line
    numbers: tuple[int, ...]  # its numbers, in order
    plain: str  # its text in lower case, to look for in the rest of the page


@dataclass
class _Margins:
    """One page's outermost rows (line indexes per row), those of their lines that may be
    running, and how often each line's text stands in the rest of the page (in lower case,
    numbers as they are: cheap enough for every line)."""

    rows: list[list[int]] = field(default_factory=list)
    lines: dict[int, _MarginLine] = field(default_factory=dict)
    by_key: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)
    inner: Counter[str] = field(default_factory=Counter)


def running_lines(
    pages: Iterable[T], lines_of: Callable[[T], tuple[Sequence[Line], float]]
) -> Iterator[tuple[T, frozenset[int]]]:
    """Each page with the indexes of its lines that are running headers or footers.

    Pages are read NEIGHBOURS ahead of the one handed on, so a long document is never held whole.

    Args:
        pages: The document's pages, in order.
        lines_of: A page's lines (in text order) and its height in points; no lines for a page
            whose text cannot be told line by line (nothing of it is dropped, and it gives no
            evidence for its neighbours).

    Yields:
        (page, indexes into its lines to leave out), in the order of `pages`.
    """
    window: deque[tuple[T, _Margins]] = deque()
    first = 0  # position in the document of window[0]
    handed = 0  # pages handed on so far
    read = 0
    for page in pages:
        lines, height = lines_of(page)
        window.append((page, _margins(lines, height)))
        read += 1
        # A page is decided once the NEIGHBOURS pages after it are read.
        while handed + NEIGHBOURS < read:
            yield window[handed - first][0], _dropped(window, handed - first)
            handed += 1
            if handed - first > NEIGHBOURS:
                window.popleft()
                first += 1
    while handed < read:
        at = handed - first
        yield window[at][0], (_dropped(window, at) if read >= MIN_PAGES else frozenset())
        handed += 1


def margin_key(text: str) -> str:
    """What a line is compared by: lower case, spaces collapsed, every number (and a line that
    is only a Roman numeral, as front matter is numbered) written as "#"."""
    key = " ".join(_NUMBER.sub("#", text).lower().split())
    return "#" if _ROMAN.fullmatch(key) else key


def _numbers(text: str) -> tuple[int, ...]:
    """The line's numbers; a Roman numeral's value when the line is only that."""
    roman = _ROMAN.fullmatch(text.strip().lower())
    if roman:
        values = [_ROMAN_VALUES[char] for char in roman.group(1)]
        total = sum(
            -v if v < after else v for v, after in zip(values, [*values[1:], 0], strict=True)
        )
        return (total,)
    return tuple(int(number) for number in _NUMBER.findall(text))


def _margins(lines: Sequence[Line], height: float) -> _Margins:
    margins = _Margins()
    candidates = [i for i, line in enumerate(lines) if line.text.strip()]
    if not candidates or height <= 0:
        return margins
    top = min(candidates, key=lambda i: lines[i].bbox[1])
    bottom = max(candidates, key=lambda i: lines[i].bbox[3])
    if lines[top].bbox[3] <= MARGIN_BAND * height:
        margins.rows.append(
            _row(lines, candidates, top, lambda box: box[3] <= MARGIN_BAND * height)
        )
    if lines[bottom].bbox[1] >= (1 - MARGIN_BAND) * height:
        row = _row(lines, candidates, bottom, lambda box: box[1] >= (1 - MARGIN_BAND) * height)
        if row not in margins.rows:  # a page whose only text is one row
            margins.rows.append(row)
    outer = {index for row in margins.rows for index in row}
    for index in outer:
        text = lines[index].text
        key = margin_key(text)
        if _has_letters(key) or _PAGE_NUMBER.fullmatch(key):
            margins.lines[index] = _MarginLine(key, _numbers(text), _plain(text))
            margins.by_key.setdefault(key, []).append(margins.lines[index].numbers)
    margins.inner = Counter(_plain(lines[i].text) for i in candidates if i not in outer)
    return margins


def _plain(text: str) -> str:
    return text.strip().lower()


def _row(
    lines: Sequence[Line],
    candidates: list[int],
    edge: int,
    in_band: Callable[[tuple[float, float, float, float]], bool],
) -> list[int]:
    """The lines in the band whose middle lies within the height of line `edge`: a header's
    left and right parts, set as lines of their own."""
    y0, y1 = lines[edge].bbox[1], lines[edge].bbox[3]
    return [
        i
        for i in candidates
        if in_band(lines[i].bbox) and y0 <= (lines[i].bbox[1] + lines[i].bbox[3]) / 2 <= y1
    ]


def _dropped(window: deque[tuple[T, _Margins]], at: int) -> frozenset[int]:
    margins = window[at][1]
    if not margins.lines:
        return frozenset()
    near = [
        (i - at, window[i][1])
        for i in range(max(0, at - NEIGHBOURS), min(len(window), at + NEIGHBOURS + 1))
    ]
    dropped: set[int] = set()
    for row in margins.rows:
        running = [i for i in row if i in margins.lines and _running(margins.lines[i], near)]
        if any(_has_letters(margins.lines[i].key) for i in running):
            dropped.update(row)
        else:
            dropped.update(running)
    return frozenset(dropped)


def _running(line: _MarginLine, near: list[tuple[int, _Margins]]) -> bool:
    """True when `line` stands in the outermost rows of MIN_REPEATS pages of `near` ((pages
    away, margins)) besides its own, its numbers kept or moved by as many pages; one with
    letters must also stand there more often than its text stands in the rest of those pages
    ("Syntax:" closing several pages of a manual that writes it on every page is text)."""
    pages = sum(
        any(_in_step(line.numbers, numbers, away) for numbers in margins.by_key.get(line.key, ()))
        for away, margins in near
        if away
    )
    if pages < MIN_REPEATS:
        return False
    return not _has_letters(line.key) or sum(m.inner[line.plain] for _, m in near) <= pages


def _in_step(numbers: tuple[int, ...], others: tuple[int, ...], away: int) -> bool:
    """Each number the same, or `away` more: a page number `away` pages on."""
    return len(numbers) == len(others) and all(
        other in (number, number + away) for number, other in zip(numbers, others, strict=True)
    )


def _has_letters(key: str) -> bool:
    return any(char.isalpha() for char in key)
