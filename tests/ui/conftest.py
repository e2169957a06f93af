"""A real Hearth window with its controller, the bundled model and a private data folder."""

from __future__ import annotations

import pytest

from app.controller import AppController
from app.paths import app_paths
from app.settings import Settings
from ui.main_window import MainWindow

# Importing torch in the background costs seconds of CPU; tests that index pay it when they index.
AppController.warm_up_delay_ms = None

# Short, repeatable replies keep the suite quick on two cores.
TEST_SETTINGS = {
    "sampling.max_tokens": 24,
    "sampling.temperature": 0.0,
    "model.context_size": 2048,
}


class Harness:
    """Builds, restarts and drives the app the way a person would."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.window: MainWindow | None = None
        self.controller: AppController | None = None

    def start(self, wait_for_model: bool = True) -> Harness:
        paths = app_paths().ensure()
        fresh = not paths.settings_file.exists()
        settings = Settings(paths.settings_file)
        if fresh:  # a restart keeps what the test changed
            settings.update(TEST_SETTINGS)
        self.window = MainWindow()
        self.qtbot.add_widget(self.window)
        self.window.restore_layout(settings.values())  # as app.gui.main does
        self.window.show()
        self.controller = AppController(self.window, settings, paths)
        self.controller.start()
        if wait_for_model:
            self.wait_model_loaded()
        return self

    def stop(self) -> None:
        if self.window is not None:
            self.window.close()
            self.controller.shutdown()
        self.window = self.controller = None

    def restart(self) -> Harness:
        self.stop()
        return self.start()

    def wait_model_loaded(self, timeout: int = 30000) -> None:
        self.qtbot.wait_until(lambda: self.window.model_status.state == "loaded", timeout=timeout)

    def send(self, text: str) -> None:
        self.window.composer.set_text(text)
        self.qtbot.keyClick(self.window.composer.edit, "\r")

    def wait_reply(self, timeout: int = 60000) -> None:
        self.qtbot.wait_until(lambda: self.controller.chats.reply is None, timeout=timeout)

    @property
    def chats(self):
        return self.controller.chats

    @property
    def store(self):
        return self.controller.store

    @property
    def conversation(self):
        """The open conversation (None: a blank new chat)."""
        return self.controller.current.conversation

    def stored_messages(self):
        return self.store.messages(self.conversation.id)


@pytest.fixture
def harness(qtbot):
    harness = Harness(qtbot)
    yield harness
    harness.stop()


@pytest.fixture
def app_window(harness):
    """A started app with the bundled model loaded."""
    return harness.start()


def write_pdf(path, pages: list[str]):
    """A real PDF with one paragraph per page (PyMuPDF lays the text out)."""
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 72, 520, 760), text, fontsize=12)
    doc.save(path)
    doc.close()
    return path


LIGHTHOUSE_PAGES = [
    "Harbour guide. This booklet describes the old harbour, its boats and its people. "
    "Fishing boats leave before dawn and come back at noon with the catch of the day.",
    "The lighthouse. The keeper of the lighthouse is Marta Quillfeather. The lamp is lit at "
    "sunset and the beam turns twice a minute. The lighthouse was painted red in 1911.",
    "The market. Every Saturday the fish market opens on the quay. Bread, cheese and apples are "
    "sold beside the fish, and a brass band plays in the afternoon.",
]


@pytest.fixture
def lighthouse_pdf(tmp_path):
    return write_pdf(tmp_path / "harbour-guide.pdf", LIGHTHOUSE_PAGES)


def drop_files(window, paths) -> None:
    """Drop files on the window the way a file manager does: a QDropEvent with file URLs."""
    import warnings

    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    with warnings.catch_warnings():
        # PySide marks Qt 6's only QDragEnterEvent constructor (QPoint) as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(window, drop)
