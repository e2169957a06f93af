"""Add a server: the address of an OpenAI-compatible API (llama.cpp, vLLM, Ollama, another
Hearth), its key if it has one, and the model to use, offered once a test connection found them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.format import plain_tip

EXAMPLE_ADDRESS = "http://192.168.1.20:8080"
_ASK_TEXT = "Test the connection to see the server's models."
_NO_KEY = "None"
_KEEP_KEY = "Saved: leave empty to keep it, or type a new one"
_WINDOW_ASKED = "As the server says"
_WINDOW_HINT = (
    "The model's window, for servers that do not report it; left at \u201cas the server says\u201d, "
    "4,096 tokens are assumed when the server does not say"
)


@dataclass(frozen=True)
class ServerEntry:
    """What the person typed: the address, the key ("" for none), the model ("" for the
    server's only one) and the window to assume when the server does not say (0: the default)."""

    url: str
    api_key: str
    model: str
    context_window: int = 0


class RemoteDialog(QDialog):
    """Signals: testRequested(ServerEntry), addRequested(ServerEntry). The controller answers
    with `show_result` (after a test) or `show_error` / `accept` (after Add).

    The same dialog edits a saved server (`edit`): then Add reads Save, and an empty key keeps
    the saved one.

    Attributes:
        test_failed: Why the last test connection failed, for what is in the fields now ("" when
            it worked or none was made); Add is still allowed, and the controller says so.
    """

    testRequested = Signal(object)
    addRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a server")
        self.setMinimumWidth(640)
        self.address = QLineEdit()
        self.address.setPlaceholderText(EXAMPLE_ADDRESS)
        self.address.setAccessibleName("Server address")
        self.address.setAccessibleDescription(
            "The address of an OpenAI-compatible server, for example " + EXAMPLE_ADDRESS
        )
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(_NO_KEY)
        self.key.setAccessibleName("API key")
        self.key.setAccessibleDescription(
            "The server's key, if it asks for one; kept in the system keyring"
        )
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setAccessibleName("Model")
        self.model.setAccessibleDescription(
            "The model to chat with; Test connection lists the ones the server offers"
        )
        model_edit = self.model.lineEdit()
        if model_edit is not None:
            model_edit.setPlaceholderText("The server's only model")
            model_edit.setAccessibleName("Model name")
        self.window_size = QSpinBox()
        self.window_size.setRange(0, 1_048_576)
        self.window_size.setSingleStep(1024)
        self.window_size.setSpecialValueText(_WINDOW_ASKED)
        self.window_size.setSuffix(" tokens")
        self.window_size.setAccessibleName("Context window")
        self.window_size.setAccessibleDescription(_WINDOW_HINT)
        self.window_size.setToolTip(self.window_size.accessibleDescription())
        self.test_button = QPushButton("Test connection")
        self.test_button.setAccessibleDescription(
            "Ask the server which models it offers and how large their window is"
        )
        self.found = QLabel(_ASK_TEXT)
        self.found.setObjectName("Muted")
        self.found.setWordWrap(True)
        self.found.setTextFormat(Qt.TextFormat.PlainText)
        self.found.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.found.setAccessibleName("Connection test result")
        # Room for two lines from the start, so a longer answer never resizes or clips.
        self.found.setMinimumHeight(2 * self.found.fontMetrics().lineSpacing() + 4)
        self.found.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("Primary")
        self.add_button.setDefault(True)
        self.add_button.setAccessibleDescription("Remember this server and list it with the models")
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)

        form = QFormLayout()
        form.addRow(self._label("Server address", self.address), self.address)
        form.addRow(self._label("API key", self.key), self.key)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.test_button)
        form.addRow(self._label("Model", self.model), model_row)
        form.addRow(self._label("Context window", self.window_size), self.window_size)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        layout.addLayout(form)
        layout.addWidget(self.found)
        layout.addStretch(1)
        layout.addLayout(buttons)

        self.test_failed = ""
        self.test_button.clicked.connect(lambda: self.testRequested.emit(self.entry()))
        self.add_button.clicked.connect(lambda: self.addRequested.emit(self.entry()))
        self.address.textChanged.connect(self._update_buttons)
        for changed in (self.address.textChanged, self.key.textChanged):
            changed.connect(self._forget_test)
        self._update_buttons()

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    def entry(self) -> ServerEntry:
        return ServerEntry(self.address.text().strip(), self.key.text().strip(),
                           self.model.currentText().strip(), self.window_size.value())  # fmt: skip

    def reset(self) -> None:
        """Empty fields, for the next server."""
        self.setWindowTitle("Add a server")
        self.add_button.setText("Add")
        self.key.setPlaceholderText(_NO_KEY)
        self.address.clear()
        self.key.clear()
        self.model.clear()
        self.model.setToolTip("")
        self.window_size.setValue(0)
        self.show_window_assumed(0)
        self.found.setText(_ASK_TEXT)
        self.found.setStyleSheet("")
        self.test_failed = ""
        self.address.setFocus()

    def edit(self, url: str, model: str, context_window: int, has_key: bool) -> None:
        """Fill the fields with a saved server's, to change its key, model or window."""
        self.reset()
        self.setWindowTitle("Edit server")
        self.add_button.setText("Save")
        self.address.setText(url)
        self.model.setCurrentText(model)
        self.window_size.setValue(context_window)
        self.key.setPlaceholderText(_KEEP_KEY if has_key else _NO_KEY)
        self.key.setFocus()

    def set_busy(self, text: str) -> None:
        """A test or a save is under way: say so, and take no second one meanwhile."""
        self.found.setText(text)
        self.found.setStyleSheet("")
        self.test_button.setEnabled(False)
        self.add_button.setEnabled(False)

    def show_result(self, text: str, models: Sequence[str], chosen: str = "") -> None:
        """What the test found (one line), and the server's models to choose from."""
        self.test_failed = ""
        typed = self.model.currentText().strip()
        self.model.clear()
        self.model.addItems(list(models))
        self.model.setCurrentText(chosen or typed or (models[0] if len(models) == 1 else ""))
        self.model.setToolTip(plain_tip(self.model.currentText()))
        self.found.setText(text)
        self.found.setStyleSheet("")
        self._update_buttons()

    def show_window_assumed(self, n_ctx: int) -> None:
        """After a test: the server does not say its window and `n_ctx` is assumed (0: it does
        say, or one is set here). The field then says so instead of "as the server says"."""
        if n_ctx and self.window_size.value() == 0:
            self.window_size.setSpecialValueText(f"Unknown: {n_ctx:,} assumed")
            self.window_size.setToolTip(
                f"The server does not say its window, so {n_ctx:,} tokens are assumed. Set the "
                "model's real window here if you know it."
            )
        else:
            self.window_size.setSpecialValueText(_WINDOW_ASKED)
            self.window_size.setToolTip(_WINDOW_HINT)

    def show_test_error(self, text: str) -> None:
        """Why the test connection failed, in one line; Add stays possible (a server that is off
        now may be on later), and is told it was not reachable."""
        self.show_error(text)
        self.test_failed = text

    def show_error(self, text: str) -> None:
        """Why the server cannot be used, in one line; what was typed stays."""
        self.found.setText(text)
        self.found.setStyleSheet("color: #dc2626;")
        self._update_buttons()

    def _forget_test(self, *_args: object) -> None:
        self.test_failed = ""

    def _update_buttons(self, *_args: object) -> None:
        has_address = bool(self.address.text().strip())
        self.test_button.setEnabled(has_address)
        self.add_button.setEnabled(has_address)
