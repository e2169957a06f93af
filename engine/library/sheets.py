"""Text of slides and tables: PowerPoint (python-pptx), Excel workbooks (openpyxl) and CSV (csv).

Each slide is a page (its number is what a citation shows: "slide 3"); its text frames, tables,
grouped shapes and speaker notes are read top to bottom. A worksheet or CSV file is read row by
row, one line per row with cells joined by " | "; each line's row number is recorded so a
chunk can be cited as "sheet Budget, rows 12-40". Values are read as shown (formulas'
cached results, not the formulas).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.library.document import Extraction, PageText
from engine.library.types import DAMAGED, FileProblem

# Rows per PageText: a huge sheet is streamed in pieces, never held whole.
ROWS_PER_BLOCK = 2000


def pptx_extraction(path: Path):
    """Slides as pages.

    Raises:
        FileProblem: DAMAGED for a file that is not a readable PowerPoint package.
    """
    from pptx import Presentation

    try:
        presentation = Presentation(str(path))
        slides = list(presentation.slides)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, PackageNotFoundError...
        raise FileProblem(DAMAGED, "damaged PowerPoint file, cannot be read") from exc
    if not slides:
        raise FileProblem(DAMAGED, "a presentation without slides")
    return Extraction("pptx", len(slides), _slides(slides))


def _slides(slides: list[Any]) -> Iterator:

    for number, slide in enumerate(slides, start=1):
        lines: list[str] = []
        title = None
        if slide.shapes.title is not None and slide.shapes.title.has_text_frame:
            title = " ".join(slide.shapes.title.text_frame.text.split()) or None
        for shape in sorted(slide.shapes, key=_position):
            lines.extend(_shape_lines(shape))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append("Notes: " + notes.text.strip())
        text = "\n".join(line for line in lines if line.strip())
        headings = [(max(0, text.find(title)), title)] if title and text else []
        page = PageText(number, text, 0, headings, None)
        page.location = f"slide {number}"
        yield page


def _position(shape: Any) -> tuple[int, int]:
    return (shape.top or 0, shape.left or 0)


def _shape_lines(shape: Any) -> list[str]:
    lines: list[str] = []
    if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
        for inner in sorted(shape.shapes, key=_position):  # a group
            lines.extend(_shape_lines(inner))
        return lines
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        lines.extend(p.text for p in shape.text_frame.paragraphs if p.text.strip())
    if getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            cells = [" ".join(cell.text.split()) for cell in row.cells]
            line = " | ".join(cell for cell in cells if cell)
            if line:
                lines.append(line)
    return lines


def xlsx_extraction(path: Path):
    """Worksheets row by row.

    Raises:
        FileProblem: DAMAGED for a file that is not a readable workbook.
    """
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileProblem(
            DAMAGED, "damaged or password-protected workbook, cannot be read"
        ) from exc
    except Exception as exc:  # openpyxl raises its own InvalidFileException and others
        raise FileProblem(DAMAGED, "damaged workbook, cannot be read") from exc
    return Extraction("xlsx", None, _workbook_blocks(workbook))


def _workbook_blocks(workbook: Any) -> Iterator:
    offset = 0
    try:
        for sheet in workbook.worksheets:
            rows = (
                (number, [_cell_text(value) for value in values])
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            )
            for page in _row_blocks(rows, offset, f"sheet {sheet.title}", sheet.title):
                offset = page.offset + len(page.text) + 1
                yield page
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def csv_extraction(path: Path):
    """A CSV (or TSV) file row by row, in its own encoding and dialect."""
    from engine.library.textfile import detect_encoding, read_blocks

    encoding = detect_encoding(path)
    text = "".join(read_blocks(path, encoding, 1 << 20))
    sample = text[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = ((number, row) for number, row in enumerate(reader, start=1))
    extraction = Extraction("csv", None, _row_blocks(rows, 0, None, None))
    extraction.note = encoding.note
    return extraction


def _row_blocks(rows, offset: int, location: str | None, heading: str | None) -> Iterator:
    """PageTexts of up to ROWS_PER_BLOCK non-empty rows, each line's row number recorded."""

    lines: list[str] = []
    marks: list[tuple[int, int]] = []
    length = 0
    for number, cells in rows:
        line = " | ".join(cell for cell in (" ".join(str(c).split()) for c in cells) if cell)
        if not line:
            continue
        marks.append((length, number))
        lines.append(line)
        length += len(line) + 1
        if len(lines) >= ROWS_PER_BLOCK:
            yield _block(PageText, lines, marks, offset, location, heading)
            offset += length
            lines, marks, length = [], [], 0
    if lines:
        yield _block(PageText, lines, marks, offset, location, heading)


def _block(page_type: Any, lines, marks, offset: int, location: str | None, heading: str | None):
    page = page_type(None, "\n".join(lines), offset, [], heading)
    page.location = location
    page.rows = marks
    return page
