"""The strip of gauges along the bottom of the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QWidget

from ui.gauges.backend_badge import BackendBadge
from ui.gauges.context_gauge import ContextGauge
from ui.gauges.memory_gauge import MemoryGauge
from ui.gauges.speed_gauge import SpeedGauge


def _divider() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setStyleSheet("color: rgba(128,128,128,60);")
    return line


class GaugeBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GaugeBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.speed = SpeedGauge(self)
        self.context = ContextGauge(self)
        self.memory = MemoryGauge(self)
        self.backend = BackendBadge(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 10, 2)
        layout.setSpacing(0)
        layout.addWidget(self.speed, 3)
        layout.addWidget(_divider())
        layout.addWidget(self.context, 3)
        layout.addWidget(_divider())
        layout.addWidget(self.memory, 3)
        layout.addWidget(_divider())
        layout.addSpacing(8)
        layout.addWidget(self.backend, 0, Qt.AlignmentFlag.AlignVCenter)
