"""Stand-ins for the fast test layer: a chat engine without a model and a library client without
a process. They follow the real protocols (engine.chat.engine.ChatEngine,
app.library.client.LibraryClient) so the code under test cannot tell, and they record what they
were asked. The slow tests run the same code against the real model and the real process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from engine.cancel import CancelToken
from engine.context.budget import ContextBudget
from engine.context.policies import Draft
from engine.context.turn import ContextChange, DocumentPlacement, TurnPlan, TurnRequest
from engine.errors import HearthError
from engine.stats import GenerationStats


def words(text: str) -> int:
    """The fake engine's tokenizer: one token per word."""
    return len(text.split())


@dataclass
class FakeEngine:
    """A `ChatEngine` that answers with `reply`, one word per piece, counting words as tokens.

    `plan_error` is raised by `plan` (after cancelling the caller's token when `cancel_in_plan`).
    With `hold_after` > 0 the reply waits for `resume` after that many pieces, so a test can stop
    it half-way.
    """

    reply: str = "It is a file format for models."
    n_ctx: int = 2048
    ready: bool = True
    plan_error: HearthError | None = None
    cancel_in_plan: bool = False
    hold_after: int = 0
    resume: threading.Event = field(default_factory=threading.Event)
    turns: list[TurnRequest] = field(default_factory=list)
    measured: list[TurnRequest] = field(default_factory=list)
    conversations: list[object] = field(default_factory=list)
    memory_bytes: int = 64 * 10**9
    loaded: object = None
    _budget: ContextBudget | None = None

    def load(self, settings, memory=None, flash_attn=None):
        """The real fit check (a bad file or a window too large fails as it would), then a
        pretend load of a model that is not read."""
        from engine.chat.engine import LoadedModel
        from engine.context.fit import MachineMemory, prepare_load
        from engine.gguf_info import read_model_info
        from engine.session import LoadReport

        memory = memory or MachineMemory(self.memory_bytes)
        settings, fit = prepare_load(settings, memory, flash_attn=flash_attn)
        info = read_model_info(settings.model_path)
        report = LoadReport(info, settings.n_ctx, 2, 0, settings.flash_attn, settings.type_k,
                            settings.type_v, "model", 0.01)  # fmt: skip
        self.n_ctx, self.ready = settings.n_ctx, True
        self.loaded = LoadedModel(report, "CPU", info.block_count + 1, ram_bytes=info.file_size)
        return self.loaded, fit

    def unload(self) -> None:
        self.ready, self.loaded = False, None

    @property
    def budget(self) -> ContextBudget:
        return self._budget or ContextBudget(n_ctx=self.n_ctx)

    def plan(
        self,
        turn: TurnRequest,
        reply_tokens: int,
        policy: str,
        conversation: object = None,
        cancel: CancelToken | None = None,
    ) -> TurnPlan:
        self.turns.append(turn)
        self.conversations.append(conversation)
        if self.plan_error is not None:
            if self.cancel_in_plan and cancel is not None:
                cancel.cancel()
            raise self.plan_error
        budget = self._count(turn, reply_tokens)
        self._budget = budget
        # The question as the real manager writes it: after the excerpts, when there are some.
        asked = Draft(turn, counter=None).user_content()  # counts nothing: words suffice here
        messages = [*turn.history, {"role": "user", "content": asked}]
        changes = ()
        if policy == "sliding_window" and len(turn.history) > 4:  # as the real manager says it
            changes = (ContextChange("dropped", "history", 10, "2 older messages dropped"),)
        return TurnPlan(messages=messages, prompt_tokens=budget.prompt, budget=budget,
                        changes=changes, policy=policy)  # fmt: skip

    def refuse_if_too_long(self, turn: TurnRequest, reply_tokens: int, policy: str) -> None:
        """Nothing is too long for a model that is not there; `plan` raises `plan_error`."""

    def measure(
        self, turn: TurnRequest, reply_tokens: int, policy: str, conversation: object = None
    ) -> TurnPlan:
        self.measured.append(turn)
        budget = self._count(turn, reply_tokens)
        return TurnPlan(messages=[*turn.history], prompt_tokens=budget.prompt, budget=budget,
                        policy=policy)  # fmt: skip

    def _count(self, turn: TurnRequest, reply_tokens: int) -> ContextBudget:
        return ContextBudget(
            n_ctx=self.n_ctx,
            system=words(turn.system_prompt) + sum(words(d.text) for d in turn.pinned),
            history=sum(words(m["content"]) for m in turn.history),
            documents=sum(words(d.text) for d in turn.excerpts),
            message=words(turn.message),
            reply_reserve=reply_tokens,
        )

    def stream(
        self, plan: TurnPlan, sampling: object, cancel: CancelToken | None = None
    ) -> Iterator[str | GenerationStats]:
        cancel = cancel or CancelToken()
        pieces = self.reply.split(" ")
        written = 0
        for index, piece in enumerate(pieces):
            if self.hold_after and index == self.hold_after:
                self.resume.wait(10)
            if cancel.cancelled:
                break
            written += 1
            self._budget = replace(plan.budget, generated=written)
            yield piece if index == 0 else " " + piece
        reason = "cancelled" if cancel.cancelled else "stop"
        yield GenerationStats(plan.prompt_tokens, 0, written, 0.05, 900.0, 120.0, reason)

    def place_document(
        self, text: str, turn: TurnRequest, reply_tokens: int, policy: str
    ) -> DocumentPlacement:
        used = words(turn.system_prompt) + sum(words(d.text) for d in turn.pinned)
        used += sum(words(m["content"]) for m in turn.history)
        available = max(0, self.n_ctx - reply_tokens - used - self.n_ctx // 4)
        tokens = words(text)
        if tokens <= available:
            return DocumentPlacement("whole", tokens, available)
        reason = f"The document is {tokens:,} tokens; the conversation can spare {available:,}."
        return DocumentPlacement("retrieval", tokens, available, reason)


def sources(*pages: int, path: str = "/docs/harbour-guide.pdf") -> Sequence:
    """Numbered excerpts from `path`, one per page, as the library's search returns them."""
    from engine.library.answer import Source

    return tuple(
        Source(number=n, file=path, page=page, excerpt=f"Text of page {page}.", score=1.0 / n)
        for n, page in enumerate(pages, start=1)
    )


def tiny_png(width: int = 40, height: int = 50) -> bytes:
    """A white PNG, as a rendered page."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip


class FakeLibraryClient:
    """The library client's interface (`call`, `cancel`, `exists`, `running_pids`, `close`),
    answered in memory: every file indexes as one page with two chunks, except names in
    `broken` (failed, with the engine's reason), and a search finds page 1 of each indexed file
    (its text from `pages`, by file name, else "Page one of <name>."). `calls` records every
    request. A reranked search says `RerankSkipped(rerank_error)` when that is set; while
    `hold_searches` is set, a search waits for its call's cancel token (a rerank being
    stopped) and `searching` tells that one started."""

    def __init__(
        self, broken: dict[str, str] | None = None, pages: dict[str, str] | None = None
    ) -> None:
        self.files: dict[str, dict[str, object]] = {}  # library -> path -> FileRecord
        self.watched: dict[str, list[str]] = {}  # library -> folders it follows
        self.broken = broken or {}
        self.pages = pages or {}
        self.calls: list[object] = []
        self.cancelled = False
        self.rerank_error: str | None = None
        self.hold_searches = False
        self.searching = threading.Event()
        self._lock = threading.Lock()

    def exists(self, name: str) -> bool:
        return name in self.files

    def running_pids(self) -> list[int]:
        return []

    def cancel(self) -> None:
        self.cancelled = True

    def close(self, timeout_s: float = 0) -> None:
        pass

    def call(self, request, on_event=None, cancel=None):
        from pathlib import Path

        from app.library import protocol
        from engine.library.types import FileOutcome, FileProgress, FileRecord, IndexReport
        from engine.page_render import RenderedPage

        with self._lock:
            self.calls.append(request)
        if isinstance(request, protocol.IndexFiles):
            library = self.files.setdefault(request.library, {})
            outcomes = []
            paths = [p for p in request.paths if Path(p).is_file()] or [
                str(f) for folder in request.paths for f in sorted(Path(folder).glob("*"))
            ]
            for index, path in enumerate(paths):
                emit = on_event or (lambda _event: None)
                emit(FileProgress(path, "indexing", 0.5, file_index=index, file_count=len(paths)))
                reason = self.broken.get(Path(path).name)
                status = "damaged" if reason else "indexed"
                emit(FileProgress(path, "failed" if reason else "indexed", None, reason or "",
                                  None if reason else 1, None if reason else 2, index,
                                  len(paths)))  # fmt: skip
                library[path] = FileRecord(path, "hash", 10, 0.0, None if reason else 1,
                                           0 if reason else 2, status, reason, 0.0)  # fmt: skip
                outcomes.append(FileOutcome(path, status, reason, 1, 2))
            return IndexReport(request.library, outcomes)
        if isinstance(request, protocol.ListFiles):
            return tuple(self.files.get(request.library, {}).values())
        if isinstance(request, protocol.RemoveFiles):
            library = self.files.get(request.library, {})
            return tuple(library.pop(path, None) is not None for path in request.paths)
        if isinstance(request, protocol.RemoveLibrary):
            self.files.pop(request.library, None)
            return None
        if isinstance(request, protocol.Search):
            self.searching.set()
            if self.hold_searches and cancel is not None:
                while not cancel.cancelled:
                    time.sleep(0.01)
            if request.rerank and self.rerank_error and on_event is not None:
                on_event(protocol.RerankSkipped(self.rerank_error))
            indexed = [p for p, r in self.files.get(request.library, {}).items()
                       if r.status == "indexed"]  # fmt: skip
            from engine.library.answer import Source

            return tuple(Source(n, path, 1, self.pages.get(Path(path).name,
                                                           f"Page one of {Path(path).name}."),
                                score=1.0)
                         for n, path in enumerate(indexed[: request.k], start=1))  # fmt: skip
        if isinstance(request, protocol.DocumentText):
            text = Path(request.path).read_text(encoding="utf-8", errors="replace")
            return None if len(text) > request.max_chars else text
        if isinstance(request, protocol.RenderPage):
            return RenderedPage(tiny_png(), 40, 50, request.page, 3, [(1.0, 2.0, 10.0, 4.0)])
        if isinstance(request, protocol.WatchFolder):
            from engine.library.watched import WatchedFolder

            self.watched.setdefault(request.library, []).append(request.folder)
            return WatchedFolder(request.library, request.folder)
        if isinstance(request, protocol.StopWatching):
            folders = self.watched.get(request.library, [])
            if request.folder in folders:
                folders.remove(request.folder)
                return True
            return False
        if isinstance(request, protocol.WatchedFolders):
            from engine.library.watched import WatchedFolder

            return tuple(WatchedFolder(request.library, folder)
                         for folder in self.watched.get(request.library, []))  # fmt: skip
        if isinstance(request, protocol.FollowFolders):
            return None  # nothing changes on its own here
        if isinstance(request, protocol.WarmUp):
            return 0.0
        if isinstance(request, protocol.ProcessId):
            return 0
        raise HearthError(f"The fake library cannot answer {request!r}.")
