"""Shown instead of vanishing when something unexpected breaks: what happened and where the log is."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QTextEdit, QWidget


def crash_box(
    summary: str, details: str, log_path: str, parent: QWidget | None = None
) -> QMessageBox:
    """A non-blocking error box; the caller decides whether to `open()` or `exec()` it."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Hearth ran into a problem")
    box.setText("Something went wrong. Your chats are saved.")
    box.setInformativeText(
        f"{summary}\n\nThe details are in the log file:\n{log_path}\n\n"
        "You can keep working; if the window misbehaves, restart Hearth."
    )
    box.setDetailedText(details)
    for area in box.findChildren(QTextEdit):  # where Qt shows the details
        area.setAccessibleName("Error details")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    copy = box.addButton("Copy log path", QMessageBox.ButtonRole.ActionRole)
    folder = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Ok)
    # Action buttons close the box by default; these should not.
    copy.clicked.disconnect()
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(log_path))
    folder.clicked.disconnect()
    folder.clicked.connect(
        lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(log_path).parent)))
    )
    return box
