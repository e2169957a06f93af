"""The chat flow: conversations in the store and the sidebar, sending, streaming, stop, regenerate,
edit-and-resend, export. Every message is written to the store as it happens, so a killed app loses
at most the last second of a reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from app.model_worker import ChatRequest, ModelClient, PlaceRequest
from app.settings import Settings
from engine.chat_export import conversation_markdown, write_text_atomically
from engine.chat_store import DEFAULT_TITLE, ChatStore, ChatStoreError, Conversation
from ui.main_window import MainWindow
from ui.message_widget import MessageWidget

log = logging.getLogger(__name__)

# A streaming reply is saved this often, so a crash keeps most of it.
SAVE_INTERVAL_S = 1.0


@dataclass
class _Reply:
    request_id: int
    conversation_id: int
    message_id: int
    widget: MessageWidget | None
    text: str = ""
    sources: list[dict] = field(default_factory=list)
    saved_at: float = 0.0


def title_from(text: str, words: int = 7) -> str:
    """A chat title from the first words of its first question."""
    parts = " ".join(text.split()).split(" ")
    title = " ".join(parts[:words])
    return (title[:60] + "…") if len(title) > 60 or len(parts) > words else title


class ChatController(QObject):
    """Signals: conversationChanged(conversation or None), replyActive(bool)."""

    conversationChanged = Signal(object)
    replyActive = Signal(bool)

    def __init__(
        self,
        window: MainWindow,
        store: ChatStore,
        model: ModelClient,
        settings: Settings,
        library_for=None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.store = store
        self.model = model
        self.settings = settings
        # conversation -> library name to search ("" for none); set by the documents side.
        self.library_for = library_for or (lambda _conversation: "")
        self.current: Conversation | None = None
        self.reply: _Reply | None = None
        self._editing_from: int | None = None
        self._search = ""
        self._connect_signals()

    def _connect_signals(self) -> None:
        w = self.window
        w.conversations.selected.connect(self.on_selected)
        w.conversations.newRequested.connect(self.on_new)
        w.conversations.renameRequested.connect(self.on_rename)
        w.conversations.deleteRequested.connect(self.on_delete)
        w.conversations.exportRequested.connect(self.on_export)
        w.conversations.searchChanged.connect(self.on_search)
        w.exportRequested.connect(lambda: self.current and self.on_export(self.current.id))
        w.composer.sendRequested.connect(self.on_send)
        w.composer.stopRequested.connect(self.on_stop)
        w.composer.editLastRequested.connect(self.on_edit_last)
        w.chat.regenerateRequested.connect(self.on_regenerate)
        w.chat.editRequested.connect(self.on_edit)
        worker = self.model.worker
        worker.replyStarted.connect(self.on_reply_started)
        worker.replyText.connect(self.on_reply_text)
        worker.replySources.connect(self.on_reply_sources)
        worker.replyFinished.connect(self.on_reply_finished)
        worker.replyFailed.connect(self.on_reply_failed)

    # Conversations

    def restore(self) -> None:
        """Show the stored chats and open the most recent one."""
        conversations = self.store.conversations()
        self.open(conversations[0].id if conversations else None)

    def open(self, conversation_id: int | None) -> None:
        if self.reply is not None:
            self.reply.widget = None  # the reply keeps being saved, just not shown
        self._editing_from = None
        self.current = self.store.conversation(conversation_id) if conversation_id else None
        self.window.chat.clear()
        if self.current is not None:
            for message in self.store.messages(self.current.id):
                if message.role == "system":
                    continue
                self.window.chat.add_message(
                    message.id, message.role, message.content, message.stats, message.sources
                )
            if self.reply is not None and self.reply.conversation_id == self.current.id:
                last = self.window.chat.last()
                if last is not None and last.message_id == self.reply.message_id:
                    self.reply.widget = last
                    last.set_streaming(True)
        self.window.chat.set_busy(self.reply is not None)
        self.window.chat.scroll_to_bottom()
        self.window.title.setText(self.current.title if self.current else DEFAULT_TITLE)
        self.refresh_list()
        self.conversationChanged.emit(self.current)

    def ensure_conversation(self, first_text: str = "") -> Conversation:
        """The open conversation, created now if the window shows a blank new chat."""
        if self.current is None:
            title = title_from(first_text) if first_text else DEFAULT_TITLE
            self.current = self.store.create_conversation(title)
            self.window.title.setText(self.current.title)
            self.refresh_list()
            self.conversationChanged.emit(self.current)
        return self.current

    def refresh_list(self) -> None:
        items = self.store.search(self._search) if self._search else self.store.conversations()
        self.window.conversations.set_conversations(
            items, self.current.id if self.current else None
        )

    def on_selected(self, conversation_id: int) -> None:
        if self.current is None or conversation_id != self.current.id:
            self.open(conversation_id)

    def on_new(self) -> None:
        self.open(None)
        self.window.focus_composer()

    def on_rename(self, conversation_id: int, title: str) -> None:
        self.store.rename(conversation_id, title)
        if self.current is not None and self.current.id == conversation_id:
            self.current = self.store.conversation(conversation_id)
            self.window.title.setText(self.current.title if self.current else title)
        self.refresh_list()

    def on_delete(self, conversation_id: int) -> None:
        if self.reply is not None and self.reply.conversation_id == conversation_id:
            self.on_stop()
        conversation = self.store.conversation(conversation_id)
        self.store.delete(conversation_id)
        if self.current is not None and self.current.id == conversation_id:
            self.open(None)
        else:
            self.refresh_list()
        name = conversation.title if conversation else "The chat"
        self.window.notice.show_message(
            f"“{name}” was deleted.", action="Undo",
            callback=lambda: self._undelete(conversation_id),
        )  # fmt: skip

    def _undelete(self, conversation_id: int) -> None:
        self.store.undelete(conversation_id)
        self.open(conversation_id)

    def on_search(self, text: str) -> None:
        self._search = text.strip()
        self.refresh_list()

    def on_export(self, conversation_id: int) -> None:
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            return
        suggested = str(Path.home() / f"{title_from(conversation.title, 8)}.md")
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export chat", suggested, "Markdown (*.md)"
        )
        if path:
            self.export_to(conversation_id, Path(path))

    def export_to(self, conversation_id: int, path: Path) -> None:
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            return
        text = conversation_markdown(conversation, self.store.messages(conversation_id))
        try:
            write_text_atomically(path, text)
        except OSError as exc:
            self.window.notice.show_message(f"Could not save {path.name}: {exc}", "error")
            return
        self.window.notice.show_message(f"Saved {path.name}.")

    # Sending

    def on_send(self, text: str) -> None:
        if self.reply is not None:
            return
        if self._editing_from is not None and self.current is not None:
            self.store.delete_messages_from(self.current.id, self._editing_from)
            self.window.chat.remove_from(self._editing_from)
            self._editing_from = None
            self.window.notice.dismiss()
        try:
            conversation = self.ensure_conversation(text)
            history = self._history(conversation.id)
            message = self.store.add_message(conversation.id, "user", text)
        except (
            ChatStoreError
        ) as exc:  # a full or read-only disk, a busy file: say so, keep the text
            self.window.notice.show_message(str(exc), "error")
            self.window.composer.set_text(text)
            return
        self.window.chat.add_message(message.id, "user", text)
        if conversation.title == DEFAULT_TITLE:
            self.on_rename(conversation.id, title_from(text))
        self._ask(conversation, history, text)

    def _history(self, conversation_id: int, before: int | None = None) -> list[dict[str, str]]:
        """Earlier messages for the prompt; empty replies (stopped before a word) are left out."""
        return [
            message.as_prompt()
            for message in self.store.messages(conversation_id)
            if message.role in ("user", "assistant")
            and message.content.strip()
            and (before is None or message.id < before)
        ]

    def pinned_for(self, conversation_id: int) -> list[dict[str, str]]:
        """The conversation's documents that go into every prompt whole."""
        return [
            {"path": doc.path, "text": doc.text}
            for doc in self.store.pinned_documents(conversation_id)
        ]

    def place_request(self, conversation: Conversation, paths: list[str]) -> PlaceRequest:
        """What the model thread needs to judge whether `paths` fit the conversation whole."""
        values = self.settings.values()
        return PlaceRequest(
            conversation_id=conversation.id,
            paths=paths,
            system_prompt=values["chat.system_prompt"],
            history=self._history(conversation.id),
            pinned=self.pinned_for(conversation.id),
            reply_tokens=values["sampling.max_tokens"],
            overflow_policy=values["context.overflow_policy"],
        )

    def _ask(self, conversation: Conversation, history: list[dict], question: str) -> None:
        values = self.settings.values()
        lookup = values["model.lookup_draft_tokens"] if values["model.lookup_decoding"] else 0
        request = ChatRequest(
            history=history,
            question=question,
            system_prompt=values["chat.system_prompt"],
            sampling={
                "temperature": values["sampling.temperature"],
                "top_p": values["sampling.top_p"],
                "top_k": values["sampling.top_k"],
                "min_p": values["sampling.min_p"],
                "repeat_penalty": values["sampling.repeat_penalty"],
                "max_tokens": values["sampling.max_tokens"],
                "seed": values["sampling.seed"],
                "lookup_draft_tokens": lookup,
            },
            library=self.library_for(conversation),
            sources_k=values["chat.sources_k"],
            overflow_policy=values["context.overflow_policy"],
            conversation_id=conversation.id,
            pinned=self.pinned_for(conversation.id),
        )
        placeholder = self.store.add_message(conversation.id, "assistant", "")
        widget = self.window.chat.add_message(placeholder.id, "assistant", "")
        widget.set_streaming(True)
        if self.window.model_status.state != "loaded":
            widget.stats_label.setText("Waiting for the model to load…")
        rid = self.model.chat(request)
        self.reply = _Reply(rid, conversation.id, placeholder.id, widget, saved_at=time.monotonic())
        self.window.composer.set_busy(True)
        self.window.chat.set_busy(True)
        self.replyActive.emit(True)

    def on_stop(self) -> None:
        self.model.stop()

    def on_regenerate(self, message_id: int) -> None:
        if self.reply is not None or self.current is None:
            return
        messages = [m for m in self.store.messages(self.current.id) if m.id < message_id]
        users = [m for m in messages if m.role == "user"]
        if not users:
            return
        question = users[-1]
        self.store.delete_messages_from(self.current.id, message_id)
        self.window.chat.remove_from(message_id)
        self._ask(
            self.current, self._history(self.current.id, before=question.id), question.content
        )

    def on_edit(self, message_id: int) -> None:
        if self.reply is not None or self.current is None:
            return
        message = next(
            (m for m in self.store.messages(self.current.id) if m.id == message_id), None
        )
        if message is None:
            return
        self._editing_from = message_id
        self.window.composer.set_text(message.content)
        self.window.notice.show_message(
            "Editing your last message: Send replaces it and the reply after it.",
            action="Cancel edit", callback=self._cancel_edit, timeout_ms=60000,
        )  # fmt: skip

    def on_edit_last(self) -> None:
        users = [w for w in self.window.chat.messages() if w.role == "user"]
        if users:
            self.on_edit(users[-1].message_id)

    def _cancel_edit(self) -> None:
        self._editing_from = None
        self.window.composer.set_text("")

    # Streaming

    def _mine(self, request_id: int) -> _Reply | None:
        return self.reply if self.reply and self.reply.request_id == request_id else None

    def on_reply_started(self, request_id: int) -> None:
        reply = self._mine(request_id)
        if reply and reply.widget is not None:
            reply.widget.stats_label.setText("Reading the prompt…")
            self.window.gauges.speed.reply_started()

    def on_reply_sources(self, request_id: int, sources: list) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        reply.sources = sources
        if reply.widget is not None:
            reply.widget.set_sources(sources)

    def on_reply_text(self, request_id: int, text: str, pieces: int) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        reply.text += text
        self.window.gauges.speed.tokens_arrived(pieces)
        if reply.widget is not None:
            if not reply.widget.text():
                reply.widget.stats_label.setText("Writing…")
            reply.widget.set_text(reply.text)
        now = time.monotonic()
        if now - reply.saved_at >= SAVE_INTERVAL_S:
            self.store.update_message(reply.message_id, reply.text)
            reply.saved_at = now

    def on_reply_finished(self, request_id: int, stats: dict) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        self.store.update_message(reply.message_id, reply.text, stats, reply.sources)
        if reply.widget is not None:
            reply.widget.set_text(reply.text)
            reply.widget.set_streaming(False)
            reply.widget.set_stats(stats)
        self.window.gauges.speed.reply_finished(stats)
        self._end_reply()

    def on_reply_failed(self, request_id: int, message: str) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        if reply.text:
            stats = {"generated_tokens": 0, "stop_reason": "error", "error": message}
            self.store.update_message(reply.message_id, reply.text, stats, reply.sources)
            if reply.widget is not None:
                reply.widget.set_streaming(False)
                reply.widget.set_stats(stats)
        else:
            self.store.delete_messages_from(reply.conversation_id, reply.message_id)
            if reply.widget is not None:
                self.window.chat.remove_from(reply.message_id)
        self.window.gauges.speed.reply_finished({})
        self.window.notice.show_message(message, "error")
        self._end_reply()

    def _end_reply(self) -> None:
        self.reply = None
        self.window.composer.set_busy(False)
        self.window.chat.set_busy(False)
        self.refresh_list()
        self.replyActive.emit(False)
