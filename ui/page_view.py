"""A rendered page image with the cited passage painted over it."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget


class PageView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.highlights: list[tuple[float, float, float, float]] = []

    def set_page(self, png: bytes, highlights: list[tuple[float, float, float, float]]) -> None:
        self.image = QImage.fromData(png)  # the format is read from the data
        self.highlights = list(highlights)
        self.setFixedSize(self.image.size())
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return self.image.size() if not self.image.isNull() else QSize(400, 500)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        if self.image.isNull():
            return
        painter = QPainter(self)
        painter.drawImage(0, 0, self.image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        for x, y, w, h in self.highlights:
            painter.fillRect(QRectF(x - 1, y - 1, w + 2, h + 2), QColor(255, 220, 70, 200))
