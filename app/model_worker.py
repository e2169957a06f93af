"""The model thread: one QObject that owns the ModelSession, and its GUI-side client.

Everything that touches llama.cpp (import, load, retrieve-then-generate, unload) runs on the model
thread. Text reaches the GUI in batches at most ~30 times a second, so a fast model cannot flood
the event loop. Requests are queued in order: a question asked while the model loads waits for it.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)
from engine.cancel import CancelToken
from engine.errors import HearthError

log = logging.getLogger(__name__)

EMIT_INTERVAL_S = 1 / 30

# (library name, question, k) -> sources as dicts (number, path, page, excerpt, score).
Retriever = Callable[[str, str, int], list[dict]]
# (path, max_chars) -> the document's text, or None when it is longer than max_chars.
DocumentReader = Callable[[Path, int], "str | None"]


@dataclass
class ChatRequest:
    """One reply to write.

    Attributes:
        history: Earlier messages of the conversation, oldest first (no system prompt).
        question: The new user message.
        library: The conversation's library name, or "" to answer without documents.
        sampling: Keyword arguments for engine.session.SamplingSettings.
    """

    history: list[dict[str, str]]
    question: str
    system_prompt: str
    sampling: dict[str, Any]
    library: str = ""
    sources_k: int = 4
    overflow_policy: str = "sliding_window"
    conversation_id: int | None = None
    # Documents in the prompt whole: {"path", "text"} each, kept in every turn of the conversation.
    pinned: list[dict[str, str]] = field(default_factory=list)
    request_id: int = 0
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass
class PlaceRequest:
    """Whether a dropped file goes into the prompt whole, judged against its conversation.

    Attributes:
        paths: The dropped files.
        history, system_prompt, pinned: The conversation as the next turn would send it.
        reply_tokens: The reply length to keep room for.
    """

    conversation_id: int
    paths: list[str]
    system_prompt: str
    history: list[dict[str, str]] = field(default_factory=list)
    pinned: list[dict[str, str]] = field(default_factory=list)
    reply_tokens: int = 512
    overflow_policy: str = "sliding_window"


class ModelWorker(QObject):
    """Lives on the model thread; its slots are only ever invoked through queued signals."""

    loadStarted = Signal(str)
    loaded = Signal(dict)
    loadFailed = Signal(str, str)
    unloaded = Signal()
    replyStarted = Signal(int)
    replyText = Signal(int, str, int)
    replySources = Signal(int, list)
    contextUsage = Signal(dict)
    replyFinished = Signal(int, dict)
    replyFailed = Signal(int, str)
    # conversation id, {"path", "mode" ("whole" | "retrieval"), "tokens", "text", "reason"}
    documentPlaced = Signal(int, dict)

    def __init__(
        self, retriever: Retriever | None = None, reader: DocumentReader | None = None
    ) -> None:
        super().__init__()
        self._session: Any = None
        self._retriever = retriever
        self._reader = reader or _read_in_process
        self._context: Any = None  # engine.context ContextManager for the loaded session
        self._conversation: int | None = None

    @Slot(object)
    def load(self, settings: Any) -> None:
        """Load `settings` (engine.session.LoadSettings); the old model stays if this fails."""
        self.loadStarted.emit(str(settings.model_path))
        try:
            from app.paths import app_paths
            from engine.backends import detect_backend
            from engine.model_probe import ModelGuard
            from engine.session import ModelSession

            guard = ModelGuard(app_paths().checked_models_file)
            session = self._session or ModelSession(guard)
            report = session.load(settings)
            self._session = session
            info = report.to_dict()
            backend = detect_backend()
            info["backend"] = {
                "device": backend.devices[0] if report.n_gpu_layers and backend.devices else "CPU",
                "gpu_layers": report.n_gpu_layers,
                "total_layers": report.model.block_count + 1,
                "threads": report.n_threads,
                "notes": list(report.notes) + list(backend.notes),
            }
            self.loaded.emit(info)
        except HearthError as exc:
            log.warning("Model load failed: %s", exc)
            self.loadFailed.emit(exc.message, exc.hint)
        except Exception as exc:  # an unexpected failure must not kill the thread
            log.exception("Model load failed")
            self.loadFailed.emit(f"The model could not be loaded: {exc}", "")

    def release(self) -> None:
        """Free the model now; only once the model thread has stopped."""
        if self._session is not None:
            self._session.unload()
            self._session = None
            self._context = None

    @Slot()
    def unload(self) -> None:
        if self._session is not None:
            self._session.unload()
        self.unloaded.emit()

    @Slot(object)
    def chat(self, request: ChatRequest) -> None:
        rid = request.request_id
        self.replyStarted.emit(rid)
        if request.cancel.cancelled:
            self.replyFinished.emit(rid, _cancelled_stats())
            return
        if self._session is None or not self._session.loaded:
            self.replyFailed.emit(rid, "No model is loaded. Pick one with the model button.")
            return
        try:
            self._answer(request)
        except HearthError as exc:
            if request.cancel.cancelled:  # stopped while the model summarized older turns
                self.replyFinished.emit(rid, _cancelled_stats())
            else:
                self.replyFailed.emit(rid, str(exc))
        except Exception as exc:
            log.exception("Reply failed")
            self.replyFailed.emit(rid, f"The reply failed: {exc}")

    @Slot(object)
    def place(self, request: PlaceRequest) -> None:
        """Read each file and decide whole vs retrieval; answers with documentPlaced per file.

        Files are judged in order, each against the conversation plus the ones before it that
        went in whole, so a drop of several files never overfills the window.
        """
        pinned = list(request.pinned)
        for path in request.paths:
            result = {"path": path, "mode": "retrieval", "tokens": 0, "text": "", "reason": ""}
            try:
                if self._session is not None and self._session.loaded:
                    result.update(self._place(request, path, pinned))
                else:
                    result["reason"] = "No model is loaded, so the document will be searched."
            except Exception as exc:  # the indexer reports bad files; here it means "search it"
                log.info("Placing %s failed: %s", path, exc)
                result["unreadable"] = True
            if result["mode"] == "whole":
                pinned = [doc for doc in pinned if doc["path"] != path]
                pinned.append({"path": path, "text": result["text"]})
            self.documentPlaced.emit(request.conversation_id, result)

    def _place(self, request: PlaceRequest, path: str, pinned: list[dict[str, str]]) -> dict:
        from engine.context.turn import TurnRequest

        manager = self._manager()
        # A token takes at least one character, so a text this long can never fit whole.
        text = self._reader(Path(path), self._session.n_ctx * 8)
        if text is None:
            return {}
        if not text.strip():  # nothing to read: the indexer says why (scanned pages, empty file)
            return {"unreadable": True}
        turn = TurnRequest(
            system_prompt=request.system_prompt,
            message="",
            history=request.history,
            pinned=pinned_documents([doc for doc in pinned if doc["path"] != path]),
        )
        manager.set_policy(request.overflow_policy)
        placement = manager.place_document(text, turn, request.reply_tokens)
        return {
            "mode": placement.mode,
            "tokens": placement.tokens,
            "text": text if placement.mode == "whole" else "",
            "reason": placement.reason,
        }

    def _manager(self) -> Any:
        from engine.context.manager import ContextManager

        if self._context is None or self._context.session is not self._session:
            self._context = ContextManager(self._session)
        return self._context

    def _answer(self, request: ChatRequest) -> None:
        from engine.context.turn import Document, TurnRequest
        from engine.session import SamplingSettings
        from engine.stats import GenerationStats

        rid = request.request_id
        sources: list[dict] = []
        if request.library and self._retriever is not None:
            sources = self._retriever(request.library, request.question, request.sources_k)
            self.replySources.emit(rid, sources)
        self._manager()
        if self._conversation != request.conversation_id:
            self._context.reset()  # the remembered cut and summary belong to one conversation
            self._conversation = request.conversation_id
        self._context.set_policy(request.overflow_policy)
        sampling = SamplingSettings(**request.sampling)
        turn = TurnRequest(
            system_prompt=request.system_prompt,
            message=request.question,
            history=request.history,
            pinned=pinned_documents(request.pinned),
            excerpts=[Document(s["excerpt"], source_title(s)) for s in sources],
            excerpt_intro=SOURCES_INSTRUCTION,
        )
        plan = self._context.plan(turn, sampling.max_tokens, request.cancel)
        notice = plan.notice
        self.contextUsage.emit(usage_from_budget(plan.budget, notice))
        pending: list[str] = []
        pieces = 0
        last_emit = 0.0
        for item in self._context.chat(plan, sampling, request.cancel):
            if isinstance(item, GenerationStats):
                if pending:
                    self.replyText.emit(rid, "".join(pending), pieces)
                self.contextUsage.emit(usage_from_budget(self._context.budget, notice))
                self.replyFinished.emit(rid, item.to_dict())
                return
            pending.append(item)
            pieces += 1
            now = time.perf_counter()
            if now - last_emit >= EMIT_INTERVAL_S:
                self.replyText.emit(rid, "".join(pending), pieces)
                self.contextUsage.emit(usage_from_budget(self._context.budget, notice))
                pending, pieces, last_emit = [], 0, now


SOURCES_INSTRUCTION = (
    "Excerpts from the person's documents are below, numbered. Answer the question from them and "
    "cite the excerpts you use by number in square brackets, like [1]. If they do not contain "
    "the answer, say that it was not found in the documents."
)


def pinned_documents(pinned: list[dict[str, str]]) -> list[Any]:
    """Whole documents as the context manager's pinned material, titled by file name."""
    from engine.context.turn import Document

    return [Document(doc["text"], Path(doc["path"]).name) for doc in pinned]


