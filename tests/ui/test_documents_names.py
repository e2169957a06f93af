"""The documents table tells files apart and reads its statuses whole: a file in a subfolder of an
added folder is named by its path under it, two files of one name by enough of their folders, and
a failed file's status word stands in full with its reason under it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.library.watched import WatchedFolder
from ui.documents_model import FILE, STATUS, FileRow
from ui.documents_panel import DocumentsPanel

FOLDER = "/home/ana/proj"
LONG = f"{FOLDER}/other/developers-handbook-for-the-new-cooling-system-and-maintenance.md"


def _names(panel: DocumentsPanel) -> list[str]:
    return [panel.model.index(row, FILE).data() for row in range(panel.model.rowCount())]


def test_files_in_an_added_folder_are_named_by_their_path_under_it(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    for path in ("README.md", "sub/README.md", "sub/nested.md"):
        panel.update_file_row(FileRow(f"{FOLDER}/{path}", "indexed", chunks=1))
    assert _names(panel) == ["proj/README.md", "sub/README.md", "nested.md"]  # no folder yet
    panel.set_watched_folders([WatchedFolder("chat-1", FOLDER)])
    assert _names(panel) == ["README.md", "sub/README.md", "sub/nested.md"]
    tooltip = panel.model.index(1, FILE).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(f"{FOLDER}/sub/README.md")
    # A long path is shortened in its middle: its folder and its file's ending stay in view.
    assert panel.table.textElideMode() == Qt.TextElideMode.ElideMiddle


def test_two_files_of_one_name_added_alone_are_told_apart_by_their_folders(qtbot):
    from ui.documents_model import shown_names

    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow("/srv/alpha/README.md", "indexed", chunks=1))
    panel.update_file_row(FileRow("/srv/notes.txt", "indexed", chunks=1))
    assert _names(panel) == ["README.md", "notes.txt"]
    panel.update_file_row(FileRow("/srv/beta/README.md", "indexed", chunks=1))
    assert _names(panel) == ["alpha/README.md", "notes.txt", "beta/README.md"]
    assert shown_names(["/a/x/README.md", "/b/x/README.md"]) == {
        "/a/x/README.md": "a/x/README.md",
        "/b/x/README.md": "b/x/README.md",
    }
    # Two added folders with a README.md each: the folder's own name tells them apart.
    assert shown_names(["/p/one/README.md", "/q/two/README.md"], ["/p/one", "/q/two"]) == {
        "/p/one/README.md": "one/README.md",
        "/q/two/README.md": "two/README.md",
    }


def test_a_failed_files_status_reads_in_full_with_its_reason_under_it(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    reason = "the file is damaged: no page tree"
    panel.update_file_row(FileRow(f"{FOLDER}/broken.pdf", "failed", reason))
    panel.update_file_row(FileRow(f"{FOLDER}/README.md", "indexed", pages=2, chunks=4))
    panel.update_file_row(FileRow(LONG, "indexed", chunks=1))
    panel.resize(330, 600)  # as wide as the panel beside the chat of a 1600 px window
    panel.show()
    qtbot.wait_exposed(panel)
    table, metrics = panel.table, panel.table.fontMetrics()
    failed = panel.model.index(0, STATUS)
    assert failed.data() == f"failed\n{reason}"
    assert failed.data(Qt.ItemDataRole.ToolTipRole) == reason
    assert panel.status_of(f"{FOLDER}/broken.pdf") == f"failed: {reason}"
    # The word is whole and the reason has lines of its own, not "failed: …".
    one_line = table.verticalHeader().defaultSectionSize()
    qtbot.wait_until(lambda: table.rowHeight(0) >= one_line + metrics.lineSpacing(), timeout=5000)
    assert table.columnWidth(STATUS) >= metrics.horizontalAdvance("failed") + 12
    assert table.rowHeight(1) == one_line, "an indexed file keeps one line"
    # The file's name keeps room beside it.
    assert table.columnWidth(FILE) >= 100
