"""The veil shown over the window while files are dragged onto it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class DropOverlay(QWidget):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("DropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.label = QLabel("Drop to add to this chat's documents")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        self.hide()

    def show_for(self, text: str) -> None:
        self.label.setText(text)
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect().adjusted(12, 12, -12, -12))
        self.raise_()
        self.show()
