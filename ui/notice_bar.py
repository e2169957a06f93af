"""A message strip above the composer: errors, confirmations and actions (Undo, Reload now).

Messages that arrive close together are shown together (newest last, at most three, each
starting with a mark of its own), so a quick confirmation cannot hide the explanation of a failure
that came a moment before it; the strip takes the newest message's colour, and an older error
under it is marked "⚠". A message on a topic replaces the earlier one on it, and its sender
withdraws it once it no longer holds. The newest message with actions shows them as buttons (at
most three); every message is also read out by the screen reader, errors at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_text
from ui.accessibility import Announcer

MAX_MESSAGES = 3
MAX_ACTIONS = 3

# A button under the message: its text, what it does, and optionally a tooltip saying more.
Action = tuple[str, Callable[[], None]] | tuple[str, Callable[[], None], str]


@dataclass
class _Message:
    key: int
    text: str
    level: str
    actions: tuple[Action, ...]
    topic: str = ""


class NoticeBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.setAccessibleName("Messages")
        self.announcer = Announcer(self)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_buttons = [QPushButton() for _ in range(MAX_ACTIONS)]
        close = QToolButton()
        close.setText("✕")
        close.setObjectName("Flat")
        close.setToolTip("Dismiss (Esc)")
        close.setAccessibleName("Dismiss the messages")
        close.clicked.connect(self.dismiss)
        self.close_button = close
        # The text on top, the actions under it: several long actions never squeeze the text.
        top = QHBoxLayout()
        top.addWidget(self.label, 1)
        top.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._actions_row = QHBoxLayout()
        self._actions_row.addStretch(1)
        for index, button in enumerate(self.action_buttons):
            button.setVisible(False)
            button.clicked.connect(lambda _=False, i=index: self._on_action(i))
            self._actions_row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(self._actions_row)
        self._messages: list[_Message] = []
        self._keys = itertools.count()
        self.setVisible(False)

    @property
    def action_button(self) -> QPushButton:
        """The first action's button."""
        return self.action_buttons[0]

    def show_message(
        self,
        text: str,
        level: str = "info",
        action: str = "",
        callback: Callable[[], None] | None = None,
        timeout_ms: int = 8000,
        actions: Sequence[Action] = (),
        topic: str = "",
    ) -> None:
        """Show `text` below any message still showing; errors stay until dismissed, others
        fade after `timeout_ms`. `action` and `callback` (or several `actions`) become buttons.

        A message with a `topic` ("model", "reply") replaces the earlier one on that topic: a
        success then clears the failure it follows, instead of showing under it in red."""
        # Notices quote file names: one line each, control characters escaped.
        text = display_text(text)
        buttons = tuple(actions) or (((action, callback),) if action and callback else ())
        message = _Message(next(self._keys), text, level, buttons[:MAX_ACTIONS], topic)
        kept = [m for m in self._messages if m.text != text and not (topic and m.topic == topic)]
        self._messages = kept[-(MAX_MESSAGES - 1) :]
        self._messages.append(message)
        if level != "error":
            QTimer.singleShot(timeout_ms, self, lambda: self._expire(message.key))
        self._render()
        self.announcer.announce(self, text, assertive=level == "error")

    def _expire(self, key: int) -> None:
        self._messages = [m for m in self._messages if m.key != key]
        self._render()

    def _render(self) -> None:
        if not self._messages:
            self.setVisible(False)
            return
        # The bar takes the newest message's colour (a confirmation is never shown as an error);
        # an earlier error still listed under another colour keeps a mark of its own. With
        # several, each starts with a mark, so that one ends where the next begins.
        level = self._messages[-1].level
        several = len(self._messages) > 1
        self.label.setText("\n".join(
            f"⚠ {m.text}" if m.level == "error" and level != "error"
            else f"• {m.text}" if several else m.text
            for m in self._messages
        ))  # fmt: skip
        self.setAccessibleDescription(self.label.text())
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        actions = self._actions()
        for index, button in enumerate(self.action_buttons):
            button.setVisible(index < len(actions))
            if index < len(actions):
                action = actions[index]
                tip = action[2] if len(action) > 2 else ""  # type: ignore[misc]
                button.setText(action[0])
                button.setToolTip(tip)
                button.setAccessibleDescription(tip)
        self.setVisible(True)

    def _actions(self) -> tuple[Action, ...]:
        with_actions = [m for m in self._messages if m.actions]
        return with_actions[-1].actions if with_actions else ()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def withdraw(self, topic: str, keep_actions: bool = False) -> None:
        """Take away the messages on `topic` (what they said no longer holds).

        Args:
            keep_actions: Leave those that offer an action: it may still be wanted ("Show it"
                brings back a message that was not sent).
        """
        self._messages = [m for m in self._messages
                          if m.topic != topic or (keep_actions and m.actions)]  # fmt: skip
        self._render()

    def dismiss(self) -> None:
        self._messages.clear()
        self._render()

    def _on_action(self, index: int) -> None:
        with_actions = [m for m in self._messages if m.actions]
        if not with_actions or index >= len(with_actions[-1].actions):
            return
        clicked = with_actions[-1]
        self._expire(clicked.key)  # the other messages stay
        clicked.actions[index][1]()
