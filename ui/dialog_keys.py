"""Dialogs where Enter does only what the focused field does with it.

A search box runs its search on Enter and a table loads its row; QDialog then presses its default
button as well, which closed "Get models" (or searched a second time) and opened the import
dialog over the model picker. Here Enter that reaches the dialog is used up; a focused button
still takes Enter itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class EnterSafeDialog(QDialog):
    """A QDialog without its default button: Enter never closes it or presses a button the
    person did not choose. Escape still closes it."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        if event.key() in _ENTER:
            event.accept()
            return
        super().keyPressEvent(event)
