"""The window's handle on the model thread (app.model_thread): requests go in, typed signals come
back on the GUI thread.

Requests are queued in order, so a question asked while the model loads waits for it; a load of
the model that is loaded, or will be once the queue is through, is not queued again. Reply text
reaches the GUI in batches at most ~30 times a second, so a fast model cannot flood the event
loop. Every reply signal carries the request id that `ask` returned.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.jobs import Job, Task
from app.model_thread import ModelThread, batched
from app.worker import SerialWorker
from engine.chat.answer import Question, Retrieve, answer, context_in_use
from engine.chat.events import (
    ContextUsed,
    EvidenceFound,
    QuestionRead,
    ReplyEnded,
    SourcesFound,
    TextArrived,
)
from engine.chat.placement import DocumentsToPlace, ReadText, place_documents
from engine.errors import HearthError, describe

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.chat.engine import LoadedModel, LocalEngine
    from engine.remote import RemoteConnection, RemoteInfo
    from engine.session import LoadSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Started:
    """The model thread took up the request (whatever was queued before it is done)."""


@dataclass(frozen=True)
class _SetAside:
    """The chat model was unloaded so that work of its own (a benchmark) has the machine."""

    path: str


@dataclass(eq=False)
class _Change:
    """A queued load, unload or switch to a server; `key` is what it asks for: a load's
    (settings, flash_attn), ("remote", connection), or a new object for an unload."""

    key: object


class _ModelChanges:
    """The changes of model still queued, and what is loaded now as it was asked for, both seen
    from the GUI thread: together they tell what the model will be once the queue is through."""

    def __init__(self) -> None:
        self.current: object = None
        self._queued: list[_Change] = []

    def wanted(self) -> object:
        """What is loaded once every queued change is done (and none fails)."""
        return self._queued[-1].key if self._queued else self.current

    def queue(self, key: object) -> _Change:
        change = _Change(key)
        self._queued.append(change)
        return change

    def finish(self, change: _Change, current: object) -> None:
        """`change` ended, leaving `current` loaded (a failed one: the same as before)."""
        if change in self._queued:
            self._queued.remove(change)
        self.current = current


@dataclass(frozen=True)
class _Restored:
    """After work that set the chat model aside: it is back (`loaded`), or could not come back."""

    loaded: LoadedModel | None
    error: HearthError | None = None


class ModelClient(QObject):
    """Signals (all on the GUI thread):

    loadStarted(path), loaded(LoadedModel), loadFailed(HearthError: a ContextFitError when the
    window does not fit this machine, with proposals), unloaded(),
    connectStarted(RemoteConnection), connected(RemoteInfo), connectFailed(RemoteConnection,
    HearthError): a remote model chosen instead of a local one (`unloaded` comes first when a
    local model was freed for it),
    replyStarted(id), replySources(id, tuple[Source]), replyText(id, TextArrived),
    contextUsed(ContextUsed), replyQuestionRead(id, str) (the question with its excerpts, as the
    model read it), replyEvidence(id, tuple[Evidence]) (just before replyFinished,
    when there were sources), replyFinished(id, GenerationStats), replyFailed(id, message),
    documentPlaced(Placement).

    Args:
        retrieve: Searches a conversation's library (the library process's search).
        read: Reads a dropped document's text (the library process's reader); in this process
            when None.
        engine: What runs the model; a `LocalEngine` (llama.cpp here) when None.
    """

    loadStarted = Signal(str)
    loaded = Signal(object)
    loadFailed = Signal(object)
    unloaded = Signal()
    connectStarted = Signal(object)
    connected = Signal(object)
    connectFailed = Signal(object, object)
    replyStarted = Signal(int)
    replySources = Signal(int, object)
    replyText = Signal(int, object)
    replyQuestionRead = Signal(int, str)
    replyEvidence = Signal(int, object)
    contextUsed = Signal(object)
    replyFinished = Signal(int, object)
    replyFailed = Signal(int, str)
    documentPlaced = Signal(object)
    setAside = Signal(str)

    def __init__(
        self,
        retrieve: Retrieve | None = None,
        read: ReadText | None = None,
        parent: QObject | None = None,
        engine: LocalEngine | None = None,
    ) -> None:
        super().__init__(parent)
        self.model_thread = ModelThread(engine)
        self.retrieve = retrieve
        self.read = read or _read_in_process
        self._worker = SerialWorker(self.model_thread.queue, self)
        self._ids = itertools.count(1)
        self._active: tuple[int, Job[Any]] | None = None
        self.loaded_model: LoadedModel | None = None
        # What the engine last loaded, as asked: read and written on the model thread only.
        self._loaded_as: tuple[LoadSettings, bool | None] | None = None
        self.remote_info: RemoteInfo | None = None
        self.remote_connection: RemoteConnection | None = None
        self._changes = _ModelChanges()

    @property
    def has_model(self) -> bool:
        """Whether a local model is loaded or a remote one connected."""
        return self.loaded_model is not None or self.remote_info is not None

    def settled_model(self) -> LoadedModel | None:
        """The local model the next reply goes to, when that is known now: the one loaded,
        with no other change of model queued before it (None too for a remote engine)."""
        if self._changes.wanted() != self._changes.current or self.remote_info is not None:
            return None
        return self.loaded_model

    # -- requests ----------------------------------------------------------------------------

    def load(self, settings: LoadSettings, flash_attn: bool | None = None) -> bool:
        """Check the fit and load; the model loaded before stays if either fails.

        Returns:
            False when nothing was queued: that model, with these settings, is already loaded,
            or will be by a load queued before (a double-click, a second click on Load).
        """
        path = str(settings.model_path)
        key = (settings, flash_attn)
        if self._changes.wanted() == key:
            log.info("Not loading %s again: it is loaded or loading with these settings", path)
            return False
        change = self._changes.queue(key)

        def work(task: Task) -> LoadedModel:
            task.emit(path)  # the load starts now, after whatever was queued before it
            loaded, _fit = self.model_thread.engine.load(settings, flash_attn=flash_attn)
            self._loaded_as = (settings, flash_attn)
            return loaded

        def done(loaded: LoadedModel) -> None:
            self._changes.finish(change, key)
            self._on_loaded(loaded)

        def failed(exc: Exception) -> None:
            self._changes.finish(change, self._changes.current)
            self._on_load_error(exc)

        self._worker.run(work, on_event=self.loadStarted.emit, on_done=done, on_error=failed)
        return True

    def use_remote(
        self,
        connection: RemoteConnection,
        api_key: Callable[[], str | None] = lambda: None,
        key_where: str = "",
    ) -> None:
        """Answer with `connection`'s model, in turn after what is queued; the model answering
        before stays if the server cannot be used. A switch to the same server queued last is
        not queued twice; once connected, choosing it again connects again (a retry after the
        server went away).

        Args:
            api_key: Reads the server's key (from the keyring: on the model thread, not here).
            key_where: Where the person gives the key, for the hint when it is refused.
        """
        key = ("remote", connection)
        if self._changes.wanted() == key:
            log.info("Not connecting to %s again: that is queued already", connection.url)
            return
        change = self._changes.queue(key)

        def work(task: Task) -> RemoteInfo:
            task.emit(connection)
            return self.model_thread.engine.connect(connection, api_key(), key_where)

        def done(info: RemoteInfo) -> None:
            self._changes.finish(change, None)  # the local model, if any, was freed
            if self.loaded_model is not None:
                self.loaded_model = None
                self.unloaded.emit()
            self.remote_info, self.remote_connection = info, connection
            self.connected.emit(info)

        def failed(exc: Exception) -> None:
            self._changes.finish(change, self._changes.current)
            if not isinstance(exc, HearthError):
                exc = HearthError(describe(exc, "The server could not be used"))
            self.connectFailed.emit(connection, exc)

        self._worker.run(work, on_event=self.connectStarted.emit, on_done=done, on_error=failed)

    def unload(self) -> None:
        """Free the model's memory, in turn after what is queued."""
        change = self._changes.queue(object())

        def work(_task: Task) -> None:
            self.model_thread.engine.unload()
            self._loaded_as = None

        def done(_result: None) -> None:
            self._changes.finish(change, None)
            self._on_unloaded(None)

        self._worker.run(work, on_done=done)

    def run_aside(
        self,
        work: Any,
        *,
        on_event: Any = None,
        on_done: Any = None,
        on_error: Any = None,
    ) -> Job[Any]:
        """Queue `work(task)` on the model thread with the chat model set aside.

        The chat model is unloaded first (the work gets the machine's memory, and what it
        measures is not shared with an idle chat model) and loaded again with the same settings
        when the work ends, failed or was cancelled, before anything queued after it runs: a
        question asked meanwhile waits and is then answered by the same model. Callbacks run on
        the GUI thread, as for `SerialWorker.run`.
        """
        engine = self.model_thread.engine
        queue = self.model_thread.queue

        def job(task: Task) -> Any:
            restore = self._loaded_as
            if restore is not None:
                engine.unload()
                task.emit(_SetAside(str(restore[0].model_path)))
            try:
                return work(task)
            finally:
                if restore is not None and not queue.closed:
                    task.emit(self._restore(restore))

        def event(value: Any) -> None:
            if isinstance(value, _SetAside):
                self.setAside.emit(value.path)
            elif isinstance(value, _Restored):
                self._on_restored(value)
            elif on_event is not None:
                on_event(value)

        return self._worker.run(job, on_event=event, on_done=on_done, on_error=on_error)

    def _restore(self, restore: tuple[LoadSettings, bool | None]) -> _Restored:
        settings, flash_attn = restore
        try:
            loaded, _fit = self.model_thread.engine.load(settings, flash_attn=flash_attn)
        except HearthError as exc:
            self._loaded_as = None
            return _Restored(None, exc)
        except Exception as exc:  # llama.cpp's own failure: the window still says so
            log.exception("Loading the chat model again failed")
            self._loaded_as = None
            return _Restored(None, HearthError(f"The model could not be loaded again: {exc}"))
        return _Restored(loaded)

    def ask(self, question: Question) -> int:
        """Queue a reply; returns its request id (carried by every reply signal)."""
        rid = next(self._ids)
        engine, retrieve = self.model_thread.engine, self.retrieve

        def work(task: Task) -> None:
            task.emit(_Started())
            batched(engine, answer(engine, question, retrieve, task.cancel), task.emit)

        job = self._worker.run(work, on_event=lambda event: self._on_reply_event(rid, event),
                               on_error=lambda exc: self._on_reply_error(rid, exc))  # fmt: skip
        self._active = (rid, job)
        return rid

    def measure(self, question: Question, on_done: Callable[[ContextUsed], None]) -> None:
        """Count how `question`'s conversation fills the context window, in turn on the model
        thread; `on_done` gets it on the GUI thread (never when no model is loaded). A request
        still waiting is dropped for a newer one."""
        engine = self.model_thread.engine

        def done(used: ContextUsed | None) -> None:
            if used is not None:
                on_done(used)

        def failed(exc: Exception) -> None:  # the gauge keeps what it showed
            log.info("Counting the context in use failed: %s", exc)

        self._worker.run(lambda _task: context_in_use(engine, question), on_done=done,
                         on_error=failed, latest="context")  # fmt: skip

    def place(self, request: DocumentsToPlace) -> None:
        """Judge whether dropped files go into the prompt whole (answered by documentPlaced)."""
        engine, read = self.model_thread.engine, self.read

        def work(task: Task) -> None:
            for placement in place_documents(engine, request, read):
                task.emit(placement)

        self._worker.run(work, on_event=self.documentPlaced.emit)

    def submit(self, work: Any, **kwargs: Any) -> Job[Any]:
        """Queue `work(engine, task)` on the model thread from any code (see ModelThread)."""
        return self.model_thread.submit(work, **kwargs)

    def stop(self) -> None:
        """Stop the reply being written; safe to call at any time, from the GUI thread."""
        if self._active is not None:
            self._active[1].cancel()

    def busy(self) -> bool:
        return self._active is not None

    def shutdown(self) -> None:
        """Stop the reply, free the model on its own thread, stop the thread; nothing more is
        delivered after this."""
        self._worker.shutdown(last=self.model_thread.engine.unload)

    # -- results (GUI thread) ----------------------------------------------------------------

    def _on_loaded(self, loaded: LoadedModel) -> None:
        self.loaded_model = loaded
        self.remote_info = self.remote_connection = None
        self.loaded.emit(loaded)

    def _on_load_error(self, exc: Exception) -> None:
        if not isinstance(exc, HearthError):
            exc = HearthError(describe(exc, "The model could not be loaded"))
        self.loadFailed.emit(exc)

    def _on_restored(self, restored: _Restored) -> None:
        if restored.loaded is not None:
            self._on_loaded(restored.loaded)
            return
        self.loaded_model = None
        self._changes.current = None
        self.unloaded.emit()
        self.loadFailed.emit(restored.error)

    def _on_unloaded(self, _result: None) -> None:
        self.loaded_model = None
        self.remote_info = self.remote_connection = None
        self.unloaded.emit()

    def _on_reply_event(self, rid: int, event: Any) -> None:
        if isinstance(event, TextArrived):
            self.replyText.emit(rid, event)
        elif isinstance(event, ContextUsed):
            self.contextUsed.emit(event)
        elif isinstance(event, SourcesFound):
            self.replySources.emit(rid, event.sources)
        elif isinstance(event, QuestionRead):
            self.replyQuestionRead.emit(rid, event.text)
        elif isinstance(event, EvidenceFound):
            self.replyEvidence.emit(rid, event.evidence)
        elif isinstance(event, ReplyEnded):
            self._end(rid)
            self.replyFinished.emit(rid, event.stats)
        elif isinstance(event, _Started):
            self.replyStarted.emit(rid)

    def _on_reply_error(self, rid: int, exc: Exception) -> None:
        self._end(rid)
        self.replyFailed.emit(rid, describe(exc, "The reply failed"))

    def _end(self, rid: int) -> None:
        if self._active is not None and self._active[0] == rid:
            self._active = None


def _read_in_process(path: Path, max_chars: int) -> str | None:
    from engine.library.extract import document_text

    return document_text(path, max_chars)
