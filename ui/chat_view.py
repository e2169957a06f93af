"""The scrolling list of messages of one conversation, with a welcome text when it is empty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.accessibility import Announcer, ring_on_focus
from ui.message_widget import MessageWidget

if TYPE_CHECKING:
    from engine.library.answer import Source
    from engine.library.types import Evidence
    from engine.stats import GenerationStats

_MAX_WIDTH = 860


class EmptyState(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        title = QLabel("What would you like to know?")
        title.setObjectName("EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Everything you type stays on this computer.\n"
            "Drop PDFs, notes or whole folders anywhere on the window to ask about them;\n"
            "answers then cite the page they came from."
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addSpacing(8)
        layout.addWidget(text)
        layout.addStretch(3)


class ChatView(QScrollArea):
    """Messages stacked top to bottom; follows the newest text while the reader is at the bottom.

    A reply being written is addressed by its message id (`show_reply_text(id, text)`...): when
    its conversation is not the one shown, there is no such message here and nothing happens.
    A finished reply is read out by the screen reader.

    Signals: sourceClicked(Source), evidenceClicked(Evidence), editRequested(message id),
    regenerateRequested(message id).
    """

    sourceClicked = Signal(object)
    evidenceClicked = Signal(object)
    editRequested = Signal(int)
    regenerateRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatScroll")
        self.setAccessibleName("Conversation")
        self.announcer = Announcer(self)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        ring_on_focus(self)  # it takes the focus to scroll with the keys
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget()
        outer = QVBoxLayout(content)
        outer.setContentsMargins(24, 16, 24, 16)
        self._column = QWidget()
        self._column.setMaximumWidth(_MAX_WIDTH)
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(12)
        self._layout.addStretch(1)
        centred = QHBoxLayout()
        centred.addStretch(0)
        centred.addWidget(self._column, 1)
        centred.addStretch(0)
        outer.addLayout(centred)
        self._empty = EmptyState(content)
        outer.addWidget(self._empty, 1)
        self.setWidget(content)
        self._widgets: list[MessageWidget] = []
        self._follow = True
        self._busy = False
        self.verticalScrollBar().rangeChanged.connect(self._on_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._update_empty()

    # Content

    def messages(self) -> list[MessageWidget]:
        return list(self._widgets)

    def clear(self) -> None:
        for widget in self._widgets:
            widget.setParent(None)
            widget.deleteLater()
        self._widgets.clear()
        self._follow = True
        self._update_empty()

    def add_message(
        self,
        message_id: int,
        role: str,
        text: str,
        stats: GenerationStats | None = None,
        sources: Sequence[Source] = (),
        evidence: Sequence[Evidence] = (),
    ) -> MessageWidget:
        widget = MessageWidget(message_id, role, text, stats, sources, evidence, self._column)
        widget.sourceClicked.connect(self.sourceClicked)
        widget.evidenceClicked.connect(self.evidenceClicked)
        widget.editRequested.connect(self.editRequested)
        widget.regenerateRequested.connect(self.regenerateRequested)
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self._widgets.append(widget)
        self._follow = True
        self._refresh_actions()
        self._update_empty()
        return widget

    def remove_from(self, message_id: int) -> None:
        """Remove a message and every one after it."""
        keep = [w for w in self._widgets if w.message_id < message_id]
        for widget in self._widgets[len(keep) :]:
            widget.setParent(None)
            widget.deleteLater()
        self._widgets = keep
        self._refresh_actions()
        self._update_empty()

    def last(self) -> MessageWidget | None:
        return self._widgets[-1] if self._widgets else None

    def message(self, message_id: int) -> MessageWidget | None:
        return next((w for w in self._widgets if w.message_id == message_id), None)

    # A reply being written

    def show_reply_status(self, message_id: int, text: str) -> None:
        """What the reply waits for ("Reading the prompt…")."""
        if (widget := self.message(message_id)) is not None:
            widget.show_status(text)

    def show_reply_text(self, message_id: int, text: str) -> None:
        """The reply's text so far."""
        if (widget := self.message(message_id)) is not None:
            if not widget.text() and text:
                widget.show_status("Writing…")
            widget.set_text(text)

    def show_reply_sources(self, message_id: int, sources: Sequence[Source]) -> None:
        if (widget := self.message(message_id)) is not None:
            widget.set_sources(sources)

    def show_reply_evidence(self, message_id: int, evidence: Sequence[Evidence]) -> None:
        """The sentences of the sources that support the reply, under it."""
        if (widget := self.message(message_id)) is not None:
            widget.set_evidence(evidence)

    def set_reply_streaming(self, message_id: int, streaming: bool) -> None:
        if (widget := self.message(message_id)) is not None:
            widget.set_streaming(streaming)

    def show_reply_done(self, message_id: int, text: str, stats: GenerationStats | None) -> None:
        """The reply is complete: its final text and numbers; the screen reader reads it out."""
        widget = self.message(message_id)
        if widget is None:
            return
        widget.set_text(text)
        widget.set_streaming(False)
        widget.show_reply_stats(stats)
        stopped = stats is not None and stats.stop_reason == "cancelled"
        self.announcer.announce(widget, ("Reply stopped: " if stopped else "Reply: ") + text)

    def set_busy(self, busy: bool) -> None:
        """While a reply is written, edit and regenerate wait."""
        self._busy = busy
        for widget in self._widgets:
            widget.set_actions_enabled(not busy)
        self._refresh_actions()

    def scroll_to_bottom(self) -> None:
        self._follow = True
        QTimer.singleShot(
            0, lambda: self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
        )

    # Internals

    def _refresh_actions(self) -> None:
        last_user = max((w.message_id for w in self._widgets if w.role == "user"), default=-1)
        last_reply = self._widgets[-1].message_id if self._widgets else -1
        for widget in self._widgets:
            widget.set_last(
                widget.message_id == last_user and not self._busy,
                widget.message_id == last_reply and widget.role == "assistant" and not self._busy,
            )

    def _update_empty(self) -> None:
        self._empty.setVisible(not self._widgets)
        self._column.setVisible(bool(self._widgets))

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    def _on_scrolled(self, value: int) -> None:
        # The reader scrolled up to read: stop following until they come back to the bottom.
        self._follow = value >= self.verticalScrollBar().maximum() - 24
