"""A dropped folder is followed: the documents panel lists it, says when it is gone, lets the
person stop watching it, and shows files added to the folder later."""

from __future__ import annotations

import pytest

from engine.library.watched import MISSING, WATCHING, WatchedFolder
from tests.ui.conftest import drop_files


def test_a_dropped_folder_is_listed_as_watched_and_can_be_stopped(fake_app, qtbot, tmp_path):
    from app.library.protocol import StopWatching, WatchFolder

    window, panel = fake_app.window, fake_app.window.documents
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boats.txt").write_text("Boats leave before dawn.")
    drop_files(window, [folder])
    qtbot.wait_until(lambda: panel.watched.folders() == [str(folder)], timeout=30000)
    assert WatchFolder(fake_app.conversation.library_name, str(folder)) in fake_app.libraries.calls
    assert panel.watched.isVisible() and panel.watched.text_of(str(folder)) == "notes"
    assert not panel.watched.stop_button.isEnabled()  # nothing selected yet

    library = fake_app.conversation.library_name
    gone = WatchedFolder(library, str(folder), MISSING, "The folder notes is gone.")
    fake_app.controller.index.folderState.emit(gone)
    assert panel.watched.text_of(str(folder)) == "notes — not found"
    assert "notes is gone" in window.notice.text()
    back = WatchedFolder(library, str(folder), WATCHING, "")
    fake_app.controller.index.folderState.emit(back)  # the drive is plugged in again
    assert "Following notes again" in window.notice.text()
    assert "is gone" not in window.notice.text()  # the error no longer holds

    panel.watched.select(str(folder))
    assert panel.watched.stop_button.isEnabled()
    panel.watched.stop_button.click()
    qtbot.wait_until(lambda: not panel.watched.isVisible(), timeout=30000)
    assert StopWatching(library, str(folder)) in fake_app.libraries.calls
    assert "Its documents stay in this chat" in window.notice.text()
    assert panel.row_of(str(folder / "boats.txt")) >= 0  # stopping keeps the documents


def test_another_chat_shows_its_own_watched_folders(fake_app, qtbot, tmp_path):
    window, panel = fake_app.window, fake_app.window.documents
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "bread.txt").write_text("Knead the dough for ten minutes.")
    drop_files(window, [folder])
    qtbot.wait_until(lambda: panel.watched.folders() == [str(folder)], timeout=30000)
    fake_app.controller.current.open(None)
    qtbot.wait_until(lambda: panel.watched.folders() == [], timeout=30000)
    assert not panel.watched.isVisible()


@pytest.mark.slow
def test_a_file_added_to_a_dropped_folder_appears_on_its_own(harness, qtbot, tmp_path):
    app = harness.start(wait_for_model=False)
    window, panel = app.window, app.window.documents
    folder = tmp_path / "harbour"
    folder.mkdir()
    (folder / "tides.txt").write_text("High tide comes twice a day at the harbour.")
    (folder / "old.txt").write_text("The old pier was closed in the winter of 1987.")
    drop_files(window, [folder])
    qtbot.wait_until(lambda: panel.status_of(str(folder / "tides.txt")) == "indexed",
                     timeout=180000)  # fmt: skip
    qtbot.wait_until(lambda: panel.watched.text_of(str(folder)) == "harbour", timeout=60000)

    (folder / "boats.txt").write_text("Boats leave the harbour before dawn.")
    qtbot.wait_until(lambda: panel.status_of(str(folder / "boats.txt")) == "indexed",
                     timeout=60000)  # fmt: skip
    # The batch's report follows its files' rows.
    qtbot.wait_until(lambda: "harbour changed: 1 indexed" in window.notice.text(), timeout=30000)
    (folder / "old.txt").unlink()
    qtbot.wait_until(lambda: panel.row_of(str(folder / "old.txt")) < 0, timeout=60000)
    qtbot.wait_until(lambda: window.documents_button.text() == "Documents (2)", timeout=30000)


def test_a_file_taken_out_of_a_watched_folder_says_it_may_come_back(fake_app, qtbot, tmp_path):
    window, panel = fake_app.window, fake_app.window.documents
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boats.txt").write_text("Boats leave before dawn.")
    loose = tmp_path / "tides.txt"
    loose.write_text("High tide comes twice a day.")
    drop_files(window, [folder, loose])
    qtbot.wait_until(lambda: panel.watched.folders() == [str(folder)], timeout=30000)
    qtbot.wait_until(lambda: panel.status_of(str(loose)) == "indexed", timeout=30000)

    panel.removeRequested.emit((str(loose),))
    assert "will come back" not in window.notice.text()
    panel.removeRequested.emit((str(folder / "boats.txt"),))
    assert "boats.txt will come back if it changes" in window.notice.text()
    assert "stop watching the folder" in window.notice.text()
