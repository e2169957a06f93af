"""The numbered sources under a reply: file name and page, each a button that opens the page."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from engine.display import display_name


def source_title(source: dict) -> str:
    name = display_name(str(source.get("path", ""))) or "document"
    page = source.get("page")
    return f"[{source.get('number', '?')}]  {name}" + (f"  ·  page {page}" if page else "")


class SourceList(QWidget):
    """Shows sources; emits `sourceClicked(source)` with the source's dict."""

    sourceClicked = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 4, 0, 0)
        self._layout.setSpacing(3)
        self._sources: list[dict] = []
        self.setVisible(False)

    def sources(self) -> list[dict]:
        return list(self._sources)

    def set_sources(self, sources: list[dict]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self._sources = list(sources)
        self.setVisible(bool(sources))
        if not sources:
            return
        title = QLabel("Sources")
        title.setObjectName("MessageRole")
        self._layout.addWidget(title)
        for source in sources:
            button = QPushButton(source_title(source))
            button.setObjectName("SourceButton")
            excerpt = " ".join(str(source.get("excerpt", "")).split())
            button.setToolTip(excerpt[:500] + ("…" if len(excerpt) > 500 else ""))
            button.clicked.connect(lambda _=False, s=source: self.sourceClicked.emit(s))
            self._layout.addWidget(button)

    def button_for(self, number: int) -> QPushButton | None:
        """The button of source `number` (for tests and keyboard focus)."""
        for index in range(self._layout.count()):
            widget = self._layout.itemAt(index).widget()
            if isinstance(widget, QPushButton) and widget.text().startswith(f"[{number}]"):
                return widget
        return None
