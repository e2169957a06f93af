"""One message in the chat: who wrote it, its Markdown, actions, stats and sources."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ui.format import stats_line
from ui.markdown_view import MarkdownView
from ui.source_list import SourceList


class MessageWidget(QFrame):
    """A chat message.

    Signals:
        sourceClicked(dict): a source (button or [n] link in the text) was clicked.
        editRequested(int): the Edit action of a user message, with the message id.
        regenerateRequested(int): the Regenerate action of a reply, with the message id.
    """

    sourceClicked = Signal(dict)
    editRequested = Signal(int)
    regenerateRequested = Signal(int)

    def __init__(
        self,
        message_id: int,
        role: str,
        text: str = "",
        stats: dict | None = None,
        sources: list[dict] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.message_id = message_id
        self.role = role
        self.setObjectName("MessageUser" if role == "user" else "MessageAssistant")
        self._text = text
        self._stats = stats or {}

        self.role_label = QLabel("You" if role == "user" else "Hearth")
        self.role_label.setObjectName("MessageRole")
        self.copy_button = self._action("Copy", "Copy this message as Markdown", self.copy)
        self.copy_code_button = self._action(
            "Copy code", "Copy the code blocks of this message", self.copy_code
        )
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
        self.edit_button.setVisible(False)
        self.regenerate_button.setVisible(False)

        header = QHBoxLayout()
        header.setSpacing(2)
        header.addWidget(self.role_label)
        header.addStretch(1)
        for button in (
            self.edit_button,
            self.regenerate_button,
            self.copy_code_button,
            self.copy_button,
        ):
            header.addWidget(button)

        self.body = MarkdownView(self)
        self.body.sourceClicked.connect(self._on_citation)
        self.stats_label = QLabel()
        self.stats_label.setObjectName("MessageStats")
        self.stats_label.setVisible(False)
        self.sources = SourceList(self)
        self.sources.sourceClicked.connect(self.sourceClicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.body)
        layout.addWidget(self.sources)
        layout.addWidget(self.stats_label)

        self.body.set_markdown(text, len(sources or []))
        self.sources.set_sources(sources or [])
        self.set_stats(self._stats)
        self._update_code_button()

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
            self.stats_label.setText("Writing…")
            self.stats_label.setVisible(True)

    def set_stats(self, stats: dict | None) -> None:
        self._stats = stats or {}
        line = stats_line(self._stats)
        self.stats_label.setText(line)
        self.stats_label.setVisible(bool(line))
        if self._stats:
            tip = (
                f"Prompt: {self._stats.get('prompt_tokens', 0)} tokens "
                f"({self._stats.get('cached_tokens', 0)} reused from cache), "
                f"{self._stats.get('prompt_tokens_per_s', 0):.0f} tok/s\n"
                f"Reply: {self._stats.get('generated_tokens', 0)} tokens, "
                f"{self._stats.get('generation_tokens_per_s', 0):.1f} tok/s"
            )
            if self._stats.get("error"):
                tip += f"\nError: {self._stats['error']}"
            self.stats_label.setToolTip(tip)

    def set_sources(self, sources: list[dict]) -> None:
        self.sources.set_sources(sources)
        self.body.set_markdown(self._text, len(sources))

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
        for source in self.sources.sources():
            if int(source.get("number", 0)) == number:
                self.sourceClicked.emit(source)
                return
