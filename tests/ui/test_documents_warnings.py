"""A file indexed with a warning (damaged pages, pages with no readable text, bytes that could not
be decoded): its note reads in the appearance's amber under the green "indexed", on at most two
lines (all of it in the tooltip), and the notice after the run names the warning. A note of plain
information (pages read by OCR) stays muted and out of the notice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.paths import styles_dir
from engine.library.types import INDEXED, FileOutcome, IndexReport
from ui.documents_model import NOTE_LINES, STATUS, STATUS_COLOURS, FileRow
from ui.documents_panel import DocumentsPanel
from ui.theme import apply_theme

CUT = "/docs/cut.pdf"
DAMAGED = (
    "damaged: 10 of 30 pages cannot be read (the file is cut short or damaged); "
    "the other 20 are searchable"
)
SCAN = "/docs/scan.pdf"
OCR = "12 of 12 pages read by OCR"
BROKEN = "/docs/broken.pdf"
NOT_INSTALLED = "scanned, no text to index (OCR is not installed)"


def _count(image: QImage, area: QRect, colour: str, tolerance: int = 40) -> int:
    """Pixels of `area` within `tolerance` (per channel) of `colour`."""
    want = QColor(colour)
    area = area.intersected(image.rect())
    near = 0
    for x in range(area.left(), area.right() + 1):
        for y in range(area.top(), area.bottom() + 1):
            pixel = image.pixelColor(x, y)
            near += all(abs(a - b) <= tolerance for a, b in
                        ((pixel.red(), want.red()), (pixel.green(), want.green()),
                         (pixel.blue(), want.blue())))  # fmt: skip
    return near


def _panel(qtbot, theme: str) -> DocumentsPanel:
    apply_theme(QApplication.instance(), theme, styles_dir())
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow(CUT, "indexed", DAMAGED, 30, 20))
    panel.update_file_row(FileRow(SCAN, "indexed", OCR, 12, 30))
    panel.update_file_row(FileRow(BROKEN, "failed", NOT_INSTALLED))
    panel.resize(340, 480)  # as narrow as the window's panel: the status column is narrow too
    panel.show()
    qtbot.wait_exposed(panel)
    one_line = panel.table.verticalHeader().defaultSectionSize()
    qtbot.wait_until(lambda: panel.table.rowHeight(0) > one_line, timeout=5000)
    return panel


def _note_area(panel: DocumentsPanel, path: str) -> QRect:
    """The status cell of `path` below its first line (the status word)."""
    cell = panel.table.visualRect(panel.model.index(panel.row_of(path), STATUS))
    one_line = panel.table.verticalHeader().defaultSectionSize()
    return cell.adjusted(0, one_line - 2, 0, 0)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_warning_reads_in_amber_and_plain_information_stays_muted(qtbot, theme):
    colours = STATUS_COLOURS[theme]
    try:
        panel = _panel(qtbot, theme)
        image = panel.table.viewport().grab().toImage()
        if os.environ.get("HEARTH_SCREENS_DIR"):
            folder = Path(os.environ["HEARTH_SCREENS_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            panel.grab().save(str(folder / f"documents-warnings-{theme}.png"))
        cut = panel.table.visualRect(panel.model.index(panel.row_of(CUT), STATUS))
        word = QRect(cut.left(), cut.top(), cut.width(), panel.table.verticalHeader()
                     .defaultSectionSize())  # fmt: skip
        # The file is indexed (its word stays green); its damage is not a success.
        assert _count(image, word, colours["indexed"]) > 5
        note = _note_area(panel, CUT)
        # Before: the whole note in the green of "indexed".
        assert _count(image, note, colours["warning"]) > 20
        assert _count(image, note, colours["indexed"], tolerance=20) == 0
        # Pages read by OCR are no loss: muted, neither amber nor green.
        ocr = _note_area(panel, SCAN)
        assert _count(image, ocr, colours["information"], tolerance=20) > 10
        assert _count(image, ocr, colours["warning"], tolerance=20) == 0
        assert _count(image, ocr, colours["indexed"], tolerance=20) == 0
        # A failure's reason stays in its red.
        assert _count(image, _note_area(panel, BROKEN), colours["failed"]) > 20
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())


def test_a_long_note_takes_two_lines_and_its_tooltip_holds_all_of_it(qtbot):
    try:
        panel = _panel(qtbot, "light")
        table = panel.table
        one_line = table.verticalHeader().defaultSectionSize()
        most = one_line + NOTE_LINES * table.fontMetrics().lineSpacing()
        # Before: the damage note wrapped onto twelve lines of a narrow column.
        for path in (CUT, BROKEN):
            assert one_line < table.rowHeight(panel.row_of(path)) <= most, path
        tip = panel.model.index(panel.row_of(CUT), STATUS).data(Qt.ItemDataRole.ToolTipRole)
        assert tip == DAMAGED
        assert panel.status_of(CUT) == f"indexed: {DAMAGED}"
        # Wider, the same note needs fewer lines, never more than two.
        panel.resize(1200, 480)
        qtbot.wait_until(lambda: table.rowHeight(panel.row_of(SCAN)) == one_line + table
                         .fontMetrics().lineSpacing(), timeout=5000)  # fmt: skip
        assert table.rowHeight(panel.row_of(CUT)) <= most
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())


def _finish(fake_app, outcomes: list[FileOutcome]) -> str:
    fake_app.controller.current.ensure()
    library = fake_app.conversation.library_name
    fake_app.controller.documents.on_index_finished(library, IndexReport(library, outcomes))
    return fake_app.window.notice.label.text()


def test_the_notice_after_indexing_names_the_damaged_pages(fake_app):
    text = _finish(fake_app, [
        FileOutcome(CUT, INDEXED, DAMAGED, pages=30, chunks=20),
        FileOutcome(SCAN, INDEXED, OCR, pages=12, chunks=30),
    ])  # fmt: skip
    # Before: "Documents: 2 indexed." with no word of the damage.
    assert text.endswith(
        "Documents: 2 indexed, 1 with damaged pages (cut.pdf: 10 of 30 pages cannot be read)."
    )


def test_the_notice_counts_files_with_warnings_of_several_kinds(fake_app):
    undecoded = "3 bytes could not be decoded as cp1252 (shown as \ufffd)"
    text = _finish(fake_app, [
        FileOutcome(CUT, INDEXED, f"{DAMAGED}; 4 of 30 pages read by OCR", pages=30, chunks=20),
        FileOutcome("/docs/notes.txt", INDEXED, undecoded, chunks=2),
        FileOutcome("/docs/plain.txt", INDEXED, None, chunks=2),
    ])  # fmt: skip
    assert text.endswith(
        "Documents: 3 indexed, 2 with warnings (cut.pdf: 10 of 30 pages cannot be read; the "
        "other is noted in the documents panel)."
    )


def test_a_watched_folder_s_notice_names_its_warnings_too(fake_app, tmp_path):
    fake_app.controller.current.ensure()
    library = fake_app.conversation.library_name
    notes = str(tmp_path / "notes.txt")
    report = IndexReport(library, [FileOutcome(notes, INDEXED,
                         "3 bytes could not be decoded as cp1252 (shown as \ufffd)", chunks=2)])  # fmt: skip
    fake_app.controller.documents.on_watch_report(library, str(tmp_path), report)
    assert fake_app.window.notice.label.text().endswith(
        f"{tmp_path.name} changed: 1 indexed with characters that could not be read "
        "(notes.txt: 3 bytes could not be decoded as cp1252)."
    )
