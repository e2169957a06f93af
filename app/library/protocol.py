"""The library process's requests: one registry of typed requests that both sides use.

Each request is a frozen dataclass registered with its handler (run in the library process), its
lane (which of the process's threads runs it) and the words for what it does. The window's side
(`app.library.client.LibraryClient.call`) sends the dataclass itself and gets the handler's
typed result back; the process's side (`app.library.service`) finds the handler by the
request's type. Adding a request is one dataclass and one function here.

Lanes keep quick requests from waiting behind slow ones: indexing, removing and listing run in
order on "ordered"; searches and whole-document reads on "quick"; page renders on "pages";
"watch" carries `FollowFolders`, the one call that lasts as long as the process and brings the
watched folders' events (`FolderState`, `WatchProgress`, `WatchReport`) to the window.

Messages on the pipe (tuples of plain values and these dataclasses):
    window -> process: ("call", id, request), ("cancel",), ("cancel_call", id), ("shutdown",)
    process -> window: ("event", id, event), ("result", id, value), ("error", id, message)

("cancel",) stops the indexing run in progress; ("cancel_call", id) stops one call that takes
its `Context.call_cancel` (a reranked search), which then answers as it would have done without
the part that was stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from engine.cancel import CancelToken

if TYPE_CHECKING:
    from app.library.libraries import Libraries
    from app.library.watchers import FolderWatchers
    from engine.library.answer import Source
    from engine.library.types import FileProgress, FileRecord, IndexProgress, IndexReport
    from engine.library.watched import WatchedFolder
    from engine.page_render import RenderedPage

R = TypeVar("R")

ORDERED, QUICK, PAGES, WATCH = "ordered", "quick", "pages", "watch"
LANES = (ORDERED, QUICK, PAGES, WATCH)


class Request(Generic[R]):
    """Base of every request; `R` is the type of its answer."""


class Context(Protocol):
    """What a handler gets in the library process."""

    libraries: Libraries
    cancel: CancelToken  # the indexing run's
    call_cancel: CancelToken  # this call's own ("cancel_call", id)
    watchers: FolderWatchers

    def emit(self, event: object) -> None:
        """Send an event to the waiting caller (progress, before the answer)."""


@dataclass(frozen=True)
class Route(Generic[R]):
    """How one request type is served.

    Attributes:
        name: The request's name, for logs.
        payload: Its dataclass.
        handler: Runs it in the library process.
        lane: "ordered", "quick", "pages" or "watch".
        action: What it does, in words ("Searching"), for "Searching failed: ...".
        without_library: The answer when the request's library was never created, given
            without starting the process (None: always ask the process).
    """

    name: str
    payload: type[Request[R]]
    handler: Callable[[Context, Any], R]
    lane: str
    action: str
    without_library: Callable[[], R] | None = None


class Registry:
    """Request types and their routes, filled by `handles` below."""

    def __init__(self) -> None:
        self._routes: dict[type, Route[Any]] = {}

    def handles(
        self,
        payload: type[Request[R]],
        *,
        lane: str,
        action: str,
        without_library: Callable[[], R] | None = None,
    ) -> Callable[[Callable[[Context, Any], R]], Callable[[Context, Any], R]]:
        """Register the decorated function as the handler of `payload`."""
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")

        def register(handler: Callable[[Context, Any], R]) -> Callable[[Context, Any], R]:
            name = payload.__name__
            self._routes[payload] = Route(name, payload, handler, lane, action, without_library)
            return handler

        return register

    def route(self, request: Request[R]) -> Route[R]:
        """The route of `request`. Raises KeyError for a type that is not registered."""
        return self._routes[type(request)]

    def __iter__(self):
        return iter(self._routes.values())


REQUESTS = Registry()


# -- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexFiles(Request["IndexReport"]):
    """Index files and folders into a library; emits `FileProgress` events as it goes."""

    library: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ListFiles(Request["tuple[FileRecord, ...]"]):
    """The library's files with pages, chunks, status and error."""

    library: str