def _read_in_process(path: Path, max_chars: int) -> str | None:
    from engine.library.extract import document_text

    return document_text(path, max_chars)


def source_title(source: dict) -> str:
    """How an excerpt is introduced to the model: "report.pdf, page 3"."""
    title = Path(str(source.get("path", ""))).name
    return f"{title}, page {source['page']}" if source.get("page") else title


def usage_from_budget(budget: Any, notice: str = "") -> dict:
    """The context gauge's view of an engine ContextBudget: five segments plus the details."""
    return {
        "n_ctx": budget.n_ctx,
        "parts": {
            "system": budget.system + budget.pinned,
            "documents": budget.documents,
            "history": budget.summary + budget.history + budget.message + budget.generated,
            "reply_reserve": budget.reserved,
        },
        "details": {
            "system prompt": budget.system,
            "pinned": budget.pinned,
            "summary": budget.summary,
            "history": budget.history,
            "documents": budget.documents,
            "new message": budget.message,
            "reply so far": budget.generated,
            "reply reserve": budget.reserved,
            "free": budget.free,
            "KV cache in use": f"{budget.kv_bytes_in_use / 2**20:.1f} MB "
            f"of {budget.kv_bytes_total / 2**20:.1f} MB",
        },
        "notice": notice,
    }


def _cancelled_stats() -> dict:
    return {
        "prompt_tokens": 0,
        "cached_tokens": 0,
        "generated_tokens": 0,
        "ttft_s": 0.0,
        "prompt_tokens_per_s": 0.0,
        "generation_tokens_per_s": 0.0,
        "stop_reason": "cancelled",
    }


