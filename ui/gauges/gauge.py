"""The frame every gauge shares: a small caption over a value line."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget


class Gauge(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title.upper())
        self.title.setObjectName("GaugeTitle")
        self.value = QLabel("–")
        self.value.setObjectName("GaugeValue")
        self.detail = QLabel("")
        self.detail.setObjectName("Muted")
        self.row = QHBoxLayout()
        self.row.setSpacing(8)
        self.row.addWidget(self.value)
        self.row.addWidget(self.detail)
        self.row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(1)
        layout.addWidget(self.title)
        layout.addLayout(self.row)
