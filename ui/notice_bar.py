"""A message strip above the composer: errors, confirmations and an optional action (Undo)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class NoticeBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.label = QLabel()
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
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.dismiss)
        self._action: Callable[[], None] | None = None
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
        """Show `text`; errors stay until dismissed, others fade after `timeout_ms`."""
        self.label.setText(text)
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self._action = callback
        self.action_button.setText(action)
        self.action_button.setVisible(bool(action and callback))
        self.setVisible(True)
        if level == "error":
            self._timer.stop()
        else:
            self._timer.start(timeout_ms)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self._timer.stop()
        self._action = None
        self.setVisible(False)

    def _on_action(self) -> None:
        callback = self._action
        self.dismiss()
        if callback is not None:
            callback()
