"""The documents panel's words read whole: a status's reason wraps in its narrow column only
between words and is shortened after a whole word, and the header says how many of the pages it
counts cannot be read (a damaged PDF indexed from the pages that read)."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from engine.library.document import Extraction
from engine.library.indexer import file_note
from engine.library.paged import UNREADABLE_PAGE
from ui.documents_model import STATUS, FileRow, status_colours, text_margin
from ui.documents_panel import DocumentsPanel

FOLDER = "/home/ana/proj"
DAMAGE = file_note(Extraction("pdf", 30, iter(())), 30, 4, {UNREADABLE_PAGE: 4}, 0) or ""
# Every kind of status text the status column draws, with the reason or note under it.
ROWS = (
    FileRow(f"{FOLDER}/photos.zip", "skipped", "unsupported file type (.zip)"),
    FileRow(
        f"{FOLDER}/old.docx", "failed", "damaged or password-protected Word file, cannot be read"
    ),
    FileRow(f"{FOLDER}/broken.pdf", "failed", "damaged file, its pages cannot be read"),
    FileRow(f"{FOLDER}/bird-log.pdf", "indexed", DAMAGE, pages=30, chunks=20),
    FileRow(f"{FOLDER}/scan.pdf", "indexed", "4 of 12 pages read by OCR", pages=12, chunks=9),
    FileRow(f"{FOLDER}/big.pdf", "indexing", fraction=0.4),
)


class RecordingPainter(QPainter):
    """Paints on an image as any painter does, and keeps each text drawn, with its box and pen."""

    def __init__(self, image: QImage) -> None:
        super().__init__(image)
        self.drawn: list[tuple[str, QRect, str]] = []

    def drawText(self, *args):  # noqa: N802 (Qt's name)
        box, text = args[0], args[-1]
        self.drawn.append((text, QRect(box.toRect() if hasattr(box, "toRect") else box),
                           self.pen().color().name()))  # fmt: skip
        super().drawText(*args)


def _drawn(panel: DocumentsPanel, row: int) -> list[tuple[str, QRect, str]]:
    """What the status delegate draws for `row`'s status cell as the table shows it now."""
    table = panel.table
    index = panel.model.index(row, STATUS)
    option = QStyleOptionViewItem()
    option.rect = table.visualRect(index)
    option.font = table.font()
    option.palette = table.palette()
    option.widget = table
    option.state = QStyle.StateFlag.State_Enabled
    image = QImage(table.viewport().size(), QImage.Format.Format_ARGB32)
    painter = RecordingPainter(image)
    try:
        table.itemDelegateForColumn(STATUS).paint(painter, option, index)
    finally:
        painter.end()
    return painter.drawn


def _words(text: str) -> list[str]:
    """The words of `text` as a line may hold them (a line may also end after a hyphen)."""
    return [word for word in re.split(r"\s+|(?<=-)", text) if word]


def _assert_broken_between_words(note: str, lines: list[str]) -> None:
    """Each line holds whole words of `note` in order, the last one may end in "…" after one."""
    words, at = _words(note), 0
    for number, line in enumerate(lines):
        ended = line.endswith("…")
        shown = _words(line.removesuffix("…"))
        assert shown, f"line {number + 1} has no whole word: {lines}"
        expected = words[at : at + len(shown)]
        if ended:  # the punctuation before the "…" may be left out
            expected[-1:] = [expected[-1].rstrip(",;:")] if expected else []
            assert number == len(lines) - 1, f"only the last line is shortened: {lines}"
        assert shown == expected, f"{lines} breaks inside a word of {note!r}"
        at += len(shown)
    assert at == len(words) or lines[-1].endswith("…"), f"{lines} leaves out words silently"


