"""The indexing thread: adds, re-checks and removes documents of a chat's library, with progress.

Progress is sent per file and whenever the rounded percentage of the current file changes, so a
100-page PDF costs the GUI about a hundred small updates, not thousands.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)
from app.library_access import Libraries
from engine.cancel import CancelToken
from engine.errors import HearthError

log = logging.getLogger(__name__)

_FAILED = {"encrypted", "damaged", "no_text", "empty", "unreadable", "vanished", "failed"}
_SKIPPED = {"unsupported", "hidden"}


def display_status(status: str) -> str:
    """The engine's per-file status in the words the documents panel uses."""
    if status in _FAILED:
        return "failed"
    if status in _SKIPPED:
        return "skipped"
    return {"unchanged": "indexed"}.get(status, status)


class IndexWorker(QObject):
    """Lives on the indexing thread; slots are invoked through queued signals only."""

    started = Signal(str)
    fileProgress = Signal(dict)
    finished = Signal(str, dict)
    failed = Signal(str, str)
    filesListed = Signal(str, list)
    warmedUp = Signal()

    def __init__(self, libraries: Libraries) -> None:
        super().__init__()
        self._libraries = libraries
        self.cancel = CancelToken()

    @Slot()
    def warm_up(self) -> None:
        """Import the document stack (torch, sentence-transformers, chromadb, PyMuPDF) ahead of use.

        Loading their native libraries holds Python's global lock for up to ~200 ms at a time,
        which freezes the window; done once while the app is idle, indexing later runs smoothly.
        """
        started = time.perf_counter()
        try:
            import chromadb  # noqa: F401
            import pymupdf  # noqa: F401  (its import alone holds the lock ~200 ms)
            import sentence_transformers  # noqa: F401

            import engine.library  # noqa: F401
        except Exception:  # indexing will report the problem when it is used
            log.exception("Preparing the document stack failed")
            return
        log.info("Document stack ready in %.1f s", time.perf_counter() - started)
        self.warmedUp.emit()

    @Slot(str, list)
    def index(self, library: str, paths: list[str]) -> None:
        self.cancel.reset()
        self.started.emit(library)
        last: dict[str, Any] = {"file": None, "percent": -1}

        def on_progress(progress: Any) -> None:
            self._report(progress, last)

        try:
            report = self._libraries.get(library).index(
                paths, progress=on_progress, cancel=self.cancel
            )
            self.finished.emit(library, report.to_dict())
        except HearthError as exc:
            self.failed.emit(library, str(exc))
        except Exception as exc:  # indexing must never take the app down
            log.exception("Indexing failed")
            self.failed.emit(library, f"Indexing stopped: {exc}")
        self.list_files(library)

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
            lib = self._libraries.get(library)
            for path in paths:
                lib.remove_file(path)
        except Exception as exc:
            log.exception("Removing files failed")
            self.failed.emit(library, f"Could not remove: {exc}")
        self.list_files(library)

    @Slot(str)
    def list_files(self, library: str) -> None:
        try:
            files = self._libraries.files(library)
        except Exception as exc:
            log.exception("Listing the library failed")
            self.failed.emit(library, f"The document list cannot be read: {exc}")
            return
        for entry in files:
            entry["status"] = display_status(entry["status"])
        self.filesListed.emit(library, files)

    def _report(self, progress: Any, last: dict[str, Any]) -> None:
        if progress.file is None:
            return
        if progress.stage == "done":
            status = display_status(progress.status or "")
            self.fileProgress.emit({
                "path": progress.file,
                "status": status,
                "error": (progress.message or "") if status != "indexed" else "",
                "pages": progress.page_count or None,
                "chunks": progress.chunks or None,
                "file_index": progress.file_index,
                "file_count": progress.file_count,
            })  # fmt: skip
            return
        fraction = progress.page / progress.page_count if progress.page_count else 0.0
        percent = int(fraction * 100)
        if progress.file == last["file"] and percent == last["percent"]:
            return
        last["file"], last["percent"] = progress.file, percent
        self.fileProgress.emit({
            "path": progress.file,
            "status": "indexing",
            "progress": fraction,
            "file_index": progress.file_index,
            "file_count": progress.file_count,
        })  # fmt: skip


class IndexClient(QObject):
    """The GUI thread's handle on the indexing thread."""

    _indexRequested = Signal(str, list)
    _reindexRequested = Signal(str)
    _removeRequested = Signal(str, list)
    _listRequested = Signal(str)
    _warmUpRequested = Signal()

    def __init__(self, libraries: Libraries, parent: QObject | None = None) -> None:
        super().__init__(parent)
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
        self.worker.cancel.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self.cancel()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("The indexing thread did not stop in time")
