"""The frame every gauge shares: a small caption over a value line.

The gauges share the bar's width by fixed shares, whatever their text says, so a changing speed
never pushes the others sideways; a detail too long for its share ends in "…" (all of it in the
tooltip)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ui.elided_label import ElidedLabel


class Gauge(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title.upper())
        self.title.setObjectName("GaugeTitle")
        self.value = QLabel("–")
        self.value.setObjectName("GaugeValue")
        self.detail = ElidedLabel("")
        self.detail.setObjectName("Muted")
        self.row = QHBoxLayout()
        self.row.setSpacing(8)
        self.row.addWidget(self.value)
        self.row.addWidget(self.detail, 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(1)
        layout.addWidget(self.title)
        layout.addLayout(self.row)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        # No wish beyond the minimum: the bar's shares decide the width, not the text.
        return QSize(self.minimumSizeHint().width(), super().sizeHint().height())
