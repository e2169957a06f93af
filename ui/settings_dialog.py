"""The settings dialog, built from the settings schema: one page per group, a field per option."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.settings_schema import GROUP_TITLES, OPTIONS, Option, SettingError

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
    return QLineEdit()


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


class SettingsDialog(QDialog):
    """Shows `values`; on Save validates and emits `applied(changes)`, a read-only mapping of
    each changed key to its new value."""

    applied = Signal(object)

    def __init__(self, values: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(680)
        self._initial = dict(values)
        self.editors: dict[str, QWidget] = {}
        self.tabs = QTabWidget()
        forms: dict[str, QFormLayout] = {}
        for option in OPTIONS:
            if option.hidden:
                continue
            if option.group not in forms:
                page = QWidget()
                forms[option.group] = QFormLayout(page)
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
        self.note = QLabel("Model and memory changes apply when the model is next loaded.")
        self.note.setObjectName("Muted")
        self.error = QLabel()
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
        self.accept()
