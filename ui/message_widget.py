"""One message in the chat: who wrote it, its Markdown, actions, stats, evidence and sources."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ui.evidence_list import EvidenceList
from ui.format import plain_tip, stats_details, stats_line
from ui.markdown_view import MarkdownView
from ui.source_list import SourceList

if TYPE_CHECKING:
    from engine.library.answer import Source
    from engine.library.types import Evidence
    from engine.stats import GenerationStats


class MessageWidget(QFrame):
    """A chat message.

    Signals:
        sourceClicked(Source): a source (button or [n] link in the text) was clicked.
        evidenceClicked(Evidence): the file and page of an evidence line was clicked.
        editRequested(int): the Edit action of a user message, with the message id.
        regenerateRequested(int): the Regenerate action of a reply, with the message id.
    """

    sourceClicked = Signal(object)
    evidenceClicked = Signal(object)
    editRequested = Signal(int)
    regenerateRequested = Signal(int)

    def __init__(
        self,
        message_id: int,
        role: str,
        text: str = "",
        stats: GenerationStats | None = None,
        sources: Sequence[Source] = (),
        evidence: Sequence[Evidence] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.message_id = message_id
        self.role = role
        self.setObjectName("MessageUser" if role == "user" else "MessageAssistant")
        self._text = text
        self._stats = stats

        self.role_label = QLabel("You" if role == "user" else "Hearth")
        self.role_label.setObjectName("MessageRole")
        self.edit_button = self._action(
            "Edit",
            "Edit and send again (Up arrow in an empty box)",
            lambda: self.editRequested.emit(self.message_id),
        )
        self.regenerate_button = self._action(
            "Regenerate",
            "Write this reply again",
            lambda: self.regenerateRequested.emit(self.message_id),
        )
        self.copy_code_button = self._action(
            "Copy code", "Copy the code blocks of this message", self.copy_code
        )
        self.copy_button = self._action("Copy", "Copy this message as Markdown", self.copy)
        self.edit_button.setVisible(False)
        self.regenerate_button.setVisible(False)

        header = QHBoxLayout()
        header.setSpacing(2)
        header.addWidget(self.role_label)
        header.addStretch(1)
        for button in self._actions():
            header.addWidget(button)

        self.body = MarkdownView(self)
        self.body.sourceClicked.connect(self._on_citation)
        self.stats_label = QLabel()
        self.stats_label.setObjectName("MessageStats")
        self.stats_label.setVisible(False)
        self.evidence = EvidenceList(self)
        self.evidence.evidenceClicked.connect(self.evidenceClicked)
        self.sources = SourceList(self)
        self.sources.sourceClicked.connect(self.sourceClicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.body)
        layout.addWidget(self.evidence)
        layout.addWidget(self.sources)
        layout.addWidget(self.stats_label)

        self.body.set_markdown(text, len(sources))
        self.sources.set_sources(sources)
        self.evidence.set_evidence(evidence)
        self.show_reply_stats(stats)
        self._update_code_button()
        self._order_tabs()
        who = "Your message" if role == "user" else "Hearth's reply"
        self.setAccessibleName(who)
        self.body.setAccessibleName(who)
        self.copy_button.setAccessibleName(f"Copy {who.lower()}")
        self.copy_code_button.setAccessibleName("Copy the code blocks")
        self.edit_button.setAccessibleName("Edit your message and send it again")
        self.regenerate_button.setAccessibleName("Write this reply again")

    def _actions(self) -> tuple[QToolButton, ...]:
        """The action buttons, left to right as shown."""
        return (self.edit_button, self.regenerate_button, self.copy_code_button, self.copy_button)

    def _order_tabs(self) -> None:
        """Tab goes through the message as it reads: the actions left to right, the text, the
        evidence, the sources (whose buttons are made later than the rest)."""
        chain = [*self._actions(), self.body, *self.evidence.buttons(), *self.sources.buttons()]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _action(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setObjectName("Flat")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(slot)
        return button

    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        self.body.set_markdown(text, len(self.sources.sources()))

    def set_streaming(self, streaming: bool) -> None:
        self.copy_button.setEnabled(not streaming)
        if not streaming:
            self._update_code_button()
        if streaming:
            self.show_status("Writing…")

    def show_status(self, text: str) -> None:
        """What the reply is waiting for, under it ("Reading the prompt…")."""
        self.stats_label.setText(text)
        self.stats_label.setVisible(bool(text))

    def stats(self) -> GenerationStats | None:
        return self._stats

    def show_reply_stats(self, stats: GenerationStats | None) -> None:
        """The reply's numbers under it (tokens, first token, speed), details in the tooltip."""
        self._stats = stats
        line = stats_line(stats, self._text)
        self.show_status(line)
        self.stats_label.setToolTip(plain_tip(stats_details(stats)) if stats is not None else "")

    def set_sources(self, sources: Sequence[Source]) -> None:
        self.sources.set_sources(sources)
        self.body.set_markdown(self._text, len(sources))
        self._order_tabs()

    def set_evidence(self, evidence: Sequence[Evidence]) -> None:
        """The sentences of the sources that support the reply, under it."""
        self.evidence.set_evidence(evidence)
        self._order_tabs()

    def set_last(self, last_user: bool, last_reply: bool) -> None:
        """Only the newest user message can be edited and the newest reply regenerated."""
        self.edit_button.setVisible(self.role == "user" and last_user)
        self.regenerate_button.setVisible(self.role == "assistant" and last_reply)

    def set_actions_enabled(self, enabled: bool) -> None:
        self.edit_button.setEnabled(enabled)
        self.regenerate_button.setEnabled(enabled)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text)

    def copy_code(self) -> None:
        QGuiApplication.clipboard().setText("\n\n".join(self.body.code_blocks()))

    def _update_code_button(self) -> None:
        self.copy_code_button.setVisible(bool(self.body.code_blocks()))

    def _on_citation(self, number: int) -> None:
        source = self.sources.source(number)
        if source is not None:
            self.sourceClicked.emit(source)
