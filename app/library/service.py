"""The library process's side: answer the window's requests until told to stop or orphaned.

chromadb, torch and PyMuPDF hold Python's global lock for up to ~90 ms per call. In the window's
process that froze the window while a PDF was indexed; in a process of its own they cannot. This
module runs in that process: it owns every open library (`Libraries`) and serves the requests
of `app.library.protocol` from `app.library.client.LibraryClient` over a pipe, one thread per
lane (see the protocol for the lanes and the messages), and follows the watched folders
(app.library.watchers). Reading documents for the window
happens here too (the text of a document placed whole in a chat, pages for the viewer), so the
window's process never runs PyMuPDF either.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from app.library.libraries import Libraries
from app.library.protocol import LANES, REQUESTS, Request
from app.logs import setup_logging
from app.paths import app_paths
from engine.cancel import CancelToken
from engine.errors import HearthError
from engine.library import language

log = logging.getLogger(__name__)


def serve(conn: Any, root: str, log_file: str | None) -> None:
    """The library process's whole life: answer requests until told to stop or the window's
    process is gone."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars on a console nobody reads
    setup_logging(Path(log_file) if log_file else None)
    language.keep_model_copy_in(app_paths().language_model_dir)
    lower_priority()
    service = LibraryService(Libraries(Path(root)), conn)
    try:
        service.run()
    finally:
        service.close()


class _Call:
    """One request being answered: the handler's `Context` (see app.library.protocol)."""

    def __init__(self, service: LibraryService, request_id: int, call_cancel: CancelToken) -> None:
        self.libraries = service.libraries
        self.cancel = service.cancel
        self.call_cancel = call_cancel
        self.watchers = service.watchers
        self._service = service
        self._request_id = request_id

    def emit(self, event: object) -> None:
        self._service.send(("event", self._request_id, event))


class LibraryService:
    """Routes requests from the pipe to one thread per lane and sends back their answers."""

    def __init__(self, libraries: Libraries, conn: Any) -> None:
        from app.library.watchers import FolderWatchers

        self.libraries = libraries
        self.conn = conn
        self.watchers = FolderWatchers(libraries)
        # Stops the indexing run in progress at its next page; reset when the next run starts.
        self.cancel = CancelToken()
        # Each call being answered, by id, for ("cancel_call", id); all are stopped at close.
        self._calls: dict[int, CancelToken] = {}
        self._calls_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._lanes: dict[str, queue.Queue[tuple[int, Request[Any]] | None]] = {
            lane: queue.Queue() for lane in LANES
        }
        self._threads = [
            threading.Thread(target=self._work, args=(jobs,), name=f"library-{lane}", daemon=True)
            for lane, jobs in self._lanes.items()
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
                self.watchers.cancel_batches()
            elif kind == "cancel_call":
                with self._calls_lock:
                    token = self._calls.get(message[1])
                if token is not None:
                    token.cancel()
            elif kind == "call":
                _, request_id, request = message
                try:
                    lane = REQUESTS.route(request).lane
                except KeyError:
                    self.send(("error", request_id, f"Unknown request {request!r}."))
                    continue
                with self._calls_lock:  # known before its lane starts it: it can be cancelled
                    self._calls[request_id] = CancelToken()
                self._lanes[lane].put((request_id, request))

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop every lane (an indexing run stops at its next page) and every watched folder's
        watcher, and close every library."""
        self.cancel.cancel()
        with self._calls_lock:
            for token in self._calls.values():
                token.cancel()
        self.watchers.close()
        for jobs in self._lanes.values():
            jobs.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.libraries.close()

    def send(self, message: tuple) -> None:
        # A parent that went away makes this fail; `run` sees the closed pipe and stops.
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    def _work(self, jobs: queue.Queue[tuple[int, Request[Any]] | None]) -> None:
        while (job := jobs.get()) is not None:
            request_id, request = job
            route = REQUESTS.route(request)
            with self._calls_lock:
                call_cancel = self._calls[request_id]
            try:
                value = route.handler(_Call(self, request_id, call_cancel), request)
                self.send(("result", request_id, value))
            except HearthError as exc:
                self.send(("error", request_id, str(exc)))
            except Exception as exc:  # one bad request must not end the service
                log.exception("Library request %s failed", route.name)
                self.send(("error", request_id, f"{route.action} failed: {exc}"))
            finally:
                with self._calls_lock:
                    self._calls.pop(request_id, None)


# The indexer's nice value on Linux and macOS (0 is normal, 19 the lowest).
INDEXER_NICE = 10


def lower_priority(pid: int | None = None) -> None:
    """Indexing yields the CPU to the window and to a reply being written.

    Below-normal priority, and where the system allows it one core left out of this process's
    reach: on a two-core laptop a lower priority alone still let indexing bursts share the
    window's core and stall it for 30-60 ms (bench/ui.py); with a core of its own, under 20 ms.
    The parent calls this with the child's `pid` as soon as it is spawned (so that the child's
    own start-up imports run low too), and the child again for itself: doing it twice is the
    same as once.
    """
    try:
        import psutil

        process = psutil.Process(pid)
        if os.name == "nt":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            process.nice(max(process.nice(), INDEXER_NICE))
        cores = process.cpu_affinity() if hasattr(process, "cpu_affinity") else []
        if len(cores) >= 2:
            process.cpu_affinity(cores[1:])
    except Exception:  # not permitted here: index at normal priority, on every core
        log.info("Could not lower the indexer's priority", exc_info=True)
