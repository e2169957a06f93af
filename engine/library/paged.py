"""Documents PyMuPDF lays out as pages: PDF, EPUB, XPS and pictures (PNG, JPEG, TIFF, BMP).

Pages are numbered from 1 as a viewer shows them. A page without a text layer is looked at
before it is given up: a picture on it (a scan, a photo) or letters drawn as shapes are read by
OCR (engine.library.ocr); a page with nothing on it in a file that had to be repaired, or that
MuPDF reported an error reading, was lost when the file was cut short or damaged. Each page says
which of these it was, so the file's status can (the pages that read are indexed all the same).
Running headers and footers of PDF and XPS pages (a book's title, page numbers) are left out
of the text (engine.library.running), unless they are all a page without pictures holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.library import ocr
from engine.library.document import Extraction, PageText, locate_headings
from engine.library.formats import IMAGE_SUFFIXES, RUNNING_HEADER_SUFFIXES
from engine.library.pdftext import clean_page_text
from engine.library.running import MIN_PAGES, Line, running_lines
from engine.library.salvage import PagesUnreadable, open_salvaged
from engine.library.types import DAMAGED, ENCRYPTED, FileProblem

log = logging.getLogger(__name__)


# Why a page gave no text layer (PageText.blank).
BLANK = "blank"  # nothing on it
SCANNED_PAGE = "scanned"  # a picture, and OCR found no text (or is not installed)
OUTLINES_PAGE = "outlines"  # vector shapes only, and OCR found no text
UNREADABLE_PAGE = "unreadable"  # MuPDF could not read the page: a damaged or cut-short file

# A page with at least this many lines and curves and no text may be text drawn as outlines.
MIN_OUTLINE_STROKES = 20


def open_paged(path: Path, use_ocr: bool = True):
    """Open a PyMuPDF document for extraction; what can be read of a damaged or cut-short PDF
    is read (engine.library.salvage).

    Raises:
        FileProblem: damaged, encrypted or page-less file.
    """
    import pymupdf

    # MuPDF prints repair notes for damaged files on stderr; we report per file instead.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    suffix = path.suffix.lower()
    kind = "image" if suffix in IMAGE_SUFFIXES else suffix[1:]
    try:
        opened = open_salvaged(path)
    except PagesUnreadable as exc:
        raise FileProblem(DAMAGED, "damaged file, its pages cannot be read") from exc
    except Exception as exc:  # MuPDF raises FileDataError, RuntimeError, ValueError...
        what = "picture" if kind == "image" else f"{suffix[1:].upper()} file"
        raise FileProblem(DAMAGED, f"damaged or not a valid {what}") from exc
    doc = opened.doc
    if doc.needs_pass:
        doc.close()
        raise FileProblem(
            ENCRYPTED,
            "password-protected, cannot be read",
            "Save an unprotected copy and index that.",
        )
    page_count = doc.page_count
    if page_count == 0:
        doc.close()
        raise FileProblem(DAMAGED, "damaged file, no pages found")
    extraction = Extraction(kind, page_count, _pages(doc, kind, opened.repaired, use_ocr))
    extraction.repaired = opened.repaired
    extraction.pages_found = opened.pages_found
    return extraction


@dataclass
class _ReadPage:
    """One page as MuPDF laid it out, before its running headers and footers are left out.

    Attributes:
        index: 0-based page index.
        page: The PyMuPDF page, or None when it could not be read.
        textpage: Its PyMuPDF text page (None for a picture or an unread page).
        text: The page's text as MuPDF gives it (one line break after every line).
        lines: Its lines in text order, each with the box of its block, when they spell `text`
            exactly (so lines can be left out of it); else empty.
        height: Page height in points.
        faulty: MuPDF reported an error while reading it (a part of the file it needs is
            damaged or missing).
    """

    index: int
    page: Any = None
    textpage: Any = None
    text: str = ""
    lines: list[Line] = field(default_factory=list)
    height: float = 0.0
    faulty: bool = False

    def text_without(self, dropped: frozenset[int]) -> str:
        """The page's text, the lines in `dropped` (indexes into `lines`) left out."""
        if not dropped:
            return self.text
        return _joined(line for i, line in enumerate(self.lines) if i not in dropped)


def _joined(lines: Iterable[Line]) -> str:
    """Lines as MuPDF's page text has them: each followed by one line break."""
    return "".join(line.text + "\n" for line in lines)


def _pages(doc: Any, kind: str, repaired: bool, use_ocr: bool) -> Iterator:
    import pymupdf

    # Ligatures and broken words are handled by clean_page_text (MuPDF's own dehyphenation
    # would join codes such as "ERR-" / "4471" into one wrong word).
    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
    can_ocr = use_ocr and ocr.available()
    try:
        toc = _toc_by_page(doc)
        drops_headers = f".{kind}" in RUNNING_HEADER_SUFFIXES and doc.page_count >= MIN_PAGES
        read = (
            _read_page(doc, index, flags, kind, drops_headers) for index in range(doc.page_count)
        )
        if drops_headers:
            pages = running_lines(read, lambda raw: (raw.lines, raw.height))
        else:
            pages = ((raw, frozenset()) for raw in read)
        heading: str | None = None
        for raw, dropped in pages:
            text, titles, blank, read_by_ocr = _page_text(
                raw, dropped, toc, kind, repaired, can_ocr
            )
            page_text = PageText(raw.index + 1, text, 0, locate_headings(text, titles), heading)
            page_text.ocr = read_by_ocr
            page_text.blank = None if text.strip() else blank
            yield page_text
            if titles:
                heading = titles[-1]
    finally:
        doc.close()


