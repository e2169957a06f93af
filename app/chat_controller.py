"""The chat: sending, streaming the reply, stop, regenerate, edit-and-resend. Every message is
written to the store as it happens, so a killed app loses at most the last second of a reply."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from app import conversation as prompts
from app.conversation import SAVE_TOPIC, CurrentConversation, store_write, title_from
from app.model_worker import ModelClient
from app.settings import Settings
from engine.atomic_io import write_text_atomic
from engine.chat.events import ContextUsed, TextArrived
from engine.chat.stored import (
    evidence_from_stored,
    sources_from_stored,
    sources_to_stored,
    stats_from_stored,
)
from engine.chat_export import replies_markdown
from engine.chat_store import (
    DEFAULT_TITLE,
    ChatStore,
    ChatStoreError,
    Conversation,
    StoredMessage,
)
from engine.context.budget import Message
from engine.errors import HearthError
from engine.stats import GenerationStats
from ui.main_window import MainWindow
from ui.unsaved_dialog import QUIT_WITHOUT, SAVE_ELSEWHERE, ask_about_unsaved

if TYPE_CHECKING:
    from engine.library.answer import Source
    from engine.library.types import Evidence

log = logging.getLogger(__name__)

# A streaming reply is saved this often, so a crash keeps most of it.
SAVE_INTERVAL_S = 1.0
# How often a reply the store refused (a full or read-only disk) is offered to it again.
RETRY_SAVE_S = 10.0
# Says why a reply shown from the store is empty (its row was written, its text never).
NOT_SAVED = "Nothing of this reply was saved: Hearth closed, or the disk refused it, first."
# Said under a reply in a chat with documents when no passage of them bore on the question.
NOT_FROM_DOCUMENTS = (
    "Nothing in this chat's documents bears on that question: the answer is the model's own, "
    "not taken from your documents, and any [n] in it points at nothing."
)
# The same, when some of the chat's documents are not read yet (they are named beside it).
NOT_FROM_DOCUMENTS_READ = (
    "Nothing in the documents read so far bears on that question: the answer is the model's "
    "own, and any [n] in it points at nothing."
)
# Why a reply shown from the store ends where it does: Hearth quit while writing it.
CLOSED_MID_REPLY = "Hearth closed while this reply was being written."
# Why a reply shown from the store ends where it does: it was being written when Hearth stopped
# without closing it (a crash, a kill, a power cut), or closed before that could be recorded.
STOPPED_MID_REPLY = ("Hearth stopped while this reply was being written (it was closed or it "
                     "crashed); Regenerate writes it again.")  # fmt: skip
# Ends a reply saved to a file while it was still being written.
CUT_OFF_MARK = "_(Still being written when Hearth closed.)_"
# Settings that change how a chat fills the context window.
CONTEXT_SETTINGS = frozenset({"chat.system_prompt", "sampling.max_tokens",
                              "context.overflow_policy"})  # fmt: skip


@dataclass(frozen=True)
class UnsavedReply:
    """A reply the store refused: what to write when it takes it, and the question it answers
    (for the file a person may save it to instead)."""

    question: str
    text: str
    stats: dict | None = None
    sources: list | None = None


@dataclass
class Reply:
    """The reply being written: which message it fills, and what has arrived so far."""

    request_id: int
    conversation_id: int
    message_id: int
    # The question it answers: taken back into the message box if no reply text ever came.
    question_id: int
    question: str
    searches: bool = False  # its chat has documents: a search comes before the prompt
    # Said with the reply: the chat's documents it was answered without (not indexed yet).
    not_indexed: str = ""
    text: str = ""
    tokens: int = 0
    sources: tuple[Source, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    saved_at: float = field(default_factory=time.monotonic)
    # Set once a save failed (a full disk), so the notice is shown once, not every second.
    save_failed: bool = False


def stats_as_shown(message: StoredMessage, stats: GenerationStats | None) -> GenerationStats | None:
    """What a stored reply (not being written now) shows under it: one whose writing never
    ended says that Hearth stopped while writing it; one whose row was made and then nothing,
    that nothing of it was saved."""
    if not message.content and (stats is None or message.in_progress):
        # Its row was made, and then nothing: Hearth closed, or the disk refused.
        return GenerationStats.ended("error", NOT_SAVED)
    if message.in_progress:  # its count as last saved; none kept before chats version 4
        tokens = stats.generated_tokens if stats is not None else 0
        return replace(GenerationStats.ended("cancelled", STOPPED_MID_REPLY),
                       generated_tokens=tokens)  # fmt: skip
    return stats


class ChatController(QObject):
    """Signals: replyEnded(conversation id), after a reply finished, stopped or failed.

    Args:
        library_for: The library a question in a conversation searches ("" for none).
    """

    replyEnded = Signal(int)

    def __init__(
        self,
        window: MainWindow,
        current: CurrentConversation,
        store: ChatStore,
        model: ModelClient,
        settings: Settings,
        library_for: Callable[[Conversation], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.current = current
        self.store = store
        self.model = model
        self.settings = settings
        self.library_for = library_for
        self.reply: Reply | None = None
        self._editing_from: int | None = None
        # Finished replies the store refused, by message id: (text, stats, sources), written
        # as soon as it takes them, so that "nothing was lost" holds while the window is open.
        self._unsaved: dict[int, UnsavedReply] = {}
        self._unsaved_why = ""
        self._retry = QTimer(self)
        self._retry.setInterval(int(RETRY_SAVE_S * 1000))
        self._retry.timeout.connect(self.save_unsaved)
        self._connect_signals()

    def _connect_signals(self) -> None:
        w = self.window
        w.composer.sendRequested.connect(self.on_send)
        w.composer.stopRequested.connect(self.on_stop)
        w.composer.editLastRequested.connect(self.on_edit_last)
        w.chat.regenerateRequested.connect(self.on_regenerate)
        w.chat.editRequested.connect(self.on_edit)
        self.current.changed.connect(self.show_conversation)
        self.model.replyStarted.connect(self.on_reply_started)
        self.model.replyText.connect(self.on_reply_text)
        self.model.replySources.connect(self.on_reply_sources)
        self.model.replyQuestionRead.connect(self.on_reply_question_read)
        self.model.replyEvidence.connect(self.on_reply_evidence)
        self.model.replyFinished.connect(self.on_reply_finished)
        self.model.replyFailed.connect(self.on_reply_failed)
        self.model.contextUsed.connect(self.on_context_used)
        self.model.loaded.connect(self.show_context)
        self.model.connected.connect(self.show_context)
        self.settings.changed.connect(self.on_setting_changed)

    def show_conversation(self, conversation: Conversation | None) -> None:
        """Draw `conversation`'s messages; a reply still being written in it keeps streaming."""
        self._editing_from = None
        chat = self.window.chat
        chat.clear()
        if conversation is not None:
            streaming = self.reply.message_id if self.reply is not None else None
            for message in self.store.messages(conversation.id):
                if message.role == "system":
                    continue
                stats = stats_from_stored(message.stats)
                if message.role == "assistant" and message.id != streaming:
                    stats = stats_as_shown(message, stats)
                chat.add_message(message.id, message.role, message.content, stats,
                                 sources_from_stored(message.sources),
                                 evidence_from_stored(message.sources))  # fmt: skip
            reply = self.reply
            if reply is not None and reply.conversation_id == conversation.id:
                chat.show_reply_sources(reply.message_id, reply.sources)
                chat.show_reply_text(reply.message_id, reply.text)
                chat.set_reply_streaming(reply.message_id, True)
        chat.set_busy(self.reply is not None)
        chat.scroll_to_bottom()
        self.show_context()

    def show_context(self, *_model: object) -> None:
        """Show on the gauge how the open chat fills the context window before anything is
        asked: restored, switched to, or once a model is loaded. It is counted on the model
        thread, after whatever is queued there (a long chat takes the tokenizer a while)."""
        conversation = self.current.conversation
        past = prompts.history(self.store, conversation.id) if conversation is not None else ()
        question = prompts.question(self.store, self.settings.values(), conversation, "", past,
                                    "")  # fmt: skip
        asked_for = self.current.id

        def show(used: ContextUsed) -> None:
            if self.current.id == asked_for:  # not about a chat left meanwhile
                self.window.gauges.show_budget(used.budget, used.notice)

        self.model.measure(question, show)

    def on_setting_changed(self, key: str, _value: object) -> None:
        if key in CONTEXT_SETTINGS:
            self.show_context()

    # Sending

    def on_send(self, text: str) -> None:
        if self.reply is not None:
            return
        if (why := self._surely_too_long(text)) is not None:
            # Refused before it is shown or saved: drawing and saving a pasted book would hold
            # the window for a second, only to take it back when the engine refuses it.
            self.window.composer.set_text(text)
            self._not_sent(why)
            return
        try:
            if self._editing_from is not None and self.current.conversation is not None:
                self.store.delete_messages_from(self.current.conversation.id, self._editing_from)
                self.window.chat.remove_from(self._editing_from)
                self._editing_from = None
                self.window.notice.dismiss()
            conversation = self.current.ensure(text)
            past = prompts.history(self.store, conversation.id)
            message = self.store.add_message(conversation.id, "user", text)
        except ChatStoreError as exc:  # a full or read-only disk, a busy file: keep the text
            self._explain(str(exc))
            self.window.composer.set_text(text)
            return
        self._saved()
        self.window.chat.add_message(message.id, "user", text)
        if conversation.title == DEFAULT_TITLE:
            self._write(self.current.rename, conversation.id, title_from(text))
        self._ask(conversation, past, message.id, text)

    def _surely_too_long(self, text: str) -> str | None:
        """Why `text` cannot fit the window of the model it would go to, whatever the chat
        holds; None when it may fit (the engine counts it then). Judged from its length alone,
        so a pasted book costs the window a millisecond, not the tokenizer's seconds."""
        from engine.context.manager import ContextFullError, refuse_surely_too_long

        loaded = self.model.settled_model()
        if loaded is None:
            return None
        try:
            refuse_surely_too_long(text, loaded.report.model.longest_token_bytes,
                                   loaded.report.n_ctx,
                                   self.settings.get("sampling.max_tokens"))  # fmt: skip
        except ContextFullError as exc:
            return str(exc)
        return None

    def _ask(self, conversation: Conversation, past: Sequence[Message], question_id: int,
             text: str) -> None:  # fmt: skip
        question = prompts.question(self.store, self.settings.values(), conversation, text, past,
                                    self.library_for(conversation))  # fmt: skip
        try:
            # Marked in progress until it ends: a crash leaves the mark, and a restart shows it.
            placeholder = self.store.add_message(conversation.id, "assistant", "",
                                                 in_progress=True)  # fmt: skip
        except ChatStoreError as exc:  # the question is saved; Regenerate asks it again later
            self._explain(str(exc))
            return
        self._saved()
        self.window.chat.add_message(placeholder.id, "assistant", "")
        self.window.chat.set_reply_streaming(placeholder.id, True)
        if not self.model.has_model:
            self.window.chat.show_reply_status(placeholder.id, "Waiting for the model to load…")
        request_id = self.model.ask(question)
        # This one is sent: an earlier "not sent" no longer holds ("Show it" may still be wanted).
        self.window.notice.withdraw("reply", keep_actions=True)
        self.reply = Reply(request_id, conversation.id, placeholder.id, question_id, text,
                           searches=bool(question.library),
                           not_indexed=self._not_indexed(conversation))  # fmt: skip
        self.window.composer.set_busy(True)
        self.window.chat.set_busy(True)

    def on_stop(self) -> None:
        self.model.stop()

    def stop_for(self, conversation_id: int) -> None:
        """Stop the reply if it is being written in `conversation_id` (about to be deleted)."""
        if self.reply is not None and self.reply.conversation_id == conversation_id:
            self.model.stop()

    def on_regenerate(self, message_id: int) -> None:
        conversation = self.current.conversation
        if self.reply is not None or conversation is None:
            return
        messages = [m for m in self.store.messages(conversation.id) if m.id < message_id]
        users = [m for m in messages if m.role == "user"]
        if not users:
            return
        question = users[-1]
        if not self._write(self.store.delete_messages_from, conversation.id, message_id):
            return
        self.window.chat.remove_from(message_id)
        # The excerpts it was read with belong to the reply just removed; a new search follows.
        self._write(self.store.set_prompt, question.id, None, quiet=True)
        past = prompts.history(self.store, conversation.id, before=question.id)
        self._ask(conversation, past, question.id, question.content)

    def on_edit(self, message_id: int) -> None:
        conversation = self.current.conversation
        if self.reply is not None or conversation is None:
            return
        message = next((m for m in self.store.messages(conversation.id) if m.id == message_id),
                       None)  # fmt: skip
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

    def _mine(self, request_id: int) -> Reply | None:
        return self.reply if self.reply and self.reply.request_id == request_id else None

    def on_reply_started(self, request_id: int) -> None:
        if (reply := self._mine(request_id)) is not None:
            if reply.searches:  # a rerank makes this seconds long: say what is happening
                if self.settings.get("chat.rerank_sources"):
                    status, gauge = "Searching and reranking your documents…", "reranking"
                else:
                    status, gauge = "Searching your documents…", "searching"
                self.window.chat.show_reply_status(reply.message_id, status)
                self.window.gauges.reply_started(f"{gauge} documents")
            else:
                self.window.chat.show_reply_status(reply.message_id, "Reading the prompt…")
                self.window.gauges.reply_started()

    def on_reply_sources(self, request_id: int, sources: tuple[Source, ...]) -> None:
        if (reply := self._mine(request_id)) is not None:
            reply.sources = tuple(sources)
            self.window.chat.show_reply_sources(reply.message_id, reply.sources)
            self.window.chat.show_reply_status(reply.message_id, "Reading the prompt…")
            self.window.gauges.reply_waiting_for("reading the prompt")

    def on_reply_question_read(self, request_id: int, text: str) -> None:
        """Keep the question as the model read it: later turns repeat it, so their prompts start
        with what the KV cache holds. Only speed depends on it, so a failed write is logged."""
        if (reply := self._mine(request_id)) is not None:
            self._write(self.store.set_prompt, reply.question_id, text, quiet=True)

    def on_reply_evidence(self, request_id: int, evidence: tuple[Evidence, ...]) -> None:
        if (reply := self._mine(request_id)) is not None:
            reply.evidence = tuple(evidence)
            self.window.chat.show_reply_evidence(reply.message_id, reply.evidence)

    def on_reply_text(self, request_id: int, batch: TextArrived) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        reply.text += batch.text
        reply.tokens += batch.pieces
        self.window.gauges.tokens_arrived(batch.pieces)
        self.window.chat.show_reply_text(reply.message_id, reply.text)
        now = time.monotonic()
        if now - reply.saved_at >= SAVE_INTERVAL_S:
            reply.saved_at = now
            try:
                # What a crash from now on leaves: stopped, with the count so far.
                so_far = replace(GenerationStats.ended("cancelled", STOPPED_MID_REPLY),
                                 generated_tokens=reply.tokens)  # fmt: skip
                self.store.update_message(reply.message_id, reply.text, so_far.to_dict(),
                                          in_progress=True)  # fmt: skip
            except ChatStoreError as exc:  # the reply keeps streaming; the final save retries
                if not reply.save_failed:
                    reply.save_failed = True
                    # The same topic as the final save's notice, which replaces this one.
                    self.window.notice.show_message(str(exc), "error", topic="unsaved")

    def on_context_used(self, usage: ContextUsed) -> None:
        self.window.gauges.show_budget(usage.budget, usage.notice)

    def on_reply_finished(self, request_id: int, stats: GenerationStats) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        if stats.stop_reason == "error" and not reply.text:  # cut before its first word
            self.on_reply_failed(request_id, stats.error or "The reply broke off.")
            return
        self._save_reply(reply, stats)
        self.window.chat.show_reply_done(reply.message_id, reply.text, stats)
        self.window.gauges.reply_finished(stats)
        if stats.stop_reason == "error":  # cut part-way (a remote server went away): text kept
            self.window.notice.show_message(stats.error or "The reply broke off.", "error",
                                            topic="reply")  # fmt: skip
        else:  # an earlier reply's failure no longer holds
            self.window.notice.withdraw("reply")
            notes = [reply.not_indexed] if reply.not_indexed and reply.text else []
            if reply.searches and not reply.sources and reply.text:
                notes.append(NOT_FROM_DOCUMENTS_READ if reply.not_indexed else NOT_FROM_DOCUMENTS)
            if notes:
                self.window.notice.show_message(" ".join(notes), "info", topic="reply")
        self._end_reply(reply)

    def _not_indexed(self, conversation: Conversation) -> str:
        """What to say with a reply about the chat's documents it cannot use yet: those still
        queued or being read, and those whose indexing stopped, as the documents panel lists
        them now (it shows the open chat, where a question is asked). A document placed whole
        in the prompt is read all the same."""
        from engine.library.answer import UnreadDocument, not_indexed_note

        if not self.current.is_(conversation.id):
            return ""
        whole = {document.path for document in self.store.pinned_documents(conversation.id)}
        rows = [row for row in self.window.documents.model.rows() if row.path not in whole]
        reading = [UnreadDocument(row.path, row.fraction if row.status == "indexing" else None)
                   for row in rows if row.status in ("queued", "indexing")]  # fmt: skip
        stopped = [UnreadDocument(row.path) for row in rows
                   if row.status in ("pending", "cancelled")]  # fmt: skip
        them = "it" if len(stopped) == 1 else "them"
        notes = [not_indexed_note(reading, reading=True),
                 not_indexed_note(stopped, reading=False,
                                  then=f"Re-index in the documents panel finishes {them}.")]  # fmt: skip
        return " ".join(note for note in notes if note)

    def on_reply_failed(self, request_id: int, message: str) -> None:
        reply = self._mine(request_id)
        if reply is None:
            return
        # The failure is the news; a store error on top of it goes to the log only.
        if reply.text:
            stats = GenerationStats.ended("error", message)
            self._save_reply(reply, stats, quiet=True)
            self.window.chat.show_reply_done(reply.message_id, reply.text, stats)
            self.window.notice.show_message(message, "error", topic="reply")
        else:
            self._take_back(reply, message)
        self.window.gauges.reply_finished(None)
        self._end_reply(reply)

    def _take_back(self, reply: Reply, why: str) -> None:
        """A question that got no reply at all leaves the chat (and the saved conversation) and
        goes back into the message box: left in, it would go to the model with the next one."""
        self._write(self.store.delete_messages_from, reply.conversation_id, reply.question_id,
                    quiet=True)  # fmt: skip
        if self.current.is_(reply.conversation_id):
            self.window.chat.remove_from(reply.question_id)
            self._drop_if_empty(reply.conversation_id)
            self._restore_text(reply.question)
            self._not_sent(why)
            return
        conversation = self.store.conversation(reply.conversation_id)
        title = conversation.title if conversation is not None else "another chat"

        def show() -> None:
            self.current.open(reply.conversation_id)
            self._restore_text(reply.question)

        self.window.notice.show_message(
            f"Your message in “{title}” was not sent: {why}", "error", topic="reply",
            action="Show it", callback=show,
        )  # fmt: skip

    def _not_sent(self, why: str) -> None:
        """Say that the message now back in the message box was not sent, and why."""
        self.window.notice.show_message(
            f"Not sent: {why} Your message is back in the message box.", "error", topic="reply"
        )

    def _drop_if_empty(self, conversation_id: int) -> None:
        """A chat made for a question that was then not sent holds nothing: it goes, rather than
        stay in the list under that question's title, and the window shows a new chat. One with
        documents stays: they were added to it."""
        conversation = self.store.conversation(conversation_id)
        if (conversation is None or self.store.messages(conversation_id)
                or self.library_for(conversation)):  # fmt: skip
            return
        if self._write(self.store.delete, conversation_id, quiet=True):
            self.current.open(None)

    def _restore_text(self, text: str) -> None:
        """Put `text` back in the message box, before anything typed there meanwhile."""
        typed = self.window.composer.text().strip()
        self.window.composer.set_text(f"{text}\n\n{typed}" if typed and typed != text else text)

    def _end_reply(self, reply: Reply) -> None:
        self.reply = None
        self.window.composer.set_busy(False)
        self.window.chat.set_busy(False)
        self.replyEnded.emit(reply.conversation_id)

    def save_unfinished(self, closing: bool = False) -> None:
        """Write what the reply being written has so far, and the replies the store refused
        before; what it still refuses stays in `_unsaved`. `closing` (Hearth quits now) also
        records the reply as stopped, so that it says so after a restart."""
        reply = self.reply
        if reply is not None and reply.text:
            stopped = replace(GenerationStats.ended("cancelled", CLOSED_MID_REPLY),
                              generated_tokens=reply.tokens)  # fmt: skip
            try:
                self.store.update_message(reply.message_id, reply.text,
                                          stopped.to_dict() if closing else None)  # fmt: skip
            except ChatStoreError as exc:
                self._keep_unsaved(reply.message_id, UnsavedReply(reply.question, reply.text),
                                   exc.message)  # fmt: skip
        self.save_unsaved()

    def may_close(self) -> bool:
        """Whether the window may close: yes once every reply is saved (tried once more here).
        Otherwise the person chooses between saving the replies to a file elsewhere, quitting
        without them, and keeping the window open while Hearth retries."""
        self.save_unfinished()
        if not self._unsaved:
            return True
        choice = ask_about_unsaved(self.window, len(self._unsaved), self._unsaved_why)
        if choice == SAVE_ELSEWHERE:
            return self._save_unsaved_to_file()
        return choice == QUIT_WITHOUT

    def _save_unsaved_to_file(self) -> bool:
        """Ask where, write the unsaved replies there as Markdown; False when nothing was
        written (cancelled, or that disk refused too, which the notice explains)."""
        suggested = str(Path.home() / "Hearth replies not saved.md")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the replies", suggested,
                                              "Markdown (*.md)")  # fmt: skip
        if not path:
            return False
        now = self.reply
        exchanges = []
        for message_id, reply in self._unsaved.items():
            text = reply.text
            if now is not None and now.message_id == message_id:
                # Still being written, it went on while the person chose: all of it so far.
                text = f"{now.text}\n\n{CUT_OFF_MARK}"
            exchanges.append((reply.question, text))
        try:
            write_text_atomic(Path(path), replies_markdown(exchanges), make_folder=False)
        except HearthError as exc:
            self.window.notice.show_message(str(exc), "error")
            return False
        log.info("Saved %d unsaved replies to %s", len(exchanges), path)
        return True

    def _save_reply(self, reply: Reply, stats: GenerationStats, quiet: bool = False) -> None:
        """Write a finished reply; one the store refuses (a full or read-only disk) is kept and
        offered again every `RETRY_SAVE_S` and at exit. `quiet`: another message is the news."""
        row = (reply.text, stats.to_dict(), sources_to_stored(reply.sources, reply.evidence))
        try:
            self.store.update_message(reply.message_id, *row)
            self._saved()
            self._unsaved.pop(reply.message_id, None)  # its text so far, kept at a close
            return
        except ChatStoreError as exc:
            log.warning("Reply not saved: %s", exc)
            why = str(exc)
            self._keep_unsaved(reply.message_id, UnsavedReply(reply.question, *row), exc.message)
        if not quiet:
            self.window.notice.show_message(
                f"{why} Hearth keeps this reply and saves it by itself as soon as it can; keep "
                "the window open until then.",
                "error", topic="unsaved",
            )  # fmt: skip

    def save_unsaved(self) -> None:
        """Offer the store the replies it refused; say so once they are all saved."""
        if not self._unsaved:
            self._retry.stop()
            return
        for message_id, reply in list(self._unsaved.items()):
            try:
                self.store.update_message(message_id, reply.text, reply.stats, reply.sources)
            except ChatStoreError as exc:
                log.info("Reply %s still not saved: %s", message_id, exc)
                return
            del self._unsaved[message_id]
        self._retry.stop()
        self.window.notice.show_message("The replies that could not be saved are saved now.",
                                        "info", topic="unsaved")  # fmt: skip

    def _keep_unsaved(self, message_id: int, reply: UnsavedReply, why: str) -> None:
        self._unsaved[message_id] = reply
        self._unsaved_why = why
        self._retry.start()

    # Writing

    def _write(self, write: Callable[..., object], *args: object, quiet: bool = False) -> bool:
        """One chat-store write; with `quiet` a failure is only logged (another message is the
        news). Returns whether it was written."""
        written = store_write(write, *args, explain=None if quiet else self._explain)
        if written:
            self._saved()
        return written

    def _saved(self) -> None:
        """A write went through: an earlier failure to save the chat no longer holds."""
        self.window.notice.withdraw(SAVE_TOPIC)

    def _explain(self, message: str) -> None:
        self.window.notice.show_message(message, "error", topic=SAVE_TOPIC)
