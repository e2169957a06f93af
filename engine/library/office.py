"""Text of word-processor files: Word (.docx) and OpenDocument text (.odt), every part, in order.

python-docx's paragraph and table lists see only the body's top level, so text in a nested
table, a content control, a tracked insertion or a text box, and the footnotes, endnotes,
headers, footers and comments, were lost. Here the package's XML is walked element by element
in document order instead: runs inside hyperlinks, content controls, insertions, smart tags and
fields are read where they stand; deleted text is left out; a text box is read once (Word keeps
a fallback copy of it for old readers); tables read row by row, cells joined by " | ". Then come
the footnotes, endnotes, headers and footers (each distinct one once) and the comments, marked
as comments.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.library.document import PageText
from engine.library.types import DAMAGED, FileProblem

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_REL_PREFIX = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


# Subtrees whose text is not the document's: deletions, moved-away text, the old-reader copy
# of a text box, field codes, and the bodies of notes and comments (read in their own parts).
_SKIP = frozenset(
    {
        _w("del"),
        _w("moveFrom"),
        _w("instrText"),
        _w("delInstrText"),
        f"{{{_MC}}}Fallback",
        _w("rPr"),
        _w("pPr"),
        _w("sectPr"),
    }
)


class _Builder:
    """Text with paragraph breaks, heading positions recorded as it grows."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[tuple[int, str]] = []

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.length += len(text)

    def end_block(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n\n"):
            self.add("\n\n" if not self.parts[-1].endswith("\n") else "\n")

    def result(self) -> str:
        return "".join(self.parts).rstrip()


class _WordWalker:
    def __init__(self, heading_styles: set[str]) -> None:
        self.heading_styles = heading_styles

    def block(self, element: Any, out: _Builder) -> None:
        """Paragraphs and tables under `element`, in order."""
        for child in element.iterchildren():
            tag = child.tag
            if tag in _SKIP or not isinstance(tag, str):
                continue
            if tag == _w("p"):
                self.paragraph(child, out)
            elif tag == _w("tbl"):
                self.table(child, out)
            else:  # content controls, custom XML, insertions around whole paragraphs
                self.block(child, out)

    def paragraph(self, element: Any, out: _Builder) -> None:
        pieces: list[str] = []
        boxes: list[Any] = []
        self._runs(element, pieces, boxes)
        text = "".join(pieces).strip()
        if text:
            if self._style(element) in self.heading_styles:
                out.headings.append((out.length, " ".join(text.split())))
            out.add(text)
            out.end_block()
        for box in boxes:  # text boxes anchored in this paragraph, after its own text
            self.block(box, out)

    def _runs(self, element: Any, pieces: list[str], boxes: list[Any]) -> None:
        for child in element.iterchildren():
            tag = child.tag
            if tag in _SKIP or not isinstance(tag, str):
                continue
            if tag == _w("t"):
                pieces.append(child.text or "")
            elif tag == _w("tab"):
                pieces.append("\t")
            elif tag in (_w("br"), _w("cr")):
                pieces.append("\n")
            elif tag == _w("noBreakHyphen"):
                pieces.append("-")
            elif tag == _w("txbxContent"):
                boxes.append(child)
            elif tag in (_w("footnoteReference"), _w("endnoteReference")):
                pieces.append(f"[{child.get(_w('id'), '')}]")
            else:  # runs, hyperlinks, insertions, smart tags, fields, drawings, AlternateContent
                self._runs(child, pieces, boxes)

    def table(self, element: Any, out: _Builder) -> None:
        for row in element.iterchildren(_w("tr")):
            cells: list[str] = []
            nested: list[Any] = []
            for cell in _cells(row):
                inner = _Builder()
                for child in cell.iterchildren():
                    if child.tag == _w("tbl"):
                        nested.append(child)
                    elif child.tag not in _SKIP:
                        self.block_one(child, inner)
                cells.append(" ".join(inner.result().split()))
            line = " | ".join(cell for cell in cells if cell)
            if line:
                out.add(line)
                out.add("\n")
            for table in nested:  # a table inside a cell, read after the row that holds it
                self.table(table, out)
        out.end_block()

    def block_one(self, child: Any, out: _Builder) -> None:
        if child.tag == _w("p"):
            self.paragraph(child, out)
        elif child.tag == _w("tbl"):
            self.table(child, out)
        else:
            self.block(child, out)

    @staticmethod
    def _style(paragraph: Any) -> str:
        properties = paragraph.find(_w("pPr"))
        style = properties.find(_w("pStyle")) if properties is not None else None
        return style.get(_w("val"), "") if style is not None else ""


def _cells(row: Any) -> Iterable[Any]:
    """The row's cells, also those wrapped in content controls."""
    for child in row.iterchildren():
        if child.tag == _w("tc"):
            yield child
        elif child.tag == _w("sdt"):
            content = child.find(_w("sdtContent"))
            if content is not None:
                yield from _cells(content)


def docx_text(path: Path):
    """The whole text of a Word file as one `PageText`, headings located.

    Raises:
        FileProblem: DAMAGED for a file that is not a readable Word package.
    """
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zipfile.BadZipFile, KeyError, PackageNotFoundError...
        raise FileProblem(
            DAMAGED, "damaged or password-protected Word file, cannot be read"
        ) from exc
    heading_styles = {
        style.style_id
        for style in document.styles
        if style.name and (style.name.startswith("Heading") or style.name == "Title")
    }
    # A file without a styles part still names its headings by their built-in style ids.
    walker = _WordWalker(heading_styles | {f"Heading{level}" for level in range(1, 10)} | {"Title"})
    out = _Builder()
    walker.block(document.element.body, out)
    seen: set[str] = set()
    related = list(document.part.rels.values())
    for kind, title in (("footnotes", "Footnotes"), ("endnotes", "Endnotes")):
        for rel in related:
            if rel.reltype == _REL_PREFIX + kind and not rel.is_external:
                _notes(rel.target_part, title, walker, out)
    for kind in ("header", "footer"):
        for rel in related:
            if rel.reltype == _REL_PREFIX + kind and not rel.is_external:
                part = rel.target_part
                if part.partname in seen:
                    continue
                seen.add(part.partname)
                walker.block(_xml(part), out)
    for rel in related:
        if rel.reltype == _REL_PREFIX + "comments" and not rel.is_external:
            _comments(rel.target_part, walker, out)
    return PageText(None, out.result(), 0, out.headings, None)


def _xml(part: Any) -> Any:
    element = getattr(part, "element", None)
    if element is None:
        element = getattr(part, "_element", None)
    if element is not None:
        return element
    from lxml import etree

    return etree.fromstring(part.blob)


def _notes(part: Any, title: str, walker: _WordWalker, out: _Builder) -> None:
    root = _xml(part)
    notes = [note for note in root if note.get(_w("type")) in (None, "normal")]
    bodies: list[tuple[str, _Builder]] = []
    for note in notes:
        inner = _Builder()
        walker.block(note, inner)
        if inner.result():
            bodies.append((note.get(_w("id"), ""), inner))
    if not bodies:
        return
    out.add(title)
    out.end_block()
    for number, inner in bodies:
        out.add(f"[{number}] {inner.result()}")
        out.end_block()


def _comments(part: Any, walker: _WordWalker, out: _Builder) -> None:
    for comment in _xml(part).iterchildren(_w("comment")):
        inner = _Builder()
        walker.block(comment, inner)
        text = " ".join(inner.result().split())
        if text:
            author = comment.get(_w("author"))
            out.add(f"Comment ({author}): {text}" if author else f"Comment: {text}")
            out.end_block()


# --- OpenDocument text -----------------------------------------------------------------------------

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def odt_text(path: Path):
    """The whole text of an OpenDocument text file as one `PageText`: headings, paragraphs,
    lists, tables (cells joined by " | "), footnotes where they are anchored, tracked deletions
    left out.

    Raises:
        FileProblem: DAMAGED for a file that is not a readable OpenDocument package.
    """
    from lxml import etree

    try:
        with zipfile.ZipFile(path) as archive:
            root = etree.fromstring(archive.read("content.xml"))
    except (zipfile.BadZipFile, KeyError, OSError, etree.XMLSyntaxError) as exc:
        raise FileProblem(DAMAGED, "damaged OpenDocument file, cannot be read") from exc
    body = root.find(f"{{{_OFFICE}}}body")
    out = _Builder()
    if body is not None:
        _odf_block(body, out)
    return PageText(None, out.result(), 0, out.headings, None)


def _odf_block(element: Any, out: _Builder) -> None:
    for child in element.iterchildren():
        tag = child.tag
        if not isinstance(tag, str) or tag == f"{{{_TEXT}}}tracked-changes":
            continue
        if tag in (f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"):
            text = " ".join(_odf_inline(child).split(" ")).strip()
            if text:
                if tag == f"{{{_TEXT}}}h":
                    out.headings.append((out.length, " ".join(text.split())))
                out.add(text)
                out.end_block()
        elif tag == f"{{{_TABLE}}}table":
            for row in child.iter(f"{{{_TABLE}}}table-row"):
                cells = []
                for cell in row.iterchildren(f"{{{_TABLE}}}table-cell"):
                    inner = _Builder()
                    _odf_block(cell, inner)
                    cells.append(" ".join(inner.result().split()))
                line = " | ".join(cell for cell in cells if cell)
                if line:
                    out.add(line + "\n")
            out.end_block()
        else:
            _odf_block(child, out)


def _odf_inline(element: Any) -> str:
    pieces: list[str] = [element.text or ""]
    for child in element.iterchildren():
        tag = child.tag
        if isinstance(tag, str):
            if tag == f"{{{_TEXT}}}s":
                pieces.append(" " * int(child.get(f"{{{_TEXT}}}c", "1")))
            elif tag == f"{{{_TEXT}}}tab":
                pieces.append("\t")
            elif tag == f"{{{_TEXT}}}line-break":
                pieces.append("\n")
            elif tag == f"{{{_TEXT}}}note":
                citation = child.find(f"{{{_TEXT}}}note-citation")
                body = child.find(f"{{{_TEXT}}}note-body")
                mark = citation.text if citation is not None and citation.text else ""
                inner = _Builder()
                if body is not None:
                    _odf_block(body, inner)
                pieces.append(f" [{mark}: {' '.join(inner.result().split())}]")
            elif tag == f"{{{_TEXT}}}change":
                pass  # a marker for a deletion recorded in tracked-changes: its text is gone
            else:
                pieces.append(_odf_inline(child))
        pieces.append(child.tail or "")
    return "".join(pieces)
