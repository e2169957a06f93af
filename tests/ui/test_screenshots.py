"""Pictures of the main states, for a person to look at: streaming, documents, sources, settings,
models, dark appearance. Set HEARTH_SCREENS_DIR to keep them.

Each picture is also checked for what it must show, by colour where the meaning is a colour (the
indexed status in green, the Stop button in red, the cited passage in yellow, the loaded model's
row selected, the dark appearance dark) and by position (the part is inside the picture)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QWidget

from app.paths import styles_dir
from tests.ui.conftest import drop_files
from ui.documents_model import STATUS
from ui.theme import apply_theme

pytestmark = pytest.mark.slow  # the chat model and the embedding model

INDEXED_GREEN = QColor("#15803d")
STOP_RED = QColor("#b42318")
ACCENT = QColor("#c2410c")
# The viewer paints the passage with (255, 220, 70) multiplied over the page: on white, that.
HIGHLIGHT = QColor(255, 220, 70)


def _save(widget: QWidget, folder: Path, name: str) -> QImage:
    QApplication.processEvents()
    path = folder / f"{name}.png"
    image = widget.grab().toImage()
    assert image.save(str(path))
    return image


def _area(root: QWidget, part: QWidget, rect: QRect | None = None) -> QRect:
    """Where `part` (or `rect` inside it) is in a grab of `root`."""
    rect = rect or part.rect()
    return QRect(part.mapTo(root, rect.topLeft()), rect.size())


def _share(image: QImage, area: QRect, colour: QColor, tolerance: int = 40) -> float:
    """The share of the pixels in `area` within `tolerance` (per channel) of `colour`."""
    area = area.intersected(image.rect())
    assert not area.isEmpty(), "the part is not in the picture"
    near = total = 0
    for x in range(area.left(), area.right() + 1):
        for y in range(area.top(), area.bottom() + 1):
            pixel = image.pixelColor(x, y)
            total += 1
            near += all(abs(a - b) <= tolerance for a, b in
                        ((pixel.red(), colour.red()), (pixel.green(), colour.green()),
                         (pixel.blue(), colour.blue())))  # fmt: skip
    return near / total


def _luminance(image: QImage) -> float:
    """Mean lightness (0 black .. 1 white) over a grid of the picture."""
    samples = [image.pixelColor(x, y).lightnessF() for x in range(0, image.width(), 23)
               for y in range(0, image.height(), 23)]  # fmt: skip
    return sum(samples) / len(samples)


def test_main_states(harness, qtbot, tmp_path, lighthouse_pdf):
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    app = harness.start()
    app.controller.settings.update({"sampling.max_tokens": 120, "appearance.theme": "light"})
    window = app.window
    window.resize(1360, 860)

    drop_files(window, [lighthouse_pdf])
    panel = window.documents
    qtbot.wait_until(lambda: panel.status_of(str(lighthouse_pdf)) == "indexed", timeout=180000)
    image = _save(window, folder, "documents-panel")
    cell = panel.table.visualRect(panel.model.index(panel.row_of(str(lighthouse_pdf)), STATUS))
    status = _area(window, panel.table.viewport(), cell)
    assert _share(image, status, INDEXED_GREEN) > 0.02, "the status reads indexed, in green"

    app.send("Who keeps the lighthouse, and when is the lamp lit? Answer with a short list.")
    reply = window.chat.last()
    qtbot.wait_until(lambda: len(reply.text()) > 40, timeout=180000)
    image = _save(window, folder, "chat-streaming")
    send = window.composer.send_button
    assert send.text() == "Stop"
    assert _share(image, _area(window, send), STOP_RED) > 0.5, "Stop is a red button"
    app.wait_reply(180000)
    image = _save(window, folder, "reply-with-sources")
    source = next(s for s in reply.sources.sources() if s.page == 2)
    button = reply.sources.button_for(source.number)
    assert button.isVisible() and "harbour-guide.pdf" in button.text()
    assert _area(window, button).intersects(image.rect())

    button.click()
    viewer = app.controller.documents.viewer
    qtbot.wait_until(lambda: viewer.page_view.highlights != [], timeout=60000)
    image = _save(viewer, folder, "source-viewer")
    x, y, w, h = viewer.page_view.highlights[0]
    passage = _area(viewer, viewer.page_view, QRect(int(x) + 1, int(y) + 1, int(w) - 2, int(h) - 2))
    assert _share(image, passage, HIGHLIGHT, tolerance=60) > 0.3, "the passage is highlighted"
    viewer.close()

    window.settingsRequested.emit()
    dialog = app.controller.settings_dialog
    qtbot.wait_until(dialog.isVisible)
    image = _save(dialog, folder, "settings")
    assert _area(dialog, dialog.tabs).intersects(image.rect()) and dialog.tabs.count() >= 4
    dialog.tabs.setCurrentIndex(2)
    _save(dialog, folder, "settings-sampling")
    dialog.reject()

    window.modelsRequested.emit()
    picker = app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() >= 2 and bool(picker.selected_path()),
                     timeout=60000)  # fmt: skip
    image = _save(picker, folder, "models")
    row = picker.model.row_of(picker.selected_path())
    selected = picker.table.visualRect(picker.model.index(row, 1))
    assert _share(image, _area(picker, picker.table.viewport(), selected), ACCENT) > 0.3
    assert picker.count.text() == f"{picker.model.rowCount()} models."
    picker.close()

    light = _luminance(window.grab().toImage())
    app.controller.settings.set("appearance.theme", "dark")
    qtbot.wait(100)
    dark = _luminance(_save(window, folder, "reply-dark"))
    assert light > 0.8 and dark < 0.3, (light, dark)
    apply_theme(QApplication.instance(), "light", styles_dir())
