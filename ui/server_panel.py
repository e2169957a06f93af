"""The parts of Settings → Local API server that are not settings: the API key (kept in the
system keyring) with Generate and Copy, and a status line saying where it serves or why not."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

# The status line's colour by state; "" follows the theme.
_COLOURS = {"serving": "#16a34a", "failed": "#dc2626"}
_MARKS = {"serving": "●", "failed": "⚠", "starting": "○", "stopping": "○", "off": "○"}


class ServerPanel(QObject):
    """The fields, to be placed in the settings form with `rows()`. Signals: generateRequested().
    `initial_key` is the key it was opened with, so the controller can tell whether Save changed
    it."""

    generateRequested = Signal()

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.initial_key = key
        self.key_edit = QLineEdit(key)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("None: only this computer may connect")
        self.key_edit.setObjectName("server.api_key")
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setAccessibleDescription(
            "The key programs must send; kept in the system keyring. Needed for any address "
            "but 127.0.0.1."
        )
        self.key_edit.setToolTip(self.key_edit.accessibleDescription())
        self.generate_button = QPushButton("Generate")
        self.generate_button.setAccessibleDescription("Make a new random key")
        self.generate_button.clicked.connect(self.generateRequested)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleDescription("Copy the key to the clipboard")
        self.copy_button.clicked.connect(self._copy)
        self.key_edit.textChanged.connect(self._update_buttons)
        self.key_row = QWidget()
        row = QHBoxLayout(self.key_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.generate_button)
        row.addWidget(self.copy_button)
        self.status = QLabel("Off")
        self.status.setObjectName("ServerStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAccessibleName("Server status")
        self.state = "off"
        self._update_buttons()

    def rows(self) -> list[tuple[str, QWidget]]:
        """(label, field) rows for the settings form."""
        return [("API key", self.key_row), ("Status", self.status)]

    def key(self) -> str:
        return self.key_edit.text().strip()

    def set_key(self, key: str) -> None:
        self.key_edit.setText(key)
        # Shown once, so it can be read and copied; hidden again once edited by hand.
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal)

    def show_status(self, text: str, state: str) -> None:
        """One line: where it serves and how much, or why it could not start."""
        self.state = state
        self.status.setText(f"{_MARKS.get(state, '')} {text}".strip())
        colour = _COLOURS.get(state, "")
        self.status.setStyleSheet(f"color: {colour};" if colour else "")

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None and self.key():
            clipboard.setText(self.key())

    def _update_buttons(self, *_args: object) -> None:
        self.copy_button.setEnabled(bool(self.key()))
