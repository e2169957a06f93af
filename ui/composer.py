"""Where the person types: Enter sends, Shift+Enter adds a line, the button turns into Stop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QWidget,
)


class PromptEdit(QPlainTextEdit):
    """Text box that grows with its content up to a few lines."""

    submitted = Signal()
    upInEmpty = Signal()
    focusChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Ask anything…  (Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self.setAccessibleName("Message")
        self.setAccessibleDescription(
            "Enter sends, Shift+Enter adds a line, Up in an empty box edits your last message"
        )
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        if event.key() == Qt.Key.Key_Up and not self.toPlainText():
            self.upInEmpty.emit()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().focusInEvent(event)
        self.focusChanged.emit(True)

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().focusOutEvent(event)
        self.focusChanged.emit(False)

    def _fit(self, *_args) -> None:
        line = QFontMetrics(self.font()).lineSpacing()
        lines = max(1, min(8, int(self.document().size().height())))
        self.setFixedHeight(lines * line + 14)


class Composer(QFrame):
    """Signals: sendRequested(text), stopRequested(), attachRequested() (files),
    attachFolderRequested(), editLastRequested()."""

    sendRequested = Signal(str)
    stopRequested = Signal()
    attachRequested = Signal()
    attachFolderRequested = Signal()
    editLastRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        self.edit = PromptEdit(self)
        self.attach_button = QToolButton(self)
        self.attach_button.setText("+")
        self.attach_button.setObjectName("Flat")
        self.attach_button.setToolTip(
            "Add files or a folder to this chat (or drop them on the window)"
        )
        self.attach_button.setAccessibleName("Add documents")
        self.attach_button.setAccessibleDescription(self.attach_button.toolTip())
        self.attach_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # A click or Space opens the choice; arrows and Enter (or F, O) pick one.
        self.attach_menu = QMenu(self)
        self.attach_menu.setAccessibleName("Add documents")
        self.add_files_action = self.attach_menu.addAction("Add &files…")
        self.add_folder_action = self.attach_menu.addAction("Add f&older…")
        self.add_folder_action.setToolTip("Every document in it, now and as the folder changes")
        self.attach_menu.setToolTipsVisible(True)
        self.attach_button.setMenu(self.attach_menu)
        self.attach_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # The menu's own look stays the theme's; the "+" says enough without an arrow.
        self.attach_button.setStyleSheet(
            "QToolButton { font-size: 16pt; font-weight: 600; }"
            " QToolButton::menu-indicator { image: none; width: 0px; }"
        )
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("Primary")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        self._busy = False
        self.edit.focusChanged.connect(self._show_focus)
        self.edit.submitted.connect(self._on_submit)
        self.edit.upInEmpty.connect(self.editLastRequested)
        self.send_button.clicked.connect(self._on_button)
        self.add_files_action.triggered.connect(self.attachRequested)
        self.add_folder_action.triggered.connect(self.attachFolderRequested)
        self.edit.textChanged.connect(self._update_button)
        self._update_button()

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        self.edit.moveCursor(self.edit.textCursor().MoveOperation.End)
        self.edit.setFocus()

    def set_busy(self, busy: bool) -> None:
        """While a reply is written the button stops it; typing the next question stays possible."""
        self._busy = busy
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setObjectName("Danger" if busy else "Primary")
        self.send_button.setToolTip("Stop the reply (Esc)" if busy else "Send (Enter)")
        self.send_button.setAccessibleName("Stop the reply" if busy else "Send")
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)
        self._update_button()

    def _show_focus(self, focused: bool) -> None:
        # The text box has no frame of its own: the composer's frame shows where typing goes.
        self.setProperty("focused", focused)
        self.style().unpolish(self)
        self.style().polish(self)

    def is_busy(self) -> bool:
        return self._busy

    def _on_button(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self._on_submit()

    def _on_submit(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text or self._busy:
            return
        self.edit.clear()
        self.sendRequested.emit(text)

    def _update_button(self) -> None:
        enabled = self._busy or bool(self.edit.toPlainText().strip())
        if not enabled and self.send_button.hasFocus():
            # Disabled with the focus on it, Qt would pass the focus on to whatever is next
            # (the documents table after Stop was clicked); typing goes on in the text box.
            self.edit.setFocus()
        self.send_button.setEnabled(enabled)
