"""The documents panel after indexing stopped on the disk, and its counts: every file shows where
it really stands, and the panel, the Documents button and `hearth library show` count the same
files by one rule."""

from __future__ import annotations

from engine.library.types import (
    INDEXED,
    LINKED_FOLDER,
    PENDING,
    FileOutcome,
    FileProgress,
    FileRecord,
    IndexReport,
)
from engine.library.watched import DISK_FULL, WatchedFolder
from tests.ui.conftest import drop_files

NOTE = "not read: the disk was full; free some space, then Re-index (in a terminal: hearth index)"


def test_a_watch_stopped_by_a_full_disk_shows_each_file_as_the_library_has_it(
    fake_app, qtbot, tmp_path
):
    window, panel = fake_app.window, fake_app.window.documents
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "notes.txt").write_text("Notes.")
    drop_files(window, [folder])
    qtbot.wait_until(lambda: panel.watched.folders() == [str(folder)], timeout=30000)
    library = fake_app.conversation.library_name
    gnuplot = str(folder / "gnuplot.pdf")
    # The watch's catch-up was reading gnuplot.pdf when the disk filled up.
    fake_app.controller.index.watchProgress.emit(library, FileProgress(gnuplot, "indexing", 0.4))
    assert panel.status_of(gnuplot) == "indexing 40%"
    fake_app.libraries.files[library][gnuplot] = FileRecord(
        gnuplot, None, None, None, None, 0, PENDING, NOTE, None
    )
    paused = WatchedFolder(library, str(folder), DISK_FULL, "The disk is full. Hearth paused.")
    fake_app.controller.index.folderState.emit(paused)
    # Before: "big — cannot be read", though the folder reads well.
    assert panel.watched.text_of(str(folder)) == "big — paused, the disk is full"
    # Before: "indexing 40%" for good, and the progress bar with it.
    qtbot.wait_until(lambda: panel.status_of(gnuplot) == f"pending: {NOTE}", timeout=10000)
    assert not panel.cancel_button.isVisible()


def test_the_panel_and_the_documents_button_count_the_same_files(fake_app, qtbot, tmp_path):
    window, panel = fake_app.window, fake_app.window.documents
    controller = fake_app.controller.documents
    fake_app.controller.current.ensure()
    library = fake_app.conversation.library_name
    paths = [str(tmp_path / f"doc-{i}.txt") for i in range(3)]
    link = str(tmp_path / "linked")
    report = IndexReport(
        library,
        [FileOutcome(path, INDEXED, chunks=2) for path in paths],
        [FileOutcome(link, LINKED_FOLDER, "link to a folder, not followed")],
    )
    controller.on_index_finished(library, report)
    records = [FileRecord(p, "h", 1, 0.0, None, 2, INDEXED, None, 0.0) for p in paths]
    controller.on_files_listed(library, records)
    assert panel.status_of(link) == "skipped: link to a folder, not followed"
    # Before: "4 files" beside "Documents (3)" (and 3 files in `hearth library show`).
    assert panel.summary.text().startswith("3 files · 1 skipped · 6 passages.")
    assert window.documents_button.text() == "Documents (3)"
