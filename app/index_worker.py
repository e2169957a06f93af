"""The indexing thread: adds, re-checks and removes a chat's documents, with progress.

The work itself happens in the library process (app.library.service); this thread waits for
it, so the window's thread never does, and its typed events come back as signals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.jobs import Task
from app.library.client import LibraryClient, LibraryProcessError
from app.library.protocol import (
    FolderState,
    FollowFolders,
    IndexFiles,
    ListFiles,
    RemoveFiles,
    StopWatching,
    WarmUp,
    WatchedFolders,
    WatchFolder,
    WatchProgress,
    WatchReport,
)
from app.worker import SerialWorker
from engine.errors import HearthError
from engine.library.watched import normalise

if TYPE_CHECKING:
    from engine.library.types import FileRecord, IndexReport
    from engine.library.watched import WatchedFolder

log = logging.getLogger(__name__)

# How long to wait before following the watched folders again after the process stopped.
FOLLOW_RETRY_S = 2.0


@dataclass(frozen=True)
class _Started:
    library: str


@dataclass(frozen=True)
class _Finished:
    library: str
    report: IndexReport


# The notice topics of failures: the next success of the same kind withdraws the failure
# (a file indexed, the folder watched; see app.document_controller).
INDEX_TOPIC = "index"


def watch_topic(folder: str) -> str:
    """The notice topic of a failure to watch `folder`."""
    return f"watch-request:{normalise(folder)}"


@dataclass(frozen=True)
class _Failed:
    library: str
    message: str
    topic: str = ""


@dataclass(frozen=True)
class _Listed:
    library: str
    files: tuple[FileRecord, ...]


@dataclass(frozen=True)
class _Watched:
    library: str
    folders: tuple[WatchedFolder, ...]


class IndexClient(QObject):
    """Signals: started(library), fileProgress(FileProgress), finished(library, IndexReport),
    failed(library, message, notice topic), filesListed(library, tuple[FileRecord]), warmedUp(),
    and for watched folders: foldersListed(library, tuple[WatchedFolder]),
    folderState(WatchedFolder), watchProgress(library, FileProgress),
    watchReport(library, folder, IndexReport)."""

    started = Signal(str)
    fileProgress = Signal(object)
    finished = Signal(str, object)
    failed = Signal(str, str, str)
    filesListed = Signal(str, object)
    warmedUp = Signal()
    foldersListed = Signal(str, object)
    folderState = Signal(object)
    watchProgress = Signal(str, object)
    watchReport = Signal(str, str, object)
    # Carries the watched folders' events from the library client's reader thread.
    _watchEvent = Signal(object)

    def __init__(self, libraries: LibraryClient, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.libraries = libraries
        self._worker = SerialWorker("index", self)
        self._follower: threading.Thread | None = None
        self._closing = threading.Event()
        self._watchEvent.connect(self._on_watch_event)

    def warm_up(self) -> None:
        """Start the library process and import the document stack ahead of the first file."""

        def work(_task: Task) -> float:
            seconds = self.libraries.call(WarmUp())
            log.info("Document stack ready in %.1f s", seconds)
            return seconds

        self._worker.run(work, on_done=lambda _seconds: self.warmedUp.emit(),
                         on_error=lambda _exc: None)  # indexing reports it when used  # fmt: skip

    def index(self, library: str, paths: Sequence[str]) -> None:
        paths = tuple(str(p) for p in paths)
        self._worker.run(lambda task: self._index(task, library, paths), on_event=self._on_event)

    def reindex(self, library: str) -> None:
        def work(task: Task) -> None:
            try:
                files = self.libraries.call(ListFiles(library))
            except Exception as exc:
                log.exception("Listing the library failed")
                task.emit(_Failed(library, str(exc)))
                return
            if files:
                self._index(task, library, tuple(record.path for record in files))

        self._worker.run(work, on_event=self._on_event)

    def remove(self, library: str, paths: Sequence[str]) -> None:
        paths = tuple(str(p) for p in paths)

        def work(task: Task) -> None:
            try:
                self.libraries.call(RemoveFiles(library, paths))
            except Exception as exc:
                log.exception("Removing files failed")
                task.emit(_Failed(library, f"Could not remove: {exc}"))
            self._list(task, library)

        self._worker.run(work, on_event=self._on_event)

    def list_files(self, library: str) -> None:
        self._worker.run(lambda task: self._list(task, library), on_event=self._on_event)

    def watch(self, library: str, folder: str) -> None:
        """Follow `folder` from now on (and after restarts); its changes come as watch* signals."""
        self.follow()
        request = WatchFolder(library, folder)
        self._change_watch(library, request, "The folder cannot be watched", watch_topic(folder))

    def stop_watching(self, library: str, folder: str) -> None:
        """Stop following `folder`; its documents stay in the library."""
        request = StopWatching(library, folder)
        self._change_watch(library, request, "Could not stop watching the folder")

    def _change_watch(self, library: str, request: Any, failure: str, topic: str = "") -> None:
        """Send a request that changes the watched folders, then list them again."""

        def work(task: Task) -> None:
            try:
                self.libraries.call(request)
            except Exception as exc:
                log.exception("%s failed", request)
                task.emit(_Failed(library, f"{failure}: {exc}", topic))
            self._list_watched(task, library)

        self._worker.run(work, on_event=self._on_event)

    def follow(self) -> None:
        """Start receiving the watched folders' events (once; the library process starts then
        and follows every remembered folder)."""
        if self._follower is not None or self._closing.is_set():
            return
        self._follower = threading.Thread(target=self._follow, name="library-follow",
                                          daemon=True)  # fmt: skip
        self._follower.start()

    def cancel(self) -> None:
        """Stop the indexing run in progress at its next page (a watched folder's batch too)."""
        self.libraries.cancel()

    def shutdown(self) -> None:
        """Stop this thread; close the library client first, or a running index call ends only
        at its natural end."""
        self._closing.set()
        self._worker.shutdown()
        if self._follower is not None:
            self._follower.join(2.0)

    # -- on the indexing thread ---------------------------------------------------------------

    def _index(self, task: Task, library: str, paths: tuple[str, ...]) -> None:
        task.emit(_Started(library))
        report = None
        try:
            report = self.libraries.call(IndexFiles(library, paths), on_event=task.emit)
        except HearthError as exc:
            task.emit(_Failed(library, str(exc), INDEX_TOPIC))
        except Exception as exc:  # indexing must never take the app down
            log.exception("Indexing failed")
            task.emit(_Failed(library, f"Indexing stopped: {exc}", INDEX_TOPIC))
        # The new listing is fetched before "finished" goes out, so the window shows the end of
        # indexing and the files it produced together.
        files = self._fetch(task, library)
        if report is not None:
            task.emit(_Finished(library, report))
        if files is not None:
            task.emit(_Listed(library, files))

    def _list(self, task: Task, library: str) -> None:
        files = self._fetch(task, library)
        if files is not None:
            task.emit(_Listed(library, files))
        self._list_watched(task, library)

    def _list_watched(self, task: Task, library: str) -> None:
        try:
            folders = self.libraries.call(WatchedFolders(library))
        except Exception:  # the files' listing says what is wrong with the process
            log.exception("Listing the watched folders failed")
            return
        task.emit(_Watched(library, folders))

    # -- on the follower thread -------------------------------------------------------------------

    def _follow(self) -> None:
        """Wait on `FollowFolders` for as long as the process lives; start it again if the
        process stopped unexpectedly (the next call starts a fresh one)."""
        while not self._closing.is_set():
            try:
                self.libraries.call(FollowFolders(), on_event=self._watchEvent.emit)
                return  # the process was told to stop
            except LibraryProcessError:
                if self._closing.wait(FOLLOW_RETRY_S):
                    return
            except Exception:
                log.exception("Following the watched folders failed")
                return

    def _fetch(self, task: Task, library: str) -> tuple[FileRecord, ...] | None:
        try:
            return self.libraries.call(ListFiles(library))
        except Exception as exc:
            log.exception("Listing the library failed")
            task.emit(_Failed(library, f"The document list cannot be read: {exc}"))
            return None

    # -- on the GUI thread ----------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        if isinstance(event, _Started):
            self.started.emit(event.library)
        elif isinstance(event, _Finished):
            self.finished.emit(event.library, event.report)
        elif isinstance(event, _Failed):
            self.failed.emit(event.library, event.message, event.topic)
        elif isinstance(event, _Listed):
            self.filesListed.emit(event.library, event.files)
        elif isinstance(event, _Watched):
            self.foldersListed.emit(event.library, event.folders)
        else:  # engine.library.types.FileProgress, from the library process
            self.fileProgress.emit(event)

    def _on_watch_event(self, event: Any) -> None:
        if self._closing.is_set():
            return
        if isinstance(event, FolderState):
            self.folderState.emit(event.folder)
        elif isinstance(event, WatchProgress):
            self.watchProgress.emit(event.library, event.progress)
        elif isinstance(event, WatchReport):
            self.watchReport.emit(event.library, event.folder, event.report)
