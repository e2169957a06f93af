"""The numbered sources under a reply: file name and place (page, slide, sheet and rows), each a
button that opens the cited passage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from engine.display import display_name
from engine.library.formats import is_paged
from engine.library.types import with_place
from ui.format import plain_tip, short_name

if TYPE_CHECKING:
    from engine.library.answer import Source


# A longer file name is shortened in the middle (in full in the tooltip), so that the button
# never makes the reply wider than the narrowest window.
MAX_NAME_CHARS = 48


def source_title(source: Source) -> str:
    """ "[2]  report.pdf  ·  page 4", "[1]  deck.pptx  ·  slide 4" """
    name = short_name(source.file, MAX_NAME_CHARS)
    return f"[{source.number}]  " + with_place(name, source.page, source.location, "  ·  ")


def opens_what(path: str) -> str:
    """What clicking a source or evidence line of `path` shows, for its accessible description."""
    if is_paged(path):
        return "Opens the page with the passage highlighted"
    return "Shows the cited passage"


class SourceList(QWidget):
    """Shows sources; emits `sourceClicked(Source)`."""

    sourceClicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 4, 0, 0)
        self._layout.setSpacing(3)
        self._sources: tuple[Source, ...] = ()
        self.setVisible(False)

    def sources(self) -> tuple[Source, ...]:
        return self._sources

    def source(self, number: int) -> Source | None:
        return next((source for source in self._sources if source.number == number), None)

    def set_sources(self, sources: Sequence[Source]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._sources = tuple(sources)
        self.setVisible(bool(sources))
        if not sources:
            return
        title = QLabel("Sources")
        title.setObjectName("MessageRole")
        self._layout.addWidget(title)
        for source in sources:
            button = QPushButton(source_title(source))
            button.setObjectName("SourceButton")
            excerpt = " ".join(source.excerpt.split())
            shown = excerpt[:500] + ("…" if len(excerpt) > 500 else "")
            named = with_place(display_name(source.file), source.page, source.location)
            button.setToolTip(plain_tip(f"{named}\n{shown}"))
            button.setAccessibleName(f"Source {source.number}: {named}")
            button.setAccessibleDescription(opens_what(source.file))
            button.clicked.connect(lambda _=False, s=source: self.sourceClicked.emit(s))
            self._layout.addWidget(button)

    def buttons(self) -> list[QPushButton]:
        """The button of each source, in order (for keyboard focus)."""
        items = (self._layout.itemAt(index) for index in range(self._layout.count()))
        widgets = (item.widget() for item in items if item is not None)
        return [widget for widget in widgets if isinstance(widget, QPushButton)]

    def button_for(self, number: int) -> QPushButton | None:
        """The button of source `number` (for tests and keyboard focus)."""
        for index in range(self._layout.count()):
            item = self._layout.itemAt(index)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QPushButton) and widget.text().startswith(f"[{number}]"):
                return widget
        return None
