"""The sidebar's chats: listing and searching them, opening, new, rename, delete with undo, and
export; the window's title follows the open one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from app.conversation import SAVE_TOPIC, CurrentConversation, store_write
from engine.atomic_io import write_text_atomic
from engine.chat_export import conversation_markdown, export_file_name
from engine.chat_store import DEFAULT_TITLE, ChatStore, Conversation
from engine.errors import HearthError
from ui.main_window import MainWindow


class ConversationsController(QObject):
    """Signals: deleting(conversation id), before a chat is deleted (its reply must stop)."""

    deleting = Signal(int)

    def __init__(
        self,
        window: MainWindow,
        current: CurrentConversation,
        store: ChatStore,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.current = current
        self.store = store
        self._search = ""
        self._connect_signals()

    def _connect_signals(self) -> None:
        sidebar = self.window.conversations
        sidebar.selected.connect(self.on_selected)
        sidebar.newRequested.connect(self.on_new)
        sidebar.renameRequested.connect(self.on_rename)
        sidebar.deleteRequested.connect(self.on_delete)
        sidebar.exportRequested.connect(self.on_export)
        sidebar.searchChanged.connect(self.on_search)
        self.window.exportRequested.connect(self.on_export_current)
        self.current.changed.connect(self.on_changed)
        self.current.renamed.connect(self.on_renamed)

    def restore(self) -> None:
        """Open the most recent chat (or a blank one)."""
        conversations = self.store.conversations()
        self.current.open(conversations[0].id if conversations else None)

    def refresh_list(self) -> None:
        items = self.store.search(self._search) if self._search else self.store.conversations()
        self.window.conversations.set_conversations(items, self.current.id)

    # What happened

    def on_changed(self, conversation: Conversation | None) -> None:
        self.window.title.setText(conversation.title if conversation else DEFAULT_TITLE)
        self.refresh_list()

    def on_renamed(self, conversation: Conversation) -> None:
        if self.current.is_(conversation.id):
            self.window.title.setText(conversation.title)
        self.refresh_list()

    # What the person asked for

    def on_selected(self, conversation_id: int) -> None:
        if not self.current.is_(conversation_id):
            self.current.open(conversation_id)

    def on_new(self) -> None:
        self.current.open(None)
        self.window.focus_composer()

    def on_rename(self, conversation_id: int, title: str) -> None:
        self._write(self.current.rename, conversation_id, title)

    def on_delete(self, conversation_id: int) -> None:
        conversation = self.store.conversation(conversation_id)
        self.deleting.emit(conversation_id)
        if not self._write(self.store.delete, conversation_id):
            return
        if self.current.is_(conversation_id):
            self.current.open(None)
        else:
            self.refresh_list()
        name = conversation.title if conversation else "The chat"
        self.window.notice.show_message(
            f"“{name}” was deleted.", action="Undo",
            callback=lambda: self._undelete(conversation_id),
        )  # fmt: skip

    def _undelete(self, conversation_id: int) -> None:
        if self._write(self.store.undelete, conversation_id):
            self.current.open(conversation_id)

    def _write(self, write: Callable[..., object], *args: object) -> bool:
        written = store_write(write, *args, explain=self._explain)
        if written:  # an earlier failure to save a chat no longer holds
            self.window.notice.withdraw(SAVE_TOPIC)
        return written

    def _explain(self, message: str) -> None:
        self.window.notice.show_message(message, "error", topic=SAVE_TOPIC)

    def on_search(self, text: str) -> None:
        self._search = text.strip()
        self.refresh_list()

    def on_export_current(self) -> None:
        if self.current.id is not None:
            self.on_export(self.current.id)

    def on_export(self, conversation_id: int) -> None:
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            return
        name = export_file_name(conversation, self.store.messages(conversation_id))
        suggested = str(Path.home() / name)
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export chat", suggested, "Markdown (*.md)"
        )
        if path:
            self.export_to(conversation_id, Path(path))

    def export_to(self, conversation_id: int, path: Path) -> None:
        """Write the chat as Markdown to `path`; a refused write is explained, nothing is lost."""
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            return
        text = conversation_markdown(conversation, self.store.messages(conversation_id))
        try:
            write_text_atomic(path, text, make_folder=False)
        except HearthError as exc:
            self.window.notice.show_message(str(exc), "error", topic="export")
            return
        # The topic: a save that worked replaces the refusal of the one before it.
        self.window.notice.show_message(f"Saved {path.name}.", topic="export")