@dataclass(frozen=True)
class Search(Request["tuple[Source, ...]"]):
    """Numbered excerpts for a question; only those that bear on it unless `relevant_only` is
    False; reordered by a small language model first when `rerank` (engine/rerank.py). A
    rerank that cannot happen emits `RerankSkipped`; cancelling the call stops a rerank, and
    the search's own order comes back."""

    library: str
    question: str
    k: int = 4
    relevant_only: bool = True
    rerank: bool = False


@dataclass(frozen=True)
class RemoveFiles(Request["tuple[bool, ...]"]):
    """Remove files from a library; True for each file that was in it."""

    library: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class RemoveLibrary(Request[None]):
    """Delete a whole library (a chat deleted for good)."""

    library: str


@dataclass(frozen=True)
class DocumentText(Request["str | None"]):
    """A document's text for placing it whole in a chat; None when longer than `max_chars`."""

    path: str
    max_chars: int


@dataclass(frozen=True)
class RenderPage(Request["RenderedPage"]):
    """One page as PNG with the rectangles of `passage` on it."""

    path: str
    page: int
    zoom: float = 1.5
    passage: str = ""


@dataclass(frozen=True)
class WarmUp(Request[float]):
    """Import the document stack ahead of the first file; answers the seconds that took."""


@dataclass(frozen=True)
class ProcessId(Request[int]):
    """The library process's id."""


@dataclass(frozen=True)
class WatchFolder(Request["WatchedFolder"]):
    """Remember `folder` as followed by the library and start following it (the library
    catches up with it first); its events come through `FollowFolders`."""

    library: str
    folder: str


@dataclass(frozen=True)
class StopWatching(Request[bool]):
    """Stop following `folder` and forget it; its documents stay in the library. True when
    it was followed."""

    library: str
    folder: str


@dataclass(frozen=True)
class WatchedFolders(Request["tuple[WatchedFolder, ...]"]):
    """The folders the library follows, each with how following it goes."""

    library: str


@dataclass(frozen=True)
class FollowFolders(Request[None]):
    """Follow every remembered folder and send the watchers' events (`FolderState`,
    `WatchProgress`, `WatchReport`) until the process stops; answers only then."""


# -- events of FollowFolders --------------------------------------------------------------------


@dataclass(frozen=True)
class RerankSkipped:
    """A search asked for reranking, and its excerpts keep the search's order: `reason` says
    why (the reranking model could not load)."""

    reason: str


@dataclass(frozen=True)
class FolderState:
    """A watched folder began or stopped being followed (`folder.state`, `folder.message`)."""

    folder: WatchedFolder


@dataclass(frozen=True)
class WatchProgress:
    """A file of a watched folder is being indexed, or is done (not sent for unchanged files)."""

    library: str
    progress: FileProgress


@dataclass(frozen=True)
class WatchReport:
    """What one batch of a watched folder's changes (or its first catch-up) did."""

    library: str
    folder: str
    report: IndexReport


# -- handlers (they run in the library process) -----------------------------------------------


@REQUESTS.handles(IndexFiles, lane=ORDERED, action="Indexing")
def index_files(context: Context, request: IndexFiles) -> IndexReport:
    context.cancel.reset()
    library = context.libraries.get(request.library)
    return library.index(
        list(request.paths), progress=FileProgressFeed(context.emit), cancel=context.cancel
    )


@REQUESTS.handles(ListFiles, lane=ORDERED, action="Listing", without_library=tuple)
def list_files(context: Context, request: ListFiles) -> tuple[FileRecord, ...]:
    return context.libraries.files(request.library)


@REQUESTS.handles(Search, lane=QUICK, action="Searching", without_library=tuple)
def search(context: Context, request: Search) -> tuple[Source, ...]:
    libraries = context.libraries
    sources = libraries.search(request.library, request.question, request.k,
                               request.relevant_only, request.rerank,
                               context.call_cancel)  # fmt: skip
    if request.rerank and libraries.rerank_error is not None:
        context.emit(RerankSkipped(libraries.rerank_error))
    return sources