def _read_page(doc: Any, index: int, flags: int, kind: str, with_lines: bool) -> _ReadPage:
    """Page `index` laid out: its text and, when `with_lines`, its lines; a page MuPDF cannot
    read comes back without its PyMuPDF page."""
    _reported_error()  # forget what reading earlier pages left
    try:
        page = doc.load_page(index)
        if kind == "image":
            return _ReadPage(index, page)
        textpage = page.get_textpage(flags=flags)
        raw = _ReadPage(index, page, textpage, textpage.extractText(), height=page.rect.height)
        if with_lines:
            # Blocks cost next to nothing once the page is laid out; a line's own box would
            # cost three times the text.
            lines = [
                Line(line, (x0, y0, x1, y1))
                for x0, y0, x1, y1, block, _number, kind_of_block in textpage.extractBLOCKS()
                if kind_of_block == 0
                for line in block.split("\n")[:-1]
            ]
            if _joined(lines) == raw.text:  # else none can be left out of the page's text
                raw.lines = lines
        raw.faulty = _reported_error()
        return raw
    except Exception:
        log.info("page %d could not be read", index + 1, exc_info=True)
        return _ReadPage(index)


def _reported_error() -> bool:
    """Whether MuPDF reported an error since it was last asked; forgets what it reported.

    A page whose text MuPDF cannot decode (a damaged stream in the middle of an intact-looking
    file) reads as empty, without an exception: only this tells it from a blank page.
    """
    import pymupdf

    return "error" in pymupdf.TOOLS.mupdf_warnings(reset=True)


def _page_text(
    raw: _ReadPage,
    dropped: frozenset[int],
    toc: dict[int, list[str]],
    kind: str,
    repaired: bool,
    can_ocr: bool,
) -> tuple[str, list[str], str | None, bool]:
    """A page's text as indexed, without the lines in `dropped`: (text, titles of the headings
    on it, why it has no text or None, whether OCR read it)."""
    if raw.page is None:
        return "", [], UNREADABLE_PAGE, False
    try:
        text = clean_page_text(raw.text_without(dropped))
        if dropped and not text.strip() and not raw.page.get_images(full=False):
            # Its running lines are all the page holds, and no picture is there to read
            # instead: they are its text (a log of one line per page), not a frame around it.
            dropped = frozenset()
            text = clean_page_text(raw.text)
        titles = toc.get(raw.index + 1, []) if toc else []
        if text.strip():
            if not toc:
                left_out = {" ".join(raw.lines[i].text.split()) for i in dropped}
                titles = [t for t in _large_font_lines(raw.textpage) if t not in left_out]
            return text, titles, None, False
        # Judged by what is left: a scan stamped with a running line is still read by OCR.
        blank = _why_blank(raw.page, kind, repaired or raw.faulty)
        if blank in (SCANNED_PAGE, OUTLINES_PAGE) and can_ocr:
            text = _ocr_text(raw.page)
        return text, titles, blank, bool(text.strip())
    except Exception:
        # One unreadable page of a damaged file: keep the others.
        log.info("page %d could not be read", raw.index + 1, exc_info=True)
        return "", [], UNREADABLE_PAGE, False


def _why_blank(page: Any, kind: str, damaged: bool) -> str:
    """Why a page gave no text: a picture, outlines, a damaged file's lost page, or nothing."""
    if kind == "image" or page.get_images(full=False):
        return SCANNED_PAGE
    try:
        # Lines and curves, however they are grouped into paths: a glyph is several of them.
        strokes = sum(len(path.get("items", ())) for path in page.get_cdrawings())
    except Exception:
        strokes = 0
    if strokes >= MIN_OUTLINE_STROKES:
        return OUTLINES_PAGE
    return UNREADABLE_PAGE if damaged else BLANK


def _ocr_text(page: Any) -> str:
    try:
        return ocr.lines_text(ocr.recognise_page(page))
    except Exception:
        log.warning("OCR failed on page %d", page.number + 1, exc_info=True)
        return ""


def _toc_by_page(doc: Any) -> dict[int, list[str]]:
    try:
        toc = doc.get_toc(simple=True)
    except Exception:
        return {}
    by_page: dict[int, list[str]] = {}
    for _level, title, page in toc:
        title = " ".join(str(title).split())
        if page >= 1 and title:
            by_page.setdefault(page, []).append(title)
    return by_page


def _large_font_lines(textpage: Any) -> list[str]:
    """Lines set noticeably larger than the page's body text: headings of a PDF with no outline."""
    sizes: dict[float, int] = {}
    lines: list[tuple[float, str]] = []
    for block in textpage.extractDICT()["blocks"]:
        for line in block.get("lines", ()):
            text = "".join(span["text"] for span in line["spans"]).strip()
            if not text:
                continue
            size = max(round(span["size"], 1) for span in line["spans"])
            sizes[size] = sizes.get(size, 0) + len(text)
            lines.append((size, text))
    if not sizes:
        return []
    body = max(sizes, key=lambda s: sizes[s])
    return [
        " ".join(text.split())
        for size, text in lines
        if size >= body * 1.15 and len(text) <= 120 and any(c.isalpha() for c in text)
    ]
