"""A message strip above the composer: errors, confirmations and an optional action (Undo).

Messages that arrive close together are shown together (newest last, at most three), so a quick
confirmation cannot hide the explanation of a failure that came a moment before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from engine.display import display_text

MAX_MESSAGES = 3
_SEVERITY = {"info": 0, "warning": 1, "error": 2}


@dataclass
class _Message:
    key: int
    text: str
    level: str
    action: str
    callback: Callable[[], None] | None


class NoticeBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.setVisible(False)
        close = QToolButton()
        close.setText("✕")
        close.setObjectName("Flat")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self._messages: list[_Message] = []
        self._keys = itertools.count()
        self.action_button.clicked.connect(self._on_action)
        self.setVisible(False)

    def show_message(
        self,
        text: str,
        level: str = "info",
        action: str = "",
        callback: Callable[[], None] | None = None,
        timeout_ms: int = 8000,
    ) -> None:
        """Show `text` below any message still showing; errors stay until dismissed, others
        fade after `timeout_ms`."""
        # Notices quote file names: one line each, control characters escaped.
        text = display_text(text)
        message = _Message(next(self._keys), text, level, action, callback)
        self._messages = [m for m in self._messages if m.text != text][-(MAX_MESSAGES - 1) :]
        self._messages.append(message)
        if level != "error":
            QTimer.singleShot(timeout_ms, self, lambda: self._expire(message.key))
        self._render()

    def _expire(self, key: int) -> None:
        self._messages = [m for m in self._messages if m.key != key]
        self._render()

    def _render(self) -> None:
        if not self._messages:
            self.setVisible(False)
            return
        self.label.setText("\n".join(m.text for m in self._messages))
        level = max((m.level for m in self._messages), key=lambda name: _SEVERITY.get(name, 0))
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        with_action = [m for m in self._messages if m.action and m.callback]
        self.action_button.setText(with_action[-1].action if with_action else "")
        self.action_button.setVisible(bool(with_action))
        self.setVisible(True)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self._messages.clear()
        self._render()

    def _on_action(self) -> None:
        with_action = [m for m in self._messages if m.action and m.callback]
        if not with_action:
            return
        clicked = with_action[-1]
        self._expire(clicked.key)  # the other messages stay
        clicked.callback()
