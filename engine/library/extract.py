"""Text out of documents, one page (or one block, for formats without pages) at a time.

PDF, EPUB and XPS go through PyMuPDF page by page, pages numbered from 1 as a viewer shows them.
TXT/Markdown are read in blocks so a huge file never sits in memory whole; HTML and DOCX are parsed
whole (their text is small next to the file). Problems become a `FileProblem` with a per-file status.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.library.types import DAMAGED, EMPTY, ENCRYPTED, UNREADABLE, VANISHED, FileProblem

PAGED_SUFFIXES = frozenset({".pdf", ".epub", ".xps", ".oxps"})
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".rst"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
DOCX_SUFFIXES = frozenset({".docx"})
SUPPORTED_SUFFIXES = PAGED_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | DOCX_SUFFIXES

# Text files are read in blocks of about this many characters, cut at a line break.
TEXT_BLOCK_CHARS = 200_000


@dataclass
class PageText:
    """The text of one page (or one block of a page-less file).

    Attributes:
        page: 1-based page number, or None for formats without pages.
        text: The text, tags and layout removed, lines kept.
        offset: Where `text` starts in the whole document's text (page-less formats; 0 for pages).
        headings: (position in `text`, title) for each heading that starts in this text.
        heading_before: The heading in force where this text starts, if any.
    """

    page: int | None
    text: str
    offset: int = 0
    headings: list[tuple[int, str]] = field(default_factory=list)
    heading_before: str | None = None


class Extraction:
    """An opened document. Iterate `pages()`; `page_count` is None where unknown in advance."""

    def __init__(self, kind: str, page_count: int | None, pages: Iterator[PageText]) -> None:
        self.kind = kind
        self.page_count = page_count
        self._pages = pages

    def pages(self) -> Iterator[PageText]:
        return self._pages

    @property
    def paged(self) -> bool:
        return self.page_count is not None


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def open_document(path: Path) -> Extraction:
    """Open `path` for extraction.

    Raises:
        FileProblem: encrypted, damaged, empty, unreadable or vanished file.
    """
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise FileProblem(VANISHED, "the file is no longer there") from exc
    except OSError as exc:
        raise FileProblem(UNREADABLE, f"cannot read this file ({exc.strerror})") from exc
    if size == 0:
        raise FileProblem(EMPTY, "empty file")
    _check_readable(path)
    if suffix in PAGED_SUFFIXES:
        return _open_paged(path)
    if suffix in TEXT_SUFFIXES:
        is_markdown = suffix in {".md", ".markdown"}
        encoding = _sniff_encoding(path)
        return Extraction("text", None, _text_blocks(path, encoding, is_markdown))
    if suffix in HTML_SUFFIXES:
        return Extraction("html", None, iter([_html_text(path)]))
    return Extraction("docx", None, iter([_docx_text(path)]))


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError as exc:
        raise FileProblem(VANISHED, "the file is no longer there") from exc
    except IsADirectoryError as exc:
        raise FileProblem(UNREADABLE, "this is a folder, not a file") from exc
    except OSError as exc:
        raise FileProblem(UNREADABLE, f"cannot read this file ({exc.strerror})") from exc


# --- PDF, EPUB, XPS -------------------------------------------------------------------------------


def _open_paged(path: Path) -> Extraction:
    import pymupdf

    # MuPDF prints repair notes for damaged files on stderr; we report per file instead.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        doc = pymupdf.open(path)
    except Exception as exc:  # MuPDF raises FileDataError, RuntimeError, ValueError...
        raise FileProblem(
            DAMAGED, f"damaged or not a valid {path.suffix[1:].upper()} file"
        ) from exc
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
    return Extraction(path.suffix.lower()[1:], page_count, _pymupdf_pages(doc))


def _pymupdf_pages(doc) -> Iterator[PageText]:
    import pymupdf

    # Ligatures expanded and hyphenated line ends joined, so "ﬁle" and "docu-\nment" are searchable.
    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_DEHYPHENATE
    try:
        toc = _toc_by_page(doc)
        heading: str | None = None
        for index in range(doc.page_count):
            try:
                page = doc.load_page(index)
                text = _clean(page.get_text("text", flags=flags))
                titles = toc.get(index + 1, []) if toc else _large_font_lines(page, flags)
            except Exception:
                # One unreadable page of a damaged file: keep the others.
                text, titles = "", []
            headings = _locate(text, titles)
            yield PageText(index + 1, text, 0, headings, heading)
            if titles:
                heading = titles[-1]
    finally:
        doc.close()


def _toc_by_page(doc) -> dict[int, list[str]]:
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


def _large_font_lines(page, flags: int) -> list[str]:
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


def _locate(text: str, titles: list[str]) -> list[tuple[int, str]]:
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


def _clean(text: str) -> str:
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


# --- Plain text and Markdown ----------------------------------------------------------------------

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_SETEXT_HEADING = re.compile(r"^([^\n]*\S[^\n]*)\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)


def _text_blocks(path: Path, encoding: str, markdown: bool) -> Iterator[PageText]:
    offset = 0
    heading: str | None = None
    carry = ""
    with path.open("r", encoding=encoding, errors="replace", newline=None) as handle:
        while True:
            data = handle.read(TEXT_BLOCK_CHARS - len(carry))
            block = carry + data
            if not data:
                if block:
                    yield _text_page(block, offset, heading, markdown)
                return
            # Cut after the last line break (else the last space) so no word straddles two
            # blocks; a block with neither is cut where it ends, keeping memory bounded.
            cut = block.rfind("\n")
            if cut < 0:
                cut = max(block.rfind(" "), block.rfind("\t"))
            if cut < 0:
                cut = len(block) - 1
            carry = block[cut + 1 :]
            page = _text_page(block[: cut + 1], offset, heading, markdown)
            yield page
            if page.headings:
                heading = page.headings[-1][1]
            offset += cut + 1


def _text_page(text: str, offset: int, heading: str | None, markdown: bool) -> PageText:
    headings: list[tuple[int, str]] = []
    if markdown:
        headings = [(m.start(), m.group(2).strip()) for m in _ATX_HEADING.finditer(text)]
        headings += [(m.start(), m.group(1).strip()) for m in _SETEXT_HEADING.finditer(text)]
        headings.sort()
    return PageText(None, _clean(text), offset, headings, heading)


def _sniff_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(65536)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(DAMAGED, "not a text file (binary data)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 64 KiB read is still UTF-8.
        if exc.start >= len(head) - 3:
            return "utf-8-sig"
        return "cp1252"


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


# --- DOCX ------------------------------------------------------------------------------------------


def _docx_text(path: Path) -> PageText:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zipfile.BadZipFile, KeyError, PackageNotFoundError...
        raise FileProblem(
            DAMAGED, "damaged or password-protected Word file, cannot be read"
        ) from exc
    parts: list[str] = []
    headings: list[tuple[int, str]] = []
    length = 0
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            lines = [" | ".join(_unique_cells(row.cells)) for row in item.rows]
            block = "\n".join(line for line in lines if line.strip())
        else:
            block = item.text
            style = (item.style.name if item.style is not None else "") or ""
            if block.strip() and (style.startswith("Heading") or style == "Title"):
                headings.append((length, block.strip()))
        if block.strip():
            parts.append(block + "\n\n")
            length += len(block) + 2
    return PageText(None, "".join(parts).rstrip(), 0, headings, None)


def _unique_cells(cells) -> list[str]:
    # Merged cells repeat the same cell object across the span; keep each once.
    seen: list[object] = []
    texts: list[str] = []
    for cell in cells:
        if any(cell._tc is other for other in seen):
            continue
        seen.append(cell._tc)
        texts.append(cell.text.strip())
    return texts


def document_text(path: Path, max_chars: int) -> str | None:
    """The file's text, pages joined; None when it is longer than `max_chars` (or unreadable)."""
    parts: list[str] = []
    size = 0
    for page in open_document(path).pages():
        parts.append(page.text)
        size += len(page.text)
        if size > max_chars:
            return None
    return "\n\n".join(part.strip() for part in parts if part.strip())