class ModelClient(QObject):
    """The GUI thread's handle on the model thread: send requests, stop a reply, shut down."""

    _loadRequested = Signal(object)
    _unloadRequested = Signal()
    _chatRequested = Signal(object)
    _placeRequested = Signal(object)

    def __init__(
        self,
        retriever: Retriever | None = None,
        reader: DocumentReader | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("model")
        self.worker = ModelWorker(retriever, reader)
        self.worker.moveToThread(self.thread)
        self._loadRequested.connect(self.worker.load)
        self._unloadRequested.connect(self.worker.unload)
        self._chatRequested.connect(self.worker.chat)
        self._placeRequested.connect(self.worker.place)
        self._ids = itertools.count(1)
        self._active: ChatRequest | None = None
        self.worker.replyFinished.connect(self._on_done)
        self.worker.replyFailed.connect(self._on_done)
        self.thread.start()

    def load(self, settings: Any) -> None:
        self._loadRequested.emit(settings)

    def unload(self) -> None:
        self._unloadRequested.emit()

    def chat(self, request: ChatRequest) -> int:
        """Queue a reply; returns its request id (carried by every signal about it)."""
        request.request_id = next(self._ids)
        self._active = request
        self._chatRequested.emit(request)
        return request.request_id

    def place(self, request: PlaceRequest) -> None:
        """Queue a whole-or-retrieval decision for a dropped file (answered by documentPlaced)."""
        self._placeRequested.emit(request)

    def stop(self) -> None:
        """Stop the reply being written; safe to call at any time, from the GUI thread."""
        if self._active is not None:
            self._active.cancel.cancel()

    def busy(self) -> bool:
        return self._active is not None

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self.stop()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("The model thread did not stop in time")
            return
        # The model thread has ended, so freeing the model here cannot race with it; left to
        # the garbage collector it would be freed during interpreter teardown, after llama_cpp.
        self.worker.release()

    def _on_done(self, request_id: int, *_args) -> None:
        if self._active is not None and self._active.request_id == request_id:
            self._active = None
