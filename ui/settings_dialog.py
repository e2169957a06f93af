"""The settings dialog, built from the settings schema: one page per group, a field per option."""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.hub.connection import DEFAULT_ENDPOINT, endpoint_problem
from engine.settings_schema import GROUP_TITLES, OPTIONS, Option, SettingError

HUB_KEY = "hub.endpoint"
# The footer note is about these groups' settings only.
MODEL_GROUPS = ("model",)

_CHOICE_LABELS = {
    "sliding_window": "Drop oldest turns",
    "summarize": "Summarize older turns",
    "truncate_middle": "Shorten long excerpts",
    "stop": "Stop and tell me",
    "system": "Follow the system",
    "light": "Light",
    "dark": "Dark",
}


def _editor(option: Option) -> QWidget:
    if option.kind == "bool":
        return QCheckBox()
    if option.kind == "int":
        whole = QSpinBox()
        whole.setRange(int(option.minimum or 0), int(option.maximum or 2**31 - 1))
        if option.key == "model.threads" or option.key == "sampling.seed":
            whole.setSpecialValueText("auto" if option.key == "model.threads" else "random")
        return whole
    if option.kind == "float":
        number = QDoubleSpinBox()
        number.setRange(option.minimum or 0.0, option.maximum or 1e9)
        number.setSingleStep(0.05)
        number.setDecimals(2)
        return number
    if option.kind == "gpu_layers":
        layers = QSpinBox()
        layers.setRange(-1, 999)
        layers.setSpecialValueText("auto")
        return layers
    if option.kind == "choice":
        choices = QComboBox()
        for choice in option.choices:
            choices.addItem(_CHOICE_LABELS.get(choice, choice), choice)
        return choices
    if option.kind == "text":
        text = QPlainTextEdit()
        text.setMaximumHeight(110)
        return text
    line = QLineEdit()
    if option.key == "model.draft_model":
        line.setPlaceholderText("None: a GGUF file of the same family, or auto")
    if option.key == HUB_KEY:
        line.setPlaceholderText(f"{DEFAULT_ENDPOINT} (the default; HF_ENDPOINT when set)")
    return line


def _read(option: Option, editor: QWidget) -> Any:
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if option.kind == "gpu_layers" and isinstance(editor, QSpinBox):
        return "auto" if editor.value() < 0 else editor.value()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QPlainTextEdit):
        return editor.toPlainText()
    assert isinstance(editor, QLineEdit)
    return editor.text()


def _write(option: Option, editor: QWidget, value: Any) -> None:
    if isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif option.kind == "gpu_layers" and isinstance(editor, QSpinBox):
        editor.setValue(-1 if value == "auto" else int(value))
    elif isinstance(editor, QSpinBox):
        editor.setValue(int(value))
    elif isinstance(editor, QDoubleSpinBox):
        editor.setValue(float(value))
    elif isinstance(editor, QComboBox):
        editor.setCurrentIndex(max(0, editor.findData(value)))
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText(str(value))
    elif isinstance(editor, QLineEdit):
        editor.setText(str(value))


TOKEN_UNSET = "None: needed only for gated models"
TOKEN_STORED = "Stored in the system keyring; type a new one to replace it"


