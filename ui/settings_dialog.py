"""The settings dialog, built from the settings schema: one page per group, a field per option."""

from __future__ import annotations

import os
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.backends import usable_cpus
from engine.display import counted
from engine.errors import ModelFileError, as_sentence
from engine.gguf_info import check_gguf_file
from engine.hub.connection import DEFAULT_ENDPOINT, endpoint_problem
from engine.settings_schema import GROUP_TITLES, OPTIONS, Option, SettingError, format_number
from ui.number_box import NumberBox

HUB_KEY = "hub.endpoint"
THREADS_KEY = "model.threads"
DRAFT_KEY = "model.draft_model"
# Whole numbers whose lowest value means something else, shown and typed as its word.
_SPECIAL = {THREADS_KEY: (0, "auto"), "sampling.seed": (-1, "random"),
            "model.gpu_layers": (-1, "auto")}  # fmt: skip
# The most GPU layers the field steps to: more than any model has (llama.cpp stops at 512).
MAX_GPU_LAYERS = 999
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


def _whole_bounds(option: Option) -> tuple[int, int, tuple[int, str] | None]:
    """The bounds of a whole-number field and its special value: the schema's, with CPU threads
    at most the CPUs this process may run on, and the special value below the bounds."""
    special = _SPECIAL.get(option.key)
    if option.kind == "gpu_layers":
        return 0, MAX_GPU_LAYERS, special
    low = int(option.minimum) if option.minimum is not None else 0
    high = int(option.maximum) if option.maximum is not None else 2**31 - 1
    if option.key == THREADS_KEY:
        high = min(high, usable_cpus())
    if special is not None and special[0] == low:
        low += 1
    return low, high, special


def _bounded(option: Option, editor: QWidget) -> Option:
    """`option` as its field bounds it, so that a value out of the field's bounds is refused in
    the schema's words ("CPU threads must be 0 (auto) or between 1 and 8.")."""
    if option.kind != "int" or not isinstance(editor, NumberBox):
        return option
    special = (editor.special,) if editor.special is not None else ()
    return replace(option, minimum=editor.low, maximum=editor.high, special=special)


def _editor(option: Option) -> QWidget:
    if option.kind == "bool":
        return QCheckBox()
    if option.kind in ("int", "gpu_layers"):
        low, high, special = _whole_bounds(option)
        return NumberBox(low, high, special=special)
    if option.kind == "float":
        bottom = option.minimum if option.minimum is not None else 0.0
        top = option.maximum if option.maximum is not None else 1e9
        return NumberBox(bottom, top, step=0.05)
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
    if option.key == DRAFT_KEY:
        line.setPlaceholderText("None: a GGUF file of the same family, or auto")
    if option.key == HUB_KEY:
        line.setPlaceholderText(f"{DEFAULT_ENDPOINT} (the default; HF_ENDPOINT when set)")
    return line


def _read(option: Option, editor: QWidget) -> Any:
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, NumberBox):
        # A whole number as typed is an int; "4.5" stays a float, which a whole field refuses.
        value = editor.value()
        if option.kind == "float" or not value.is_integer():
            return value
        return "auto" if option.kind == "gpu_layers" and value == -1 else int(value)
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QPlainTextEdit):
        return editor.toPlainText()
    assert isinstance(editor, QLineEdit)
    # A space pasted around a path would make it another file's.
    return editor.text().strip() if option.key == DRAFT_KEY else editor.text()


def _write(option: Option, editor: QWidget, value: Any) -> str:
    """Show `value` in `editor`.

    Returns:
        "" or, for a number outside the field's bounds (a settings file written on a computer
        with more CPUs), a sentence saying which number is shown instead.
    """
    if isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, NumberBox):
        number = -1 if option.kind == "gpu_layers" and value == "auto" else value
        shown = number if editor.is_special(number) else min(max(number, editor.low), editor.high)
        editor.setValue(shown)
        if shown != number:
            return _shown_instead(option, editor, number, shown)
    elif isinstance(editor, QComboBox):
        editor.setCurrentIndex(max(0, editor.findData(value)))
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText(str(value))
    elif isinstance(editor, QLineEdit):
        editor.setText(str(value))
    return ""


def _shown_instead(option: Option, editor: NumberBox, value: float, shown: float) -> str:
    if option.key == THREADS_KEY and value > shown:
        why = f"more than the {counted(int(shown), 'CPU')} Hearth may use on this computer"
    else:
        why = f"outside {format_number(editor.low)} to {format_number(editor.high)}"
    return (f"{option.label} was {format_number(value)} in the settings, {why}: "
            f"{format_number(shown)} is shown, and Save keeps it.")  # fmt: skip


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
        shown_instead: list[str] = []
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
            shown_instead.append(_write(option, editor, values.get(option.key, option.default)))
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
        self._say(" ".join(note for note in shown_instead if note))
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
        """Show `value` in the field of `key`; a number out of its bounds is shown clamped,
        and the dialog says so."""
        self._say(_write(self.option(key), self.editors[key], value))

    def _say(self, message: str) -> None:
        """Show `message` in the error line (nothing when empty)."""
        if message:
            self.error.setText(message)
            self.error.setVisible(True)

    def _go_to(self, key: str) -> None:
        """Bring the field of `key` into view with the focus, its text selected to type over."""
        self.tabs.setCurrentWidget(self.pages[self.option(key).group])
        editor = self.editors[key]
        editor.setFocus()
        if isinstance(editor, (QLineEdit, QAbstractSpinBox)):
            editor.selectAll()

    def _checked(self, key: str) -> Any:
        """The value of `key`'s field, checked as the schema and the field's bounds say, and a
        changed draft model as a GGUF file.

        Raises:
            SettingError: The value is refused; the message says why and what would do.
        """
        option, editor = self.option(key), self.editors[key]
        value = _read(option, editor)
        try:
            value = _bounded(option, editor).validate(value)
        except SettingError as exc:
            if key != THREADS_KEY:
                raise
            cpus = counted(usable_cpus(), "CPU")
            raise SettingError(f"{exc} Hearth may use {cpus} on this computer.") from exc
        checked = option.validate(value)
        if key == DRAFT_KEY and checked not in ("", "auto") and checked != self._initial.get(key):
            problem = _draft_problem(checked)
            if problem:
                raise SettingError(problem)
        return checked

    def restore_defaults(self) -> None:
        for key, editor in self.editors.items():
            _write(self.option(key), editor, self.option(key).default)

    def _on_save(self) -> None:
        changed = {}
        if HUB_KEY in self.editors and self._check_hub_address():
            self._go_to(HUB_KEY)
            return  # nothing is saved while the address is wrong
        for key in self.editors:
            try:
                checked = self._checked(key)
            except SettingError as exc:
                self._say(str(exc))
                self._go_to(key)
                return  # nothing is saved while a value is refused; every field keeps its text
            if checked != self._initial.get(key):
                changed[key] = checked
        self.applied.emit(MappingProxyType(changed))
        token = self.token.text().strip()
        if token or self._forget_token:
            self.tokenEntered.emit(token)
        self.accept()


def _draft_problem(path: str) -> str:
    """Why `path` cannot be a draft model (missing, a folder, not GGUF), in words; "" when it
    may be one. Reads four bytes at most, so it answers at once."""
    try:
        check_gguf_file(path)
    except ModelFileError as exc:
        then = "Or leave" if exc.hint else "Check the path, or leave"
        return f"Draft model: {as_sentence(str(exc))} {then} the field empty for no draft model."
    return ""
