"""Render one page of a document to PNG, with the rectangles of a cited passage to highlight.

Used by the window's page viewer from a worker thread; PyMuPDF stays inside the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import HearthError
from engine.library.formats import is_paged
from engine.library.salvage import open_salvaged

# A line read by OCR is highlighted when at least this share of its words is in the passage.
OCR_LINE_OVERLAP = 0.6
_WORDS_PER_PROBE = 6
_MAX_PROBES = 60


class PageRenderError(HearthError):
    """A page cannot be shown (missing file, not a paged format, page out of range)."""


@dataclass(frozen=True)
class RenderedPage:
    """One rendered page.

    Attributes:
        png: The page image.
        width, height: Image size in pixels.
        page: 1-based page number, as a viewer shows it.
        page_count: Pages in the document.
        highlights: (x, y, w, h) rectangles in image pixels covering the passage.
    """

    png: bytes
    width: int
    height: int
    page: int
    page_count: int
    highlights: list[tuple[float, float, float, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """What the page viewer needs (the image size is in the PNG)."""
        return {
            "page": self.page,
            "page_count": self.page_count,
            "png": self.png,
            "highlights": self.highlights,
        }


def render_page(path: Path, page: int, zoom: float = 1.5, passage: str = "") -> RenderedPage:
    """Render `page` (1-based) of `path` at `zoom` and find `passage` on it.

    Raises:
        PageRenderError: The file is missing, not a paged document, damaged, or has no such page.
    """
    import pymupdf  # imported here so that importing this module stays cheap

    path = Path(path)
    if not path.is_file():
        raise PageRenderError(f"The document is no longer there: {path}")
    if not is_paged(path):
        raise PageRenderError(f"{path.name} has no pages to show.")
    try:
        # Opened as the indexer opens it, so a cut-short file's page numbers match its citations.
        doc = open_salvaged(path).doc
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        raise PageRenderError(f"{path.name} cannot be opened: {exc}") from exc
    with doc:
        if doc.needs_pass:
            raise PageRenderError(f"{path.name} is protected by a password.")
        if not 1 <= page <= doc.page_count:
            raise PageRenderError(f"{path.name} has no page {page} (it has {doc.page_count}).")
        pdf_page = doc[page - 1]
        pixmap = pdf_page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        rects = [
            (r.x0 * zoom, r.y0 * zoom, r.width * zoom, r.height * zoom)
            for r in _passage_rects(pdf_page, passage)
        ]
        return RenderedPage(
            png=pixmap.tobytes("png"),
            width=pixmap.width,
            height=pixmap.height,
            page=page,
            page_count=doc.page_count,
            highlights=rects,
        )


def _passage_rects(pdf_page, passage: str) -> list:
    """Rectangles of the passage on the page.

    A chunk of text rarely matches the page verbatim (hyphenation, line breaks, ligatures), so the
    passage is searched in short runs of words and every run found is highlighted. A page with
    no text layer (a scan) was indexed from OCR: it is read again the same way and the lines
    that hold the passage's words are highlighted.
    """
    words = re.findall(r"\S+", passage)
    if not words:
        return []
    if not pdf_page.get_text("text").strip():
        return ocr_passage_rects(pdf_page, passage, _ocr_lines_of(pdf_page))
    whole = pdf_page.search_for(" ".join(words)) if len(words) <= 12 else []
    if whole:
        return list(whole)
    rects: list = []
    step = max(_WORDS_PER_PROBE, len(words) // _MAX_PROBES)
    for start in range(0, len(words), step):
        probe = " ".join(words[start : start + _WORDS_PER_PROBE])
        if len(probe) < 12:
            continue
        rects.extend(pdf_page.search_for(probe))
    return _merge_lines(rects)


def _merge_lines(rects: list) -> list:
    """Join rectangles on the same text line so the highlight reads as one band per line."""
    merged: list = []
    for rect in sorted(rects, key=lambda r: (round(r.y0), r.x0)):
        last = merged[-1] if merged else None
        if last is not None and abs(last.y0 - rect.y0) < 2 and rect.x0 <= last.x1 + 4:
            merged[-1] = last | rect
        else:
            merged.append(rect)
    return merged


def _ocr_lines_of(pdf_page) -> tuple:
    """The page's OCR lines, remembered for the last few pages shown (zooming re-renders)."""
    document = pdf_page.parent
    name = getattr(document, "name", "") or ""
    try:
        stamp = Path(name).stat().st_mtime_ns if name else 0
    except OSError:
        stamp = 0
    key = (name, stamp, pdf_page.number)
    if key not in _OCR_CACHE:
        from engine.library import ocr

        try:
            lines = tuple(ocr.recognise_page(pdf_page)) if ocr.available() else ()
        except Exception:
            lines = ()
        if len(_OCR_CACHE) >= _OCR_CACHE_PAGES:
            _OCR_CACHE.pop(next(iter(_OCR_CACHE)))
        _OCR_CACHE[key] = lines
    return _OCR_CACHE[key]


_OCR_CACHE: dict[tuple, tuple] = {}
_OCR_CACHE_PAGES = 8


def ocr_passage_rects(pdf_page, passage: str, lines) -> list:
    """Boxes (page coordinates) of the OCR `lines` of a page without a text layer that hold
    `passage`'s words (engine.library.ocr.OcrLine records)."""
    import pymupdf

    wanted = {word.lower() for word in re.findall(r"\w+", passage)}
    rects = []
    for line in lines:
        words = [word.lower() for word in re.findall(r"\w+", line.text)]
        if words and sum(word in wanted for word in words) / len(words) >= OCR_LINE_OVERLAP:
            rects.append(pymupdf.Rect(line.x0, line.y0, line.x1, line.y1))
    return _merge_lines(rects)
