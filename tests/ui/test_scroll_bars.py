"""The window's scroll bars in both themes: the message box's and the conversation's look like
the chat list's (every scroll bar alike), a handle visible but quiet on the surface it lies on,
with no block of another colour around it."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QScrollBar, QWidget

from app.paths import styles_dir
from ui.main_window import MainWindow
from ui.theme import apply_theme


def _seen(image: QImage, window: QWidget, bar: QScrollBar) -> tuple[QColor, QColor, QColor]:
    """As the window shows them: the handle's colour (the bar scrolled to its top), the track's
    near its bottom end, and the surface's just left of the bar."""
    corner = bar.mapTo(window, QPoint(0, 0))
    x, bottom = corner.x() + bar.width() // 2, corner.y() + bar.height() - 6
    return (image.pixelColor(x, corner.y() + 14), image.pixelColor(x, bottom),
            image.pixelColor(corner.x() - 3, bottom))  # fmt: skip


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_message_box_and_the_conversation_scroll_like_the_chat_list(qtbot, tmp_path, theme):
    screens = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    apply_theme(QApplication.instance(), theme, styles_dir())
    try:
        window = MainWindow()
        qtbot.add_widget(window)
        window.resize(1280, 820)
        window.show()
        qtbot.wait_exposed(window)
        chats = [SimpleNamespace(id=i, title=f"Chat {i}") for i in range(80)]
        window.conversations.set_conversations(chats, None)
        for i in range(12):
            window.chat.add_message(i, "user" if i % 2 else "assistant", "Some words. " * 80)
        window.composer.set_text("\n".join(f"line {i}" for i in range(30)))
        bars = {
            "chat list": window.conversations.list.verticalScrollBar(),
            "message box": window.composer.edit.verticalScrollBar(),
            "conversation": window.chat.verticalScrollBar(),
        }
        # The layouts settle and the scroll bars appear (later on a busy machine).
        qtbot.wait_until(lambda: all(bar.isVisible() and bar.maximum() > 0
                                     for bar in bars.values()), timeout=5000)  # fmt: skip
        for bar in bars.values():
            bar.setValue(0)
        QApplication.processEvents()
        image = window.grab().toImage()
        image.save(str(screens / f"scroll-bars-{theme}.png"))
        seen = {name: _seen(image, window, bar) for name, bar in bars.items()}
        for name, (handle, track, surface) in seen.items():
            assert _distance(track, surface) <= 24, f"{name}: a {track.name()} block"
            assert 40 <= _distance(handle, track) <= 250, f"{name}: handle {handle.name()}"
            assert handle == seen["chat list"][0], f"{name}: unlike the chat list's"
            assert bars[name].width() == bars["chat list"].width(), name
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())