class SettingsDialog(QDialog):
    """Shows `values`; on Save validates and emits `applied(changes)`, a read-only mapping of
    each changed key to its new value, and `tokenEntered(token)` when the Hub access token was
    typed or forgotten ("" then). The token is never part of `values`: it lives in the keyring."""

    applied = Signal(object)
    tokenEntered = Signal(str)

    def __init__(self, values: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(680)
        self._initial = dict(values)
        self.editors: dict[str, QWidget] = {}
        self.tabs = QTabWidget()
        self.forms: dict[str, QFormLayout] = {}
        self.pages: dict[str, QWidget] = {}
        forms = self.forms
        for option in OPTIONS:
            if option.hidden:
                continue
            if option.group not in forms:
                page = QWidget()
                forms[option.group] = QFormLayout(page)
                self.pages[option.group] = page
                self.tabs.addTab(page, GROUP_TITLES.get(option.group, option.group.title()))
            editor = _editor(option)
            editor.setToolTip(option.description)
            editor.setObjectName(option.key)
            editor.setAccessibleName(option.label)
            editor.setAccessibleDescription(option.description)
            label = QLabel(option.label)
            label.setToolTip(option.description)
            label.setBuddy(editor)
            forms[option.group].addRow(label, editor)
            self.editors[option.key] = editor
            _write(option, editor, values.get(option.key, option.default))
        self._forget_token = False
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(TOKEN_UNSET)
        self.token.setAccessibleName("Hub access token")
        self.token.setAccessibleDescription(
            "For gated models. Kept in the system keyring, never in the settings file."
        )
        self.token.setToolTip(self.token.accessibleDescription())
        self.forget_token = QPushButton("Forget")
        self.forget_token.setAccessibleName("Forget the access token")
        self.forget_token.setAccessibleDescription("Delete the stored token when you save")
        self.forget_token.setEnabled(False)
        self.forget_token.clicked.connect(self._on_forget_token)
        if "hub" in forms:
            token_row = QHBoxLayout()
            token_row.addWidget(self.token, 1)
            token_row.addWidget(self.forget_token)
            label = QLabel("Access token")
            label.setToolTip(self.token.accessibleDescription())
            label.setBuddy(self.token)
            forms["hub"].addRow(label, token_row)
        # Every tab's title in view, without scroll arrows.
        bar = self.tabs.tabBar()
        bar.ensurePolished()  # the style sheet's padding counts
        titles = sum(bar.tabSizeHint(i).width() for i in range(bar.count()))
        self.setMinimumWidth(max(680, titles + 48))
        self.note = QLabel("Model and memory changes apply when the model is next loaded.")
        self.note.setObjectName("Muted")
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.error.setStyleSheet("color: #b42318;")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self.restore_defaults
        )
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._hub_message = ""
        self.tabs.currentChanged.connect(self._show_note)
        self._show_note()
        hub = self.editors.get(HUB_KEY)
        if isinstance(hub, QLineEdit):  # said when the address is entered, not at search time
            hub.editingFinished.connect(self._check_hub_address)

    def _show_note(self, *_args: object) -> None:
        """The note on when model changes apply, on the tabs of those settings only."""
        pages = [self.pages[group] for group in MODEL_GROUPS if group in self.pages]
        self.note.setVisible(self.tabs.currentWidget() in pages)

    def _check_hub_address(self) -> str:
        """Say at once when the Hub address is not a web address; returns the problem."""
        editor = self.editors[HUB_KEY]
        assert isinstance(editor, QLineEdit)
        problem = endpoint_problem(editor.text())
        shown = self.error.text()
        fallback = (
            "the address in HF_ENDPOINT" if os.environ.get("HF_ENDPOINT") else "huggingface.co"
        )
        message = f"{problem} Leave it empty to use {fallback}." if problem else ""
        if problem or shown == self._hub_message:  # another field's message stays
            self.error.setText(message)
        self._hub_message = message
        self.error.setVisible(bool(self.error.text()))
        return problem

    def set_token_stored(self, stored: bool) -> None:
        """Say whether a token is in the keyring (the token itself is never shown)."""
        if not self._forget_token:
            self.token.setPlaceholderText(TOKEN_STORED if stored else TOKEN_UNSET)
            self.forget_token.setEnabled(stored)

    def _on_forget_token(self) -> None:
        self._forget_token = True
        self.token.clear()
        self.token.setPlaceholderText("Deleted from the keyring when you save")
        self.forget_token.setEnabled(False)

    def add_rows(self, group: str, rows: list[tuple[str, QWidget]]) -> None:
        """Add (label, field) rows under `group`'s options, for what the schema does not hold
        (a key kept in the keyring, a live status); each label names its field."""
        form = self.forms[group]
        for text, widget in rows:
            label = QLabel(text)
            label.setBuddy(widget)
            form.addRow(label, widget)

    def option(self, key: str) -> Option:
        return next(option for option in OPTIONS if option.key == key)

    def values(self) -> dict[str, Any]:
        return {key: _read(self.option(key), editor) for key, editor in self.editors.items()}

    def set_value(self, key: str, value: Any) -> None:
        _write(self.option(key), self.editors[key], value)

    def restore_defaults(self) -> None:
        for key, editor in self.editors.items():
            _write(self.option(key), editor, self.option(key).default)

    def _on_save(self) -> None:
        changed = {}
        if HUB_KEY in self.editors and self._check_hub_address():
            self.tabs.setCurrentWidget(self.pages[self.option(HUB_KEY).group])
            self.editors[HUB_KEY].setFocus()
            return  # nothing is saved while the address is wrong
        try:
            for key, value in self.values().items():
                checked = self.option(key).validate(value)
                if checked != self._initial.get(key):
                    changed[key] = checked
        except SettingError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return
        self.applied.emit(MappingProxyType(changed))
        token = self.token.text().strip()
        if token or self._forget_token:
            self.tokenEntered.emit(token)
        self.accept()
