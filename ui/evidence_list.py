"""The evidence under a reply: the few sentences of the top sources that support it, matched
terms in bold, each with its file and place (page, slide, sheet and rows), which opens the passage.

Even when a small model answers wrongly, the line that holds the answer is in front of the person.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.display import display_name
from engine.library.types import with_place
from ui.format import plain_tip, short_name
from ui.source_list import opens_what

if TYPE_CHECKING:
    from engine.library.types import Evidence

_SPACE = re.compile(r"\s+")
# A file name longer than this is shortened in the middle beside the evidence (in full in the
# tooltip), so that a long name never squeezes the sentences into a narrow column.
MAX_NAME_CHARS = 36
# Beside the sentences while it takes at most this share of the width; under them when narrower.
BESIDE_SHARE = 0.4
BESIDE_SPACING = 10


def evidence_html(evidence: Evidence) -> str:
    """The sentences as rich text in quotes: the document's text escaped, matched terms bold,
    its line breaks read as spaces."""
    parts, last = [], 0
    for start, end in evidence.marks:
        parts.append(_plain(evidence.text[last:start]))
        parts.append(f"<b>{_plain(evidence.text[start:end])}</b>")
        last = end
    parts.append(_plain(evidence.text[last:]))
    quoted = "".join(parts).strip()
    # A passage cut where its chunk of the document ends says so, as a quotation would.
    ellipsis = "" if _WHOLE_ENDING.search(evidence.text.rstrip()) else "…"
    return f"“{quoted}{ellipsis}”"


# How a sentence, a quotation or a bracketed remark ends; anything else was cut mid-sentence.
_WHOLE_ENDING = re.compile(r"[.!?。！？…][\"'”’)\]]*$|[\"”)\]]$")


def _plain(text: str) -> str:
    return html.escape(_SPACE.sub(" ", text))


def evidence_place(evidence: Evidence) -> str:
    """ "[2]  report.pdf  ·  page 4": the source's number (as cited), file and place."""
    name = short_name(evidence.file, MAX_NAME_CHARS)
    number = f"[{evidence.source}]  " if evidence.source else ""
    return number + with_place(name, evidence.page, evidence.location, "  ·  ")


class EvidenceList(QWidget):
    """Shows evidence; emits `evidenceClicked(Evidence)` when its file and page is clicked."""

    evidenceClicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EvidenceList")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 4, 0, 0)
        self._layout.setSpacing(6)
        self._evidence: tuple[Evidence, ...] = ()
        self._quotes: list[QLabel] = []
        self._buttons: list[QPushButton] = []
        self._rows: list[QBoxLayout] = []
        self.setVisible(False)

    def evidence(self) -> tuple[Evidence, ...]:
        return self._evidence

    def quotes(self) -> list[QLabel]:
        """The quoted sentences, in order (for tests)."""
        return list(self._quotes)

    def buttons(self) -> list[QPushButton]:
        """The file-and-page button of each item, in order (for tests and keyboard focus)."""
        return list(self._buttons)

    def set_evidence(self, evidence: Sequence[Evidence]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._evidence = tuple(evidence)
        self._quotes, self._buttons, self._rows = [], [], []
        self.setVisible(bool(evidence))
        if not evidence:
            return
        title = QLabel("Evidence")
        title.setObjectName("MessageRole")
        title.setToolTip("The sentences of the sources that best support this reply")
        self._layout.addWidget(title)
        for shown in evidence:
            self._layout.addWidget(self._row(shown))
        self._arrange()

    def is_beside(self) -> bool:
        """Whether the file and page stand beside the sentences (else under them)."""
        return bool(self._rows) and self._rows[0].direction() == QBoxLayout.Direction.LeftToRight

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """File and page beside the sentences, or under them where a long name would squeeze
        the sentences into a narrow column."""
        widest = max((button.sizeHint().width() for button in self._buttons), default=0)
        # A quote's longest word (a file name, a path) cannot wrap: beside it the link must fit.
        longest_word = max((quote.minimumSizeHint().width() for quote in self._quotes), default=0)
        beside = widest <= BESIDE_SHARE * self.width() and (
            longest_word + BESIDE_SPACING + widest <= self.width()
        )
        direction = QBoxLayout.Direction.LeftToRight if beside else QBoxLayout.Direction.TopToBottom
        for layout, button in zip(self._rows, self._buttons, strict=True):
            if layout.direction() != direction:
                layout.setDirection(direction)
                layout.setSpacing(BESIDE_SPACING if beside else 2)
                where = Qt.AlignmentFlag.AlignTop if beside else Qt.AlignmentFlag.AlignLeft
                layout.setAlignment(button, where)

    def _row(self, evidence: Evidence) -> QWidget:
        row = QWidget()
        layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(BESIDE_SPACING)
        quote = QLabel(evidence_html(evidence))
        quote.setObjectName("EvidenceQuote")
        quote.setTextFormat(Qt.TextFormat.RichText)
        quote.setWordWrap(True)
        # Its longest word must not widen the row, and with it the whole chat past what the
        # window shows: `_arrange` puts the file and page under a quote they do not fit beside.
        quote.setMinimumWidth(1)
        quote.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        quote.setAccessibleName(f"Evidence: {' '.join(evidence.text.split())}")
        button = QPushButton(evidence_place(evidence))
        button.setObjectName("EvidenceLink")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        named = with_place(display_name(evidence.file), evidence.page, evidence.location)
        button.setToolTip(plain_tip(f"{named}\n{opens_what(evidence.file)}"))
        button.setAccessibleName(f"Evidence from {named}")
        button.setAccessibleDescription(opens_what(evidence.file))
        button.clicked.connect(lambda _=False, e=evidence: self.evidenceClicked.emit(e))
        layout.addWidget(quote, 1)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        self._quotes.append(quote)
        self._buttons.append(button)
        self._rows.append(layout)
        return row
