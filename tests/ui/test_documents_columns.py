"""The documents table keeps the file's name readable when the panel is narrow."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ui.documents_model import CHUNKS, FILE, PAGES, FileRow
from ui.documents_panel import DocumentsPanel

PATH = "/docs/tide tables and harbour schedule.pdf"


def test_a_narrow_panel_hides_the_counts_and_gives_the_name_room(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow(PATH, "indexed", pages=12, chunks=40))
    panel.resize(330, 500)
    panel.show()
    qtbot.waitUntil(lambda: panel.table.isColumnHidden(PAGES), timeout=5000)
    assert panel.table.isColumnHidden(CHUNKS)
    assert panel.table.columnWidth(FILE) >= 100
    tooltip = panel.model.index(0, FILE).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.endswith("(12 pages · 40 passages)")

    panel.resize(700, 500)
    qtbot.waitUntil(lambda: not panel.table.isColumnHidden(PAGES), timeout=5000)
    assert not panel.table.isColumnHidden(CHUNKS)
    assert panel.model.index(0, PAGES).data() == "12"


def test_the_summary_leaves_out_pages_when_no_file_has_any(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow("/docs/notes.txt", "indexed", chunks=3))
    assert panel.summary.text().startswith("1 file · 3 passages.")
    panel.update_file_row(FileRow(PATH, "indexed", pages=1200, chunks=4000))
    assert panel.summary.text().startswith("2 files · 1,200 pages · 4,003 passages.")


def test_a_file_that_failed_says_nothing_of_how_it_reaches_the_model(qtbot):
    from ui.documents_model import USED

    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow(PATH, "indexed", pages=2, chunks=4))
    panel.update_file_row(FileRow("/docs/broken.pdf", "failed", "the file is damaged"))
    panel.set_placements({PATH: "searched", "/docs/broken.pdf": "searched"})
    indexed, failed = panel.row_of(PATH), panel.row_of("/docs/broken.pdf")
    assert panel.model.index(indexed, USED).data() == "searched"
    assert panel.model.index(failed, USED).data() == ""


def test_a_pipe_or_a_broken_link_is_counted_apart_from_the_files(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow("/docs/notes.txt", "indexed", chunks=3))
    panel.update_file_row(FileRow("/docs/queue", "not_regular"))
    panel.update_file_row(FileRow("/docs/old-link.pdf", "broken_link"))
    assert panel.summary.text().startswith("1 file · 2 skipped · 3 passages.")