@REQUESTS.handles(RemoveFiles, lane=ORDERED, action="Removing")
def remove_files(context: Context, request: RemoveFiles) -> tuple[bool, ...]:
    library = context.libraries.get(request.library)
    return tuple(bool(library.remove_file(path)) for path in request.paths)


@REQUESTS.handles(RemoveLibrary, lane=ORDERED, action="Removing the library",
                  without_library=lambda: None)  # fmt: skip
def remove_library(context: Context, request: RemoveLibrary) -> None:
    context.watchers.forget_library(request.library)
    context.libraries.remove_library(request.library)


@REQUESTS.handles(DocumentText, lane=QUICK, action="Reading the document")
def document_text(_context: Context, request: DocumentText) -> str | None:
    from engine.library.extract import document_text

    return document_text(Path(request.path), request.max_chars)


@REQUESTS.handles(RenderPage, lane=PAGES, action="Showing the page")
def render_page(_context: Context, request: RenderPage) -> RenderedPage:
    from engine.page_render import render_page

    return render_page(Path(request.path), request.page, request.zoom, request.passage)


@REQUESTS.handles(WarmUp, lane=ORDERED, action="Preparing the document stack")
def warm_up(_context: Context, _request: WarmUp) -> float:
    """Import the document stack ahead of the first file (about 6 s of CPU on two cores)."""
    started = time.perf_counter()
    import chromadb  # noqa: F401
    import pymupdf  # noqa: F401
    import sentence_transformers  # noqa: F401

    import engine.library  # noqa: F401

    return time.perf_counter() - started


@REQUESTS.handles(ProcessId, lane=QUICK, action="Asking for the process id")
def process_id(_context: Context, _request: ProcessId) -> int:
    return os.getpid()


@REQUESTS.handles(WatchFolder, lane=ORDERED, action="Watching the folder")
def watch_folder(context: Context, request: WatchFolder) -> WatchedFolder:
    return context.watchers.watch(request.library, request.folder)


@REQUESTS.handles(StopWatching, lane=ORDERED, action="Stopping watching the folder")
def stop_watching(context: Context, request: StopWatching) -> bool:
    return context.watchers.unwatch(request.library, request.folder)


@REQUESTS.handles(WatchedFolders, lane=QUICK, action="Listing watched folders",
                  without_library=tuple)  # fmt: skip
def watched_folders(context: Context, request: WatchedFolders) -> tuple[WatchedFolder, ...]:
    return context.watchers.folders(request.library)


@REQUESTS.handles(FollowFolders, lane=WATCH, action="Following the watched folders")
def follow_folders(context: Context, _request: FollowFolders) -> None:
    context.watchers.follow(context.emit)


class FileProgressFeed:
    """Turns the engine's per-page progress into the few `FileProgress` updates the panel needs.

    One update per finished file and one whenever the current file's whole percentage changes,
    so a 300-page PDF costs the window about a hundred small messages, not thousands.
    """

    def __init__(self, send: Callable[[FileProgress], None]) -> None:
        self.send = send
        self._last: tuple[str | None, int] = (None, -1)

    def __call__(self, progress: IndexProgress) -> None:
        from engine.library.types import INDEXING, FileProgress, display_status

        if progress.file is None:
            return
        update = FileProgress(progress.file, INDEXING, file_index=progress.file_index,
                              file_count=progress.file_count)  # fmt: skip
        if progress.stage == "done":
            # An indexed file's message is its note ("damaged: 13 of 30 pages cannot be read"):
            # shown at once, as the listing after the run shows it.
            status, error = display_status(progress.status or ""), progress.message or ""
            self.send(replace(update, status=status, error=error,
                              pages=progress.page_count or None, chunks=progress.chunks or None))  # fmt: skip
            return
        fraction = progress.file_fraction
        percent = int(fraction * 100)
        if (progress.file, percent) == self._last:
            return
        self._last = (progress.file, percent)
        self.send(replace(update, fraction=fraction))
