"""The indexing thread: adds, re-checks and removes documents of a chat's library, with progress.

The work itself happens in the library process (app.library_service); this thread waits for it,
so the window's thread never does, and turns its answers into Qt signals.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)
from app.library_process import LibraryProcess
from app.library_service import display_status
from engine.errors import HearthError

log = logging.getLogger(__name__)


class IndexWorker(QObject):
    """Lives on the indexing thread; slots are invoked through queued signals only."""

    started = Signal(str)
    fileProgress = Signal(dict)
    finished = Signal(str, dict)
    failed = Signal(str, str)
    filesListed = Signal(str, list)
    warmedUp = Signal()

    def __init__(self, libraries: LibraryProcess) -> None:
        super().__init__()
        self._libraries = libraries

    @Slot()
    def warm_up(self) -> None:
        """Start the library process and import the document stack ahead of the first file."""
        try:
            seconds = self._libraries.warm_up()
        except Exception:  # indexing will report the problem when it is used
            log.exception("Preparing the document stack failed")
            return
        log.info("Document stack ready in %.1f s", seconds)
        self.warmedUp.emit()

    @Slot(str, list)
    def index(self, library: str, paths: list[str]) -> None:
        self.started.emit(library)
        report = None
        try:
            report = self._libraries.index(library, paths, self.fileProgress.emit)
        except HearthError as exc:
            self.failed.emit(library, str(exc))
        except Exception as exc:  # indexing must never take the app down
            log.exception("Indexing failed")
            self.failed.emit(library, f"Indexing stopped: {exc}")
        # The new listing is fetched before "finished" goes out, so the window shows the end of
        # indexing and the files it produced together.
        files = self._fetch_files(library)
        if report is not None:
            self.finished.emit(library, report)
        if files is not None:
            self.filesListed.emit(library, files)

    @Slot(str)
    def reindex(self, library: str) -> None:
        try:
            paths = [entry["path"] for entry in self._libraries.files(library)]
        except Exception as exc:
            log.exception("Listing the library failed")
            self.failed.emit(library, str(exc))
            return
        if paths:
            self.index(library, paths)

    @Slot(str, list)
    def remove(self, library: str, paths: list[str]) -> None:
        try:
            self._libraries.remove(library, paths)
        except Exception as exc:
            log.exception("Removing files failed")
            self.failed.emit(library, f"Could not remove: {exc}")
        self.list_files(library)

    @Slot(str)
    def list_files(self, library: str) -> None:
        files = self._fetch_files(library)
        if files is not None:
            self.filesListed.emit(library, files)

    def _fetch_files(self, library: str) -> list[dict] | None:
        try:
            files = self._libraries.files(library)
        except Exception as exc:
            log.exception("Listing the library failed")
            self.failed.emit(library, f"The document list cannot be read: {exc}")
            return None
        for entry in files:
            entry["status"] = display_status(entry["status"])
        return files


class IndexClient(QObject):
    """The GUI thread's handle on the indexing thread."""

    _indexRequested = Signal(str, list)
    _reindexRequested = Signal(str)
    _removeRequested = Signal(str, list)
    _listRequested = Signal(str)
    _warmUpRequested = Signal()

    def __init__(self, libraries: LibraryProcess, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.libraries = libraries
        self.thread = QThread()
        self.thread.setObjectName("index")
        self.worker = IndexWorker(libraries)
        self.worker.moveToThread(self.thread)
        self._indexRequested.connect(self.worker.index)
        self._reindexRequested.connect(self.worker.reindex)
        self._removeRequested.connect(self.worker.remove)
        self._listRequested.connect(self.worker.list_files)
        self._warmUpRequested.connect(self.worker.warm_up)
        self.thread.start()

    def warm_up(self) -> None:
        self._warmUpRequested.emit()

    def index(self, library: str, paths: list[str]) -> None:
        self._indexRequested.emit(library, [str(p) for p in paths])

    def reindex(self, library: str) -> None:
        self._reindexRequested.emit(library)

    def remove(self, library: str, paths: list[str]) -> None:
        self._removeRequested.emit(library, list(paths))

    def list_files(self, library: str) -> None:
        self._listRequested.emit(library)

    def cancel(self) -> None:
        self.libraries.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop this thread; close the library process first, or a running index call ends at
        its natural end."""
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("The indexing thread did not stop in time")
