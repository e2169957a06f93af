"""The open conversation, which the chat, the documents and the sidebar all follow, and how a
conversation becomes the model's next prompt.

`CurrentConversation.changed` fires when another conversation is shown (or a blank new chat);
`renamed` when a title changes. Controllers watch these instead of reaching into each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.chat.answer import Question, WholeDocument
from engine.chat.placement import DocumentsToPlace
from engine.chat_store import DEFAULT_TITLE, ChatStore, ChatStoreError, Conversation
from engine.chat_title import title_from
from engine.context.budget import Message

log = logging.getLogger(__name__)

# The notice topic of a chat the store could not save: the next write that goes through
# withdraws it.
SAVE_TOPIC = "chat-save"


def store_write(
    write: Callable[..., object], *args: object, explain: Callable[[str], None] | None
) -> bool:
    """Run one chat-store write from a Qt slot, where an exception would reach the crash dialog.

    A `ChatStoreError` (a full or read-only disk, a database another process holds) is logged
    and, when `explain` is given, its message passed to it. Returns whether it was written.
    """
    try:
        write(*args)
    except ChatStoreError as exc:
        log.warning("Chat not saved: %s", exc)
        if explain is not None:
            explain(str(exc))
        return False
    return True


class CurrentConversation(QObject):
    """The conversation the window shows (None: a blank new chat, created on first use).

    Signals: changed(Conversation | None), renamed(Conversation).
    """

    changed = Signal(object)
    renamed = Signal(object)

    def __init__(self, store: ChatStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.conversation: Conversation | None = None

    @property
    def id(self) -> int | None:
        return self.conversation.id if self.conversation is not None else None

    def is_(self, conversation_id: int | None) -> bool:
        return conversation_id is not None and conversation_id == self.id

    def open(self, conversation_id: int | None) -> None:
        """Show `conversation_id` (None: a blank new chat); `changed` fires even for the same one,
        so views redraw it."""
        self.conversation = self.store.conversation(conversation_id) if conversation_id else None
        self.changed.emit(self.conversation)

    def ensure(self, first_text: str = "") -> Conversation:
        """The open conversation, created now if the window shows a blank new chat."""
        if self.conversation is None:
            title = title_from(first_text) if first_text else DEFAULT_TITLE
            self.conversation = self.store.create_conversation(title)
            self.changed.emit(self.conversation)
        return self.conversation

    def rename(self, conversation_id: int, title: str) -> None:
        self.store.rename(conversation_id, title)
        renamed = self.store.conversation(conversation_id)
        if renamed is None:
            return
        if self.is_(conversation_id):
            self.conversation = renamed
        self.renamed.emit(renamed)


# How a conversation becomes the next prompt: one place for the chat and the documents.


def history(
    store: ChatStore, conversation_id: int, before: int | None = None
) -> tuple[Message, ...]:
    """Earlier messages for the prompt, as the model read them (a question with the excerpts it
    was answered from), so the prompt starts with what the KV cache holds; empty replies
    (stopped before a word) are left out."""
    return tuple(
        message.as_prompt()
        for message in store.messages(conversation_id)
        if message.role in ("user", "assistant")
        and message.content.strip()
        and (before is None or message.id < before)
    )


def whole_documents(store: ChatStore, conversation_id: int) -> tuple[WholeDocument, ...]:
    """The conversation's documents that go into every prompt whole."""
    return tuple(WholeDocument(d.path, d.text) for d in store.pinned_documents(conversation_id))


def question(
    store: ChatStore,
    values: dict[str, Any],
    conversation: Conversation | None,
    text: str,
    past: Sequence[Message],
    library: str,
) -> Question:
    """The question `text` in `conversation` (None: a blank new chat) after `past`, with the
    settings in `values`."""
    from engine.session import SamplingSettings

    lookup = values["model.lookup_draft_tokens"] if values["model.lookup_decoding"] else 0
    sampling = SamplingSettings(
        temperature=values["sampling.temperature"],
        top_p=values["sampling.top_p"],
        top_k=values["sampling.top_k"],
        min_p=values["sampling.min_p"],
        repeat_penalty=values["sampling.repeat_penalty"],
        max_tokens=values["sampling.max_tokens"],
        seed=values["sampling.seed"],
        lookup_draft_tokens=lookup,
    )
    return Question(
        text=text,
        system_prompt=values["chat.system_prompt"],
        history=tuple(past),
        pinned=whole_documents(store, conversation.id) if conversation is not None else (),
        sampling=sampling,
        library=library,
        sources_k=values["chat.sources_k"],
        overflow_policy=values["context.overflow_policy"],
        conversation=conversation.id if conversation is not None else None,
    )


def documents_to_place(
    store: ChatStore, values: dict[str, Any], conversation: Conversation, paths: Sequence[str]
) -> DocumentsToPlace:
    """What the model thread needs to judge whether `paths` fit `conversation` whole."""
    return DocumentsToPlace(
        conversation_id=conversation.id,
        paths=tuple(paths),
        system_prompt=values["chat.system_prompt"],
        history=history(store, conversation.id),
        pinned=whole_documents(store, conversation.id) if conversation is not None else (),
        reply_tokens=values["sampling.max_tokens"],
        overflow_policy=values["context.overflow_policy"],
    )
