"""The "+" beside the message box adds files or a folder: it opens a small menu, with the mouse or
the keyboard, whose two choices go the way of the documents panel's two buttons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from ui.accessibility import accessible_name

# The offscreen platform cannot grab the keyboard or the mouse for a menu (a desktop can); the
# menu takes the keys and clicks sent to it all the same.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support grabbing")


@pytest.fixture
def pickers(monkeypatch):
    """The system's file and folder pickers, answered as a person would: the paths in
    `pickers["files"]` and `pickers["folder"]`; `pickers["asked"]` lists which was shown."""
    answers: dict = {"files": [], "folder": "", "asked": []}

    def files(*_args, **_kwargs):
        answers["asked"].append("files")
        return answers["files"], ""

    def folder(*_args, **_kwargs):
        answers["asked"].append("folder")
        return answers["folder"]

    monkeypatch.setattr("app.document_controller.QFileDialog.getOpenFileNames", files)
    monkeypatch.setattr("app.document_controller.QFileDialog.getExistingDirectory", folder)
    return answers


def when_the_menu_opens(qtbot, act) -> list[str]:
    """Run `act(menu)` once a menu is open; returns the choices the menu offered, which stay
    empty while none has opened."""
    offered: list[str] = []

    def look(tries: int) -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            if tries:
                QTimer.singleShot(20, lambda: look(tries - 1))
            return
        offered.extend(action.text().replace("&", "") for action in menu.actions())
        act(menu)
        if menu.isVisible():  # whatever `act` did, the test goes on
            menu.close()

    QTimer.singleShot(0, lambda: look(100))
    return offered


def test_the_plus_adds_a_folder_from_the_keyboard(fake_app, qtbot, tmp_path, pickers):
    from app.library.protocol import WatchFolder

    window, composer = fake_app.window, fake_app.window.composer
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boats.txt").write_text("Boats leave before dawn.")
    pickers["folder"] = str(folder)
    window.activateWindow()
    qtbot.wait_until(window.isActiveWindow, timeout=20000)
    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)
    button = composer.attach_button
    assert QApplication.focusWidget() is button

    offered = when_the_menu_opens(qtbot, lambda menu: qtbot.keyClick(menu, Qt.Key.Key_O))
    qtbot.keyClick(button, Qt.Key.Key_Space)
    qtbot.wait_until(lambda: pickers["asked"] != [], timeout=5000)
    assert offered == ["Add files…", "Add folder…"]
    assert pickers["asked"] == ["folder"]
    panel = window.documents
    qtbot.wait_until(lambda: panel.watched.folders() == [str(folder)], timeout=30000)
    assert WatchFolder(fake_app.conversation.library_name, str(folder)) in fake_app.libraries.calls
    qtbot.wait_until(lambda: panel.row_of(str(folder / "boats.txt")) >= 0, timeout=30000)
    assert accessible_name(button) == "Add documents"
    assert "folder" in button.accessibleDescription()


def test_the_plus_adds_files_with_the_mouse(fake_app, qtbot, tmp_path, pickers):
    note = tmp_path / "harbour.txt"
    note.write_text("The lighthouse was painted red in 1911.")
    pickers["files"] = [str(note)]

    def click_add_files(menu: QMenu) -> None:
        action = next(a for a in menu.actions() if a.text() == "Add &files…")
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())

    offered = when_the_menu_opens(qtbot, click_add_files)
    qtbot.mouseClick(fake_app.window.composer.attach_button, Qt.MouseButton.LeftButton)
    qtbot.wait_until(lambda: pickers["asked"] != [], timeout=5000)
    assert offered == ["Add files…", "Add folder…"]
    assert pickers["asked"] == ["files"]
    panel = fake_app.window.documents
    qtbot.wait_until(lambda: panel.status_of(str(note)) == "indexed", timeout=30000)
