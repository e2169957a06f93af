"""The document library's own process: indexing and search run here, never in the window's process.

chromadb, torch and PyMuPDF hold Python's global lock for up to ~90 ms per call. In the window's
process that froze the window while a PDF was indexed; in a process of its own they cannot. This
module is the child's side: it owns every library (`Libraries`), answers requests from
`app.library_process.LibraryProcess` over a pipe, and exits when the window's process is gone.

Reading documents for the window happens here too (the text of a document placed whole in a
chat, and pages rendered for the viewer), so the window's process never runs PyMuPDF either.

Three lanes, each a thread, keep quick requests from waiting behind slow ones: indexing, removing
and listing run in order on one; searches and whole-document reads on another; page renders on
a third.

Messages, all tuples:
    window -> here: ("call", id, method, args), ("cancel",), ("shutdown",)
    here -> window: ("event", id, payload), ("result", id, value), ("error", id, message)
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from engine.cancel import CancelToken
from engine.errors import HearthError

log = logging.getLogger(__name__)

# The lane of each request that does not run in order with indexing.
LANES = {"search": "quick", "pid": "quick", "document_text": "quick", "render_page": "pages"}


def serve(conn: Any, root: str, log_file: str | None) -> None:
    """The child process's whole life: answer requests until told to stop or the parent is gone."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars on a console nobody reads
    _setup_logging(log_file)
    _lower_priority()
    from app.library_access import Libraries

    service = LibraryService(Libraries(Path(root)), conn)
    try:
        service.run()
    finally:
        service.close()


class LibraryService:
    """Routes requests from the pipe to two worker threads and sends back their answers."""

    def __init__(self, libraries: Any, conn: Any) -> None:
        self.libraries = libraries
        self.conn = conn
        self.cancel = CancelToken()
        self._send_lock = threading.Lock()
        self._lanes = {name: queue.Queue() for name in ("ordered", "quick", "pages")}
        self._threads = [
            threading.Thread(target=self._work, args=(lane,), name=f"library-{name}", daemon=True)
            for name, lane in self._lanes.items()
        ]
        for thread in self._threads:
            thread.start()

    def run(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):  # the window's process is gone: stop as if told to
                log.info("The window's process closed the connection")
                return
            kind = message[0]
            if kind == "shutdown":
                return
            if kind == "cancel":
                self.cancel.cancel()
            elif kind == "call":
                _, request_id, method, args = message
                lane = LANES.get(method, "ordered")
                self._lanes[lane].put((request_id, method, args))

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop both lanes (an indexing run stops at its next page) and close every library."""
        self.cancel.cancel()
        for lane in self._lanes.values():
            lane.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.libraries.close()

    def _work(self, lane: queue.Queue) -> None:
        while (job := lane.get()) is not None:
            request_id, method, args = job
            try:
                value = self._handle(request_id, method, args)
                self._send(("result", request_id, value))
            except HearthError as exc:
                self._send(("error", request_id, str(exc)))
            except Exception as exc:  # one bad request must not end the service
                log.exception("Library request %s failed", method)
                self._send(("error", request_id, f"{_ACTIONS.get(method, method)} failed: {exc}"))

    def _handle(self, request_id: int, method: str, args: tuple) -> Any:
        if method == "index":
            library, paths = args
            self.cancel.reset()
            report = self.libraries.get(library).index(
                paths,
                progress=ProgressThrottle(lambda event: self._send(("event", request_id, event))),
                cancel=self.cancel,
            )
            return report.to_dict()
        if method == "search":
            return self.libraries.search(*args)
        if method == "files":
            return self.libraries.files(*args)
        if method == "remove":
            library, paths = args
            opened = self.libraries.get(library)
            return [bool(opened.remove_file(path)) for path in paths]
        if method == "remove_library":
            return self.libraries.remove_library(*args)
        if method == "document_text":
            from engine.library.extract import document_text

            return document_text(Path(args[0]), args[1])
        if method == "render_page":
            from engine.page_render import render_page

            path, page, zoom, passage = args
            return render_page(Path(path), page, zoom=zoom, passage=passage).to_dict()
        if method == "warm_up":
            return warm_up()
        if method == "pid":
            return os.getpid()
        raise ValueError(f"unknown request {method!r}")

    def _send(self, message: tuple) -> None:
        # A parent that went away makes this fail; `run` sees the closed pipe and stops.
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)


_ACTIONS = {
    "index": "Indexing",
    "search": "Searching",
    "files": "Listing",
    "remove": "Removing",
    "remove_library": "Removing the library",
    "document_text": "Reading the document",
    "render_page": "Showing the page",
}


def warm_up() -> float:
    """Import the document stack ahead of the first file (about 6 s of CPU on two cores)."""
    started = time.perf_counter()
    import chromadb  # noqa: F401
    import pymupdf  # noqa: F401
    import sentence_transformers  # noqa: F401

    import engine.library  # noqa: F401

    seconds = time.perf_counter() - started
    log.info("Document stack ready in %.1f s", seconds)
    return seconds


class ProgressThrottle:
    """Turns the engine's per-page progress into the few updates the documents panel needs.

    One update per finished file and one whenever the current file's whole percentage changes,
    so a 300-page PDF costs the window about a hundred small messages, not thousands.
    """

    def __init__(self, send: Callable[[dict], None]) -> None:
        self.send = send
        self._last: tuple[str | None, int] = (None, -1)

    def __call__(self, progress: Any) -> None:
        if progress.file is None:
            return
        if progress.stage == "done":
            status = display_status(progress.status or "")
            self.send({
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
        if (progress.file, percent) == self._last:
            return
        self._last = (progress.file, percent)
        self.send({
            "path": progress.file,
            "status": "indexing",
            "progress": fraction,
            "file_index": progress.file_index,
            "file_count": progress.file_count,
        })  # fmt: skip


_FAILED = {"encrypted", "damaged", "no_text", "empty", "unreadable", "vanished", "failed"}
_SKIPPED = {"unsupported", "hidden"}


def display_status(status: str) -> str:
    """The engine's per-file status in the words the documents panel uses."""
    if status in _FAILED:
        return "failed"
    if status in _SKIPPED:
        return "skipped"
    return {"unchanged": "indexed"}.get(status, status)


def _setup_logging(log_file: str | None) -> None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
        )
        root.addHandler(handler)
    for noisy in ("chromadb", "httpx", "urllib3", "sentence_transformers", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _lower_priority() -> None:
    """Indexing yields the CPU to the window and to a reply being written.

    Below-normal priority, and where the system allows it one core left out of this process's
    reach: on a two-core laptop a lower priority alone still let indexing bursts share the
    window's core and stall it for 30-60 ms (bench/ui.py); with a core of its own, under 20 ms.
    """
    try:
        import psutil

        process = psutil.Process()
        if os.name == "nt":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            process.nice(min(19, process.nice() + 10))
        cores = process.cpu_affinity() if hasattr(process, "cpu_affinity") else []
        if len(cores) >= 2:
            process.cpu_affinity(cores[1:])
    except Exception:  # not permitted here: index at normal priority, on every core
        log.info("Could not lower the indexer's priority", exc_info=True)
