"""Documents PyMuPDF lays out as pages: PDF, EPUB, XPS and pictures (PNG, JPEG, TIFF, BMP).

Pages are numbered from 1 as a viewer shows them. A page without a text layer is looked at
before it is given up: a picture on it (a scan, a photo) or letters drawn as shapes are read by
OCR (engine.library.ocr); a page with nothing on it in a file MuPDF had to repair was lost when
the file was cut short or damaged. Each page says which of these it was, so the file's status can.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.library import ocr
from engine.library.document import Extraction, PageText, locate_headings
from engine.library.formats import IMAGE_SUFFIXES
from engine.library.pdftext import clean_page_text
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
    """Open a PyMuPDF document for extraction.

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
        doc = pymupdf.open(path)
    except Exception as exc:  # MuPDF raises FileDataError, RuntimeError, ValueError...
        what = "picture" if kind == "image" else f"{suffix[1:].upper()} file"
        raise FileProblem(DAMAGED, f"damaged or not a valid {what}") from exc
    if doc.needs_pass:
        doc.close()
        raise FileProblem(
            ENCRYPTED,
            "password-protected, cannot be read",
            "Save an unprotected copy and index that.",
        )
    try:
        page_count = doc.page_count
    except Exception as exc:
        doc.close()
        raise FileProblem(DAMAGED, "damaged file, its pages cannot be read") from exc
    if page_count == 0:
        doc.close()
        raise FileProblem(DAMAGED, "damaged file, no pages found")
    repaired = bool(getattr(doc, "is_repaired", False))
    extraction = Extraction(kind, page_count, _pages(doc, kind, repaired, use_ocr))
    extraction.repaired = repaired
    return extraction


def _pages(doc: Any, kind: str, repaired: bool, use_ocr: bool) -> Iterator:
    import pymupdf

    # Ligatures and broken words are handled by clean_page_text (MuPDF's own dehyphenation
    # would join codes such as "ERR-" / "4471" into one wrong word).
    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
    can_ocr = use_ocr and ocr.available()
    try:
        toc = _toc_by_page(doc)
        heading: str | None = None
        for index in range(doc.page_count):
            blank: str | None = None
            read_by_ocr = False
            try:
                page = doc.load_page(index)
                text = (
                    "" if kind == "image" else clean_page_text(page.get_text("text", flags=flags))
                )
                titles = toc.get(index + 1, []) if toc else []
                if not text.strip():
                    blank = _why_blank(page, kind, repaired)
                    if blank in (SCANNED_PAGE, OUTLINES_PAGE) and can_ocr:
                        text = _ocr_text(page)
                        read_by_ocr = bool(text.strip())
                elif not toc:
                    titles = _large_font_lines(page, flags)
            except Exception:
                # One unreadable page of a damaged file: keep the others.
                log.info("page %d could not be read", index + 1, exc_info=True)
                text, titles, blank = "", [], UNREADABLE_PAGE
            page_text = PageText(index + 1, text, 0, locate_headings(text, titles), heading)
            page_text.ocr = read_by_ocr
            page_text.blank = None if text.strip() else blank
            yield page_text
            if titles:
                heading = titles[-1]
    finally:
        doc.close()


def _why_blank(page: Any, kind: str, repaired: bool) -> str:
    if kind == "image" or page.get_images(full=False):
        return SCANNED_PAGE
    try:
        # Lines and curves, however they are grouped into paths: a glyph is several of them.
        strokes = sum(len(path.get("items", ())) for path in page.get_cdrawings())
    except Exception:
        strokes = 0
    if strokes >= MIN_OUTLINE_STROKES:
        return OUTLINES_PAGE
    return UNREADABLE_PAGE if repaired else BLANK


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


def _large_font_lines(page: Any, flags: int) -> list[str]:
    """Lines set noticeably larger than the page's body text: headings of a PDF with no outline."""
    sizes: dict[float, int] = {}
    lines: list[tuple[float, str]] = []
    for block in page.get_text("dict", flags=flags)["blocks"]:
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
