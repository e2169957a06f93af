"""A tiny line chart of recent values (tokens per second over the last seconds)."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget


class Sparkline(QWidget):
    def __init__(self, capacity: int = 40, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: deque[float] = deque(maxlen=capacity)
        self.setFixedSize(QSize(72, 22))

    def add(self, value: float) -> None:
        self._values.append(max(0.0, value))
        self.update()

    def clear(self) -> None:
        self._values.clear()
        self.update()

    def values(self) -> list[float]:
        return list(self._values)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        baseline = QColor(self.palette().mid().color())
        baseline.setAlpha(120)
        painter.setPen(QPen(baseline, 1))
        painter.drawLine(1, self.height() - 2, self.width() - 1, self.height() - 2)
        if len(self._values) < 2:
            return
        top = max(self._values) or 1.0
        width, height = self.width() - 2, self.height() - 4
        # Few points are spread wider so a short reply still draws a readable line.
        step = width / (max(12, len(self._values)) - 1)
        offset = width - step * (len(self._values) - 1)
        path = QPainterPath()
        for index, value in enumerate(self._values):
            point = QPointF(1 + offset + index * step, 2 + height * (1 - value / top))
            if index == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        pen = QPen(self.palette().highlight().color(), 1.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawPath(path)
        fill = QPainterPath(path)
        fill.lineTo(QPointF(1 + offset + (len(self._values) - 1) * step, 2 + height))
        fill.lineTo(QPointF(1 + offset, 2 + height))
        colour = QColor(self.palette().highlight().color())
        colour.setAlpha(40)
        painter.fillPath(fill, colour)
