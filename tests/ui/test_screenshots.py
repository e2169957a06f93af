"""Pictures of the main states, for a person to look at: streaming, documents, sources, settings,
models, dark appearance. Set HEARTH_SCREENS_DIR to keep them; each must show real content."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import drop_files
from ui.theme import apply_theme


def _save(widget, folder: Path, name: str) -> Path:
    QApplication.processEvents()
    path = folder / f"{name}.png"
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    # A blank or single-colour capture means nothing was drawn.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37)
               for y in range(0, image.height(), 37)}  # fmt: skip
    assert len(colours) > 2, f"{name} looks empty"
    return path


def test_main_states(harness, qtbot, tmp_path, lighthouse_pdf):
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    app = harness.start()
    app.controller.settings.update({"sampling.max_tokens": 120, "appearance.theme": "light"})
    window = app.window
    window.resize(1360, 860)

    drop_files(window, [lighthouse_pdf])
    qtbot.wait_until(lambda: window.documents.status_of(str(lighthouse_pdf)) == "indexed",
                     timeout=180000)  # fmt: skip
    _save(window, folder, "documents-panel")

    app.send("Who keeps the lighthouse, and when is the lamp lit? Answer with a short list.")
    reply = window.chat.last()
    qtbot.wait_until(lambda: len(reply.text()) > 40, timeout=60000)
    _save(window, folder, "chat-streaming")
    app.wait_reply()
    _save(window, folder, "reply-with-sources")

    source = next(s for s in reply.sources.sources() if s["page"] == 2)
    reply.sources.button_for(source["number"]).click()
    viewer = app.controller.documents.viewer
    qtbot.wait_until(lambda: viewer.page_view.highlights != [], timeout=20000)
    _save(viewer, folder, "source-viewer")
    viewer.close()

    window.settingsRequested.emit()
    dialog = app.controller.settings_dialog
    qtbot.wait_until(dialog.isVisible)
    _save(dialog, folder, "settings")
    dialog.tabs.setCurrentIndex(2)
    _save(dialog, folder, "settings-sampling")
    dialog.reject()

    window.modelsRequested.emit()
    picker = app.controller.models.picker
    qtbot.wait_until(lambda: picker.table.rowCount() >= 2, timeout=30000)
    _save(picker, folder, "models")
    picker.close()

    app.controller.settings.set("appearance.theme", "dark")
    qtbot.wait(100)
    _save(window, folder, "reply-dark")
    apply_theme(QApplication.instance(), "light")
