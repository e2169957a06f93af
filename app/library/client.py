"""The window's side of the document library process (see app.library.service).

Any thread may call it; each call blocks that thread (never the GUI thread: the indexing, model
and page threads call it) until the answer comes back. The process starts on first use. If it dies, for
example when a damaged file crashes a native library, the calls in flight fail with a plain
message and the next call starts a fresh process; what was indexed before stays, because every
file is committed on its own.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from app.library.libraries import library_exists
from app.library.protocol import REQUESTS, Request
from engine.cancel import CancelToken
from engine.errors import HearthError

R = TypeVar("R")

log = logging.getLogger(__name__)

# How long a stopping process gets to finish its current page and close its libraries.
CLOSE_TIMEOUT_S = 10.0
# How often a call that can be cancelled looks at its token while it waits (seconds).
CANCEL_POLL_S = 0.05


class LibraryProcessError(HearthError):
    """The library process could not answer: it stopped or could not be started."""


class LibraryClient:
    """The libraries under `root`, served by a child process. Thread-safe.

    Args:
        root: The folder holding one subfolder per library.
        log_file: Where the child process writes its log (None: nowhere).
    """

    def __init__(self, root: Path, log_file: Path | None = None) -> None:
        self.root = Path(root)
        self.log_file = log_file
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._closed = False

    def exists(self, name: str) -> bool:
        """True once something was added to the library (checked on disk, without the process)."""
        return library_exists(self.root, name)

    def call(
        self,
        request: Request[R],
        on_event: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> R:
        """Send `request` (see app.library.protocol) and wait for its typed answer.

        A request about a library that was never created is answered here, without starting
        the process, when its route says how.

        Args:
            on_event: Gets the request's events (indexing progress) on this object's reader
                thread: it must return quickly and must not wait on this object (`cancel` is
                fine).

        Raises:
            LibraryProcessError: The process stopped or could not start.
            HearthError: The request failed; the message says why.
        """
        route = REQUESTS.route(request)
        library = getattr(request, "library", None)
        if route.without_library is not None and library is not None and not self.exists(library):
            return route.without_library()
        with self._lock:
            if self._closed:
                raise LibraryProcessError("Hearth is closing; documents are no longer available.")
            if self._child is None or not self._child.alive:
                self._child = _Child.start(self.root, self.log_file)
            child = self._child
            pending = child.request(request, on_event)
        stopping = cancel is None  # no token, or the process was asked to stop: just wait
        while True:
            try:
                return pending.wait(None if stopping else CANCEL_POLL_S)
            except queue.Empty:
                if cancel is not None and cancel.cancelled:
                    child.send(("cancel_call", pending.request_id))
                    stopping = True

    def running_pids(self) -> list[int]:
        """The process's id while it runs, for the memory gauge (never starts it)."""
        child = self._child
        return [child.process.pid] if child is not None and child.alive else []

    def cancel(self) -> None:
        """Stop the indexing run in progress at its next page (no effect when none is running)."""
        with self._lock:
            if self._child is not None:
                self._child.send(("cancel",))

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Stop the process: indexing stops at its next page, libraries close. Safe to call twice."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is not None:
            child.stop(timeout_s)


class _Pending:
    """One request waiting for its answer; events before it go to `on_event`."""

    def __init__(
        self, request_id: int, action: str, on_event: Callable[[Any], None] | None
    ) -> None:
        self.request_id = request_id
        self.action = action  # "Searching", for the message when the process dies under it
        self.on_event = on_event
        self._answer: queue.SimpleQueue = queue.SimpleQueue()

    def resolve(self, ok: bool, value: Any) -> None:
        self._answer.put((ok, value))

    def wait(self, timeout_s: float | None = None) -> Any:
        """The answer (or its error raised); `queue.Empty` when none came within `timeout_s`."""
        ok, value = self._answer.get(timeout=timeout_s)
        if not ok:
            raise value
        return value


class _Child:
    """One running library process, its pipe, and the thread that reads its answers."""

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn
        self.alive = True
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._state_lock = threading.Lock()
        self._send_lock = threading.Lock()
        # Only one thread may wait on the process: two waiting at once can both miss its exit.
        self._reap_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="library-reader", daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, root: Path, log_file: Path | None) -> _Child:
        from app.library.service import lower_priority, serve

        # "spawn" everywhere: a forked copy of a Qt process with live threads is not safe.
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=serve,
            args=(child_end, str(root), str(log_file) if log_file else None),
            name="hearth-library",
            daemon=True,
        )
        try:
            process.start()
        except OSError as exc:
            raise LibraryProcessError(
                f"The document indexer could not be started: {exc}",
                "Free some memory and try again.",
            ) from exc
        finally:
            child_end.close()  # the child has its own copy; ours would hide its exit from us
        lower_priority(process.pid)  # before it imports anything, not once it has
        log.info("Document library process started (pid %s)", process.pid)
        return cls(process, parent_end)

    def request(self, request: Request[Any], on_event: Callable[[Any], None] | None) -> _Pending:
        with self._state_lock:
            request_id = next(self._ids)
            pending = _Pending(request_id, REQUESTS.route(request).action, on_event)
            self._pending[request_id] = pending
            alive = self.alive
        if alive:
            self.send(("call", request_id, request))
        else:
            self._fail_all()
        return pending

    def send(self, message: tuple) -> None:
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, ValueError):
            pass  # the reader thread sees the process gone and fails the waiting calls

    def stop(self, timeout_s: float) -> None:
        self.send(("shutdown",))
        with self._reap_lock:
            self.process.join(timeout_s)
            if self.process.exitcode is None:
                log.warning("The document library process did not stop in time; ending it")
                self.process.kill()
                self.process.join(2.0)
        self.conn.close()
        self._reader.join(2.0)

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            kind, request_id = message[0], message[1]
            if kind == "event":
                pending = self._pending.get(request_id)
                if pending is not None and pending.on_event is not None:
                    try:
                        pending.on_event(message[2])
                    except Exception:  # a listener's bug must not stop the answers
                        log.exception("A library progress listener failed")
                continue
            with self._state_lock:
                pending = self._pending.pop(request_id, None)
            if pending is not None:
                if kind == "result":
                    pending.resolve(True, message[2])
                else:
                    pending.resolve(False, HearthError(message[2]))
        with self._state_lock:
            self.alive = False
        self._fail_all()

    def _fail_all(self) -> None:
        with self._reap_lock:
            self.process.join(1.0)
            code = self.process.exitcode
        if code not in (0, None):
            log.error("The document library process stopped unexpectedly (exit code %s)", code)
        with self._state_lock:
            pending, self._pending = list(self._pending.values()), {}
        for waiting in pending:
            waiting.resolve(False, _stopped_error(waiting.action, code))


def _stopped_error(action: str, code: int | None) -> LibraryProcessError:
    """What a call learns when the process died under it, in the words of what it was doing."""
    stopped = f"The document process stopped unexpectedly (exit code {code})"
    if action == "Indexing":
        return LibraryProcessError(
            f"{stopped} while indexing.",
            "Files indexed before are safe. Add the file again or press Re-index to finish it.",
        )
    return LibraryProcessError(
        f"{stopped}: {action.lower()} did not finish.",
        "Your documents and their index are safe. Try again: a new document process starts.",
    )