@pytest.mark.parametrize("points", [0, 13])  # 0: the default font; 13: a large one
@pytest.mark.parametrize("width", [300, 340, 400, 520])
def test_status_reasons_wrap_only_between_words_in_a_narrow_column(qtbot, width, points):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    if points:  # a word of a reason wider than the narrowest column
        font = panel.table.font()
        font.setPointSize(points)
        panel.table.setFont(font)
    for row in ROWS:
        panel.update_file_row(row)
    panel.resize(width, 700)
    panel.show()
    qtbot.wait_exposed(panel)
    table = panel.table
    one_line = table.verticalHeader().defaultSectionSize()
    qtbot.wait_until(lambda: table.rowHeight(0) > one_line, timeout=5000)
    metrics = QFontMetrics(table.font())
    room = table.columnWidth(STATUS) - 2 * text_margin(table)
    colours = status_colours()
    for number, row in enumerate(ROWS):
        drawn = _drawn(panel, number)
        cell = table.visualRect(panel.model.index(number, STATUS))
        for text, box, _pen in drawn:
            assert metrics.horizontalAdvance(text) <= min(box.width(), room), f"{text!r} is cut"
            assert cell.top() <= box.top() and box.bottom() <= cell.bottom(), f"{text!r} is cut"
        if row.indexing:
            assert [text for text, _box, _pen in drawn] == ["40%"]
            continue
        (word, _box, pen), *under = drawn
        assert word == row.status and pen == QColor(colours[row.status]).name()
        _assert_broken_between_words(row.note, [text for text, _box, _pen in under])
        assert {pen for _text, _box, pen in under} == {QColor(colours[row.note_tone]).name()}
    # The example seen: the reason of a skipped .zip reads in whole words, and all of it is in
    # the tooltip.
    skipped = [text for text, _box, _pen in _drawn(panel, 0)[1:]]
    assert not any(re.search(r"unsupporte($|…)|^d ", line) for line in skipped), skipped
    tip = panel.model.index(0, STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "unsupported file type (.zip)"


def test_a_shortened_reason_ends_after_a_whole_word(qtbot):
    from ui.documents_model import note_lines

    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    font, metrics = panel.table.font(), panel.table.fontMetrics()
    widest = max(metrics.horizontalAdvance(word) for word in _words(DAMAGE))
    for width in range(widest + metrics.horizontalAdvance("…"), widest + 200, 7):
        lines = note_lines(DAMAGE, font, width)
        assert 1 <= len(lines) <= 2 and lines[-1].endswith("…"), (width, lines)
        assert all(metrics.horizontalAdvance(line) <= width for line in lines), (width, lines)
        _assert_broken_between_words(DAMAGE, lines)


def test_the_header_counts_the_pages_that_cannot_be_read(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    assert DAMAGE.startswith("damaged: 4 of 30 pages cannot be read")
    panel.update_file_row(FileRow(f"{FOLDER}/bird-log.pdf", "indexed", DAMAGE, 30, 20))
    assert panel.summary.text().startswith("1 file · 30 pages (4 unreadable) · 20 passages.")
    # A file read whole says nothing of unreadable pages; a failed file's reason is no count.
    panel.update_file_row(FileRow(f"{FOLDER}/scan.pdf", "indexed", "4 of 12 pages read by OCR",
                                  12, 9))  # fmt: skip
    panel.update_file_row(FileRow(f"{FOLDER}/broken.pdf", "failed", DAMAGE))
    assert panel.summary.text().startswith("3 files · 42 pages (4 unreadable) · 29 passages.")
    panel.set_file_rows([FileRow(f"{FOLDER}/scan.pdf", "indexed", "4 of 12 pages read by OCR",
                                 12, 9)])  # fmt: skip
    assert panel.summary.text().startswith("1 file · 12 pages · 9 passages.")
    # A file whose list of pages was lost counts the pages found: none of them is unreadable.
    found = file_note(_found_pdf(), 12, 2, {UNREADABLE_PAGE: 2}, 0) or ""
    panel.set_file_rows([FileRow(f"{FOLDER}/cut.pdf", "indexed", found, 12, 10)])
    assert panel.summary.text().startswith("1 file · 12 pages · 10 passages.")


def _found_pdf() -> Extraction:
    extraction = Extraction("pdf", 12, iter(()))
    extraction.pages_found = True
    return extraction
