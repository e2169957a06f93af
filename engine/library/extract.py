"""Text out of documents, one page (or one block, for formats without pages) at a time.

PDF, EPUB, XPS and pictures go through PyMuPDF page by page (engine.library.paged, OCR where a
page has no text layer); Word and OpenDocument text are read whole, every part
(engine.library.office); slides, workbooks and CSV row by row (engine.library.sheets); text
files in blocks, in the encoding they were written in (engine.library.textfile), so a huge file
never sits in memory whole. Problems become a `FileProblem` with a per-file status.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from engine.library.document import Extraction, PageText
from engine.library.formats import (
    CSV_SUFFIXES,
    HTML_SUFFIXES,
    ODT_SUFFIXES,
    PAGED_SUFFIXES,
    PPTX_SUFFIXES,
    TEXT_SUFFIXES,
    XLSX_SUFFIXES,
)
from engine.library.paged import open_paged
from engine.library.types import (
    BROKEN_LINK,
    EMPTY,
    NOT_REGULAR,
    UNREADABLE,
    VANISHED,
    FileProblem,
)

# Text files are read in blocks of about this many characters, cut at a line break.
TEXT_BLOCK_CHARS = 200_000


def open_document(path: Path, use_ocr: bool = True) -> Extraction:
    """Open `path` for extraction.

    Args:
        path: The file.
        use_ocr: Read pages without a text layer (and pictures) by OCR where it is installed.

    Raises:
        FileProblem: encrypted, damaged, empty, unreadable, vanished file, or not a regular
            file (a pipe, a socket, a device: opening one could wait forever).
    """
    suffix = path.suffix.lower()
    check_regular_file(path)
    if suffix in PAGED_SUFFIXES:
        return open_paged(path, use_ocr)
    if suffix in TEXT_SUFFIXES:
        from engine.library.textfile import detect_encoding

        is_markdown = suffix in {".md", ".markdown"}
        encoding = _text_encoding(path, detect_encoding)
        bytes_read = [0]
        blocks = _text_blocks(path, encoding, is_markdown, bytes_read)
        extraction = Extraction("text", None, blocks)
        extraction.note = encoding.note
        size = max(1, path.stat().st_size)
        extraction.read_fraction = lambda: min(1.0, bytes_read[0] / size)
        return extraction
    if suffix in HTML_SUFFIXES:
        return Extraction("html", None, iter([_html_text(path)]))
    if suffix in PPTX_SUFFIXES:
        from engine.library.sheets import pptx_extraction

        return pptx_extraction(path)
    if suffix in XLSX_SUFFIXES:
        from engine.library.sheets import xlsx_extraction

        return xlsx_extraction(path)
    if suffix in CSV_SUFFIXES:
        from engine.library.sheets import csv_extraction
        from engine.library.textfile import detect_encoding

        _text_encoding(path, detect_encoding)  # reports binary data as damaged
        return csv_extraction(path)
    if suffix in ODT_SUFFIXES:
        from engine.library.office import odt_text

        return Extraction("odt", None, iter([odt_text(path)]))
    from engine.library.office import docx_text

    return Extraction("docx", None, iter([docx_text(path)]))


def _text_encoding(path: Path, detect):
    try:
        return detect(path)
    except FileNotFoundError as exc:
        raise FileProblem(VANISHED, "the file is no longer there") from exc
    except OSError as exc:
        raise FileProblem(UNREADABLE, f"cannot read this file ({exc.strerror})") from exc


def check_regular_file(path: Path) -> None:
    """Raise a `FileProblem` unless `path` is a non-empty regular file that can be read."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise FileProblem(BROKEN_LINK, "broken link") from exc
        raise FileProblem(VANISHED, "the file is no longer there") from exc
    except OSError as exc:
        raise FileProblem(UNREADABLE, f"cannot read this file ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem(UNREADABLE, "this is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem(NOT_REGULAR, "not a regular file")
    if info.st_size == 0:
        raise FileProblem(EMPTY, "empty file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError as exc:
        raise FileProblem(VANISHED, "the file is no longer there") from exc
    except OSError as exc:
        raise FileProblem(UNREADABLE, f"cannot read this file ({exc.strerror})") from exc


def _clean(text: str) -> str:
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


# --- Plain text and Markdown ----------------------------------------------------------------------

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_SETEXT_HEADING = re.compile(r"^([^\n]*\S[^\n]*)\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)


def _text_blocks(
    path: Path, encoding, markdown: bool, bytes_read: list[int] | None = None
) -> Iterator[PageText]:
    from engine.library.textfile import read_blocks

    offset = 0
    heading: str | None = None
    buffer = ""

    def emit(text: str) -> PageText:
        nonlocal offset, heading
        page = _text_page(text, offset, heading, markdown)
        if page.headings:
            heading = page.headings[-1][1]
        offset += len(text)
        return page

    for data in read_blocks(path, encoding, TEXT_BLOCK_CHARS, bytes_read):
        buffer += data
        while len(buffer) >= TEXT_BLOCK_CHARS:
            # Cut after the last line break (else the last space) so no word straddles two
            # blocks; a block with neither is cut where it ends, keeping memory bounded.
            cut = buffer.rfind("\n", 0, TEXT_BLOCK_CHARS)
            if cut < 0:
                cut = max(
                    buffer.rfind(" ", 0, TEXT_BLOCK_CHARS), buffer.rfind("\t", 0, TEXT_BLOCK_CHARS)
                )
            if cut < 0:
                cut = TEXT_BLOCK_CHARS - 1
            yield emit(buffer[: cut + 1])
            buffer = buffer[cut + 1 :]
    if buffer:
        yield emit(buffer)


def _text_page(text: str, offset: int, heading: str | None, markdown: bool) -> PageText:
    headings: list[tuple[int, str]] = []
    if markdown:
        headings = [(m.start(), m.group(2).strip()) for m in _ATX_HEADING.finditer(text)]
        headings += [(m.start(), m.group(1).strip()) for m in _SETEXT_HEADING.finditer(text)]
        headings.sort()
    return PageText(None, _clean(text), offset, headings, heading)


# --- HTML ------------------------------------------------------------------------------------------

_PARAGRAPH_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dl",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "title",
        "ul",
        "details",
        "fieldset",
    ]
)
_LINE_TAGS = frozenset(
    ["br", "caption", "dd", "div", "dt", "figcaption", "li", "summary", "td", "th", "tr"]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class _TextBuilder:
    """Collects text with collapsed spaces and at most one blank line between blocks, so heading
    positions recorded while building stay exact in the result."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.newlines = 2  # as if after a blank line: no break before the first text

    def text(self, piece: str) -> None:
        piece = re.sub(r"\s+", " ", piece)
        if self.newlines or self.parts and self.parts[-1].endswith(" "):
            piece = piece.lstrip(" ")
        if piece:
            self._add(piece)
            self.newlines = 0

    def raw(self, piece: str) -> None:
        if piece:
            self._add(piece)
            self.newlines = len(piece) - len(piece.rstrip("\n"))

    def brk(self, count: int) -> None:
        if self.parts and self.parts[-1].endswith(" "):
            self.parts[-1] = self.parts[-1].rstrip(" ")
            self.length = sum(len(p) for p in self.parts)
        if self.newlines < count:
            self._add("\n" * (count - self.newlines))
            self.newlines = count

    def _add(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)

    def result(self) -> str:
        return "".join(self.parts).rstrip()


def _html_text(path: Path) -> PageText:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import Comment, Doctype, ProcessingInstruction

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    out = _TextBuilder()
    headings: list[tuple[int, str]] = []
    if soup.title and soup.title.get_text(strip=True):
        out.text(soup.title.get_text(" ", strip=True))
        out.brk(2)
    # Depth-first walk with an explicit stack: deep HTML never hits the recursion limit.
    # An int on the stack is the line break count to emit when a block closes.
    stack: list[object] = [soup.body or soup]
    while stack:
        node = stack.pop()
        if isinstance(node, int):
            out.brk(node)
            continue
        if isinstance(node, (Comment, Doctype, ProcessingInstruction)):
            continue
        if isinstance(node, NavigableString):
            out.text(str(node))
            continue
        if not isinstance(node, Tag) or node.name in _SKIP_TAGS:
            continue
        breaks = 2 if node.name in _PARAGRAPH_TAGS else 1 if node.name in _LINE_TAGS else 0
        if breaks:
            out.brk(breaks)
            stack.append(breaks)
        if node.name in _HEADING_TAGS:
            title = node.get_text(" ", strip=True)
            if title:
                headings.append((out.length, title))
        if node.name == "pre":
            out.raw(node.get_text())
            continue
        stack.extend(reversed(list(node.children)))
    return PageText(None, out.result(), 0, headings, None)


def document_text(path: Path, max_chars: int) -> str | None:
    """The file's text, pages joined; None when it is longer than `max_chars`.

    Raises:
        FileProblem, or the reader's own error (PyMuPDF raises several types), for a file that
        cannot be read.
    """
    parts: list[str] = []
    size = 0
    for page in open_document(path).pages():
        parts.append(page.text)
        size += len(page.text)
        if size > max_chars:
            return None
    return "\n\n".join(part.strip() for part in parts if part.strip())
