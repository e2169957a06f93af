"""The frame every gauge shares: a small caption over a value line.

The gauges share the bar's width by fixed shares, whatever their text says, so a changing speed
never pushes the others sideways; a detail too long for its share drops its last parts whole and
ends in "…" (all of it in the tooltip)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ui.elided_label import ElidedLabel

# Between the parts of a gauge's detail: "RAM 2.1 / 25.3 GB · model 1.1 GB".
SEPARATOR = " · "


def elide_parts(text: str, metrics: QFontMetrics, width: int) -> str:
    """`text` as it fits in `width` pixels: whole, or its first parts that fit followed by "…";
    a first part too long on its own loses words from its end instead, never half a word."""
    parts = text.split(SEPARATOR)
    for count in range(len(parts), 0, -1):
        shown = SEPARATOR.join(parts[:count]) + ("" if count == len(parts) else " …")
        if metrics.horizontalAdvance(shown) <= width:
            return shown
    words = parts[0].split(" ")
    for count in range(len(words) - 1, 0, -1):
        shown = " ".join(words[:count]).rstrip(" /") + " …"  # "RAM 2.1 …", not "RAM 2.1 / …"
        if metrics.horizontalAdvance(shown) <= width:
            return shown
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)


class DetailLabel(ElidedLabel):
    """A gauge's detail line: cut short between its parts (`elide_parts`), all of it in the
    tooltip and in `text()`."""

    def _elide(self) -> None:
        QLabel.setText(self, elide_parts(self.text(), self.fontMetrics(), max(10, self.width())))


class Gauge(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title.upper())
        self.title.setObjectName("GaugeTitle")
        self.value = QLabel("–")
        self.value.setObjectName("GaugeValue")
        self.detail = DetailLabel("")
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
