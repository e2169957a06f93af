"""Plain functions run one at a time, in order, on a thread of their own; any thread may submit.

    queue = SerialQueue("model")
    job = queue.submit(work, on_event=show, on_done=finish, on_error=complain)
    job.cancel()                          # from any thread, at any time

    job = queue.submit(work, stream=True)  # from a thread that may block, e.g. a server's
    for event in job.events():            # request thread: events as they come, then the end
        ...

`work(task)` is a plain function: it reports with `task.emit(event)`, checks `task.cancelled`
(or passes `task.cancel` on) between steps, and returns its result; it never touches widgets.
Callbacks run on the queue's thread; `app.worker.SerialWorker` moves them to the GUI thread.
`latest="key"` makes a job replace any job with the same key still waiting: only the newest
request counts (a page asked for while others wait, a memory sample).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from engine.cancel import CancelToken
from engine.errors import HearthError

log = logging.getLogger(__name__)

R = TypeVar("R")
Work = Callable[["Task"], R]

# How long shutting down waits for the job that is running to see its cancel flag. Every job
# checks it between tokens, chunks, pages or files, so this is a bound, not the usual wait.
SHUTDOWN_TIMEOUT_S = 10.0
_END = object()


class JobCancelled(HearthError):
    """The job never ran: it was replaced by a newer one, cancelled while waiting, or the queue
    was shutting down."""


class Task:
    """What a work function gets: a way to report events and the job's cancel flag."""

    def __init__(self, job: Job[Any]) -> None:
        self._job = job

    @property
    def cancel(self) -> CancelToken:
        return self._job.cancel_token

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_token.cancelled

    def emit(self, event: object) -> None:
        """Report one event (typed record) to whoever submitted the job."""
        self._job._event(event)


class Job(Generic[R]):
    """One submitted function: its events, its result or error, and its cancel flag. Thread-safe."""

    def __init__(
        self,
        job_id: int,
        work: Work[R],
        on_event: Callable[[Any], None] | None,
        on_done: Callable[[R], None] | None,
        on_error: Callable[[Exception], None] | None,
        latest: str | None,
        stream: bool,
    ) -> None:
        self.id = job_id
        self.latest = latest
        self.cancel_token = CancelToken()
        self._work = work
        self._on_event = on_event
        self._on_done = on_done
        self._on_error = on_error
        self._finished = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._events: queue.SimpleQueue[object] | None = queue.SimpleQueue() if stream else None

    # -- the submitter's side ----------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the job to stop at its next check; a job still waiting will not run at all."""
        self.cancel_token.cancel()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ended (ran, failed or was skipped); False on timeout."""
        return self._finished.wait(timeout)

    def result(self, timeout: float | None = None) -> R:
        """The work's return value, once it ended.

        Raises:
            TimeoutError: Still running after `timeout` seconds.
            JobCancelled: It never ran.
            Exception: Whatever the work raised.
        """
        if not self._finished.wait(timeout):
            raise TimeoutError(f"job {self.id} is still running")
        if self._error is not None:
            raise self._error
        return self._result

    def events(self, timeout: float | None = None) -> Iterator[object]:
        """The job's events as they are emitted (submit with `stream=True`); raises the work's
        error, if any, after the last one. `timeout` bounds each wait for the next event."""
        if self._events is None:
            raise RuntimeError("submit the job with stream=True to iterate its events")
        while True:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"job {self.id} sent nothing for {timeout} s") from None
            if event is _END:
                break
            yield event
        if self._error is not None and not isinstance(self._error, JobCancelled):
            raise self._error

    # -- the queue's side --------------------------------------------------------------------

    def _event(self, event: object) -> None:
        if self._events is not None:
            self._events.put(event)
        if self._on_event is not None:
            _call(self._on_event, event)

    def _run(self) -> None:
        if self.cancel_token.cancelled and self.latest is not None:
            self._skip()  # a newer request took its place
            return
        try:
            self._result = self._work(Task(self))
        except Exception as exc:  # handed to on_error; the queue keeps going
            if isinstance(exc, HearthError):
                log.info("Job %s failed: %s", self.id, exc)
            else:
                log.exception("Job %s failed", self.id)
            self._error = exc
            self._end()
            if self._on_error is not None:
                _call(self._on_error, exc)
            return
        self._end()
        if self._on_done is not None:
            _call(self._on_done, self._result)

    def _skip(self) -> None:
        self._error = JobCancelled("This request was replaced or cancelled before it ran.")
        self._end()

    def _end(self) -> None:
        if self._events is not None:
            self._events.put(_END)
        self._finished.set()


def _call(callback: Callable[[Any], None], value: Any) -> None:
    try:
        callback(value)
    except Exception:  # a listener's bug must not stop the queue
        log.exception("A job callback failed")


class SerialQueue:
    """One thread that runs submitted functions one at a time, in the order they came.

    Args:
        name: The thread's name (shown in logs and debuggers).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Job[Any] | None] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._waiting: dict[str, Job[Any]] = {}
        self._pending: set[Job[Any]] = set()
        self._idle = threading.Event()
        self._idle.set()
        self._closed = False
        # Started by the first job: starting a thread waits for it to run, and a window that
        # makes several queues as it opens would wait for each while other threads hold the GIL.
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False

    def _start_locked(self) -> None:
        """Start the thread if it is not running yet (call with `_lock` held)."""
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def closed(self) -> bool:
        """True once `shutdown` was called: jobs still running are being cancelled."""
        return self._closed

    def submit(
        self,
        work: Work[R],
        *,
        on_event: Callable[[Any], None] | None = None,
        on_done: Callable[[R], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        latest: str | None = None,
        stream: bool = False,
    ) -> Job[R]:
        """Queue `work(task)`; callbacks run on this queue's thread.

        Args:
            latest: A key: a job with the same key still waiting is skipped in favour of this one.
            stream: Keep the events for `Job.events()` (a thread that iterates them).

        Returns:
            The job; after `shutdown` it has already ended with `JobCancelled`.
        """
        job: Job[R] = Job(next(self._ids), work, on_event, on_done, on_error, latest, stream)
        with self._lock:
            if self._closed:
                job._skip()
                return job
            if latest is not None:
                replaced = self._waiting.get(latest)
                if replaced is not None:
                    replaced.cancel()
                self._waiting[latest] = job
            self._pending.add(job)
            self._idle.clear()
            self._start_locked()
        self._jobs.put(job)
        return job

    def cancel_all(self) -> None:
        """Cancel the running job and every waiting one."""
        with self._lock:
            pending = list(self._pending)
        for job in pending:
            job.cancel()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is waiting or running; False on timeout."""
        return self._idle.wait(timeout)

    def shutdown(
        self, timeout_s: float = SHUTDOWN_TIMEOUT_S, last: Callable[[], None] | None = None
    ) -> bool:
        """Cancel every job, run `last()` on the thread after them, and stop. Safe to call twice.

        Returns:
            True when the thread ended within `timeout_s`.
        """
        with self._lock:
            first = not self._closed
            self._closed = True
            pending = list(self._pending)
            if first and last is not None:
                self._start_locked()  # `last` runs on the queue's thread, even if it never ran
            started = self._started
        for job in pending:
            job.cancel()
        if first:
            if last is not None:
                self._jobs.put(_final_job(last))
            self._jobs.put(None)
        if not started:
            return True
        if threading.current_thread() is self._thread:
            return False
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("The %s thread did not stop within %.0f s", self.name, timeout_s)
            return False
        return True

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            with self._lock:
                if job.latest is not None and self._waiting.get(job.latest) is job:
                    del self._waiting[job.latest]
            if job.cancel_token.cancelled and self._closed:
                job._skip()
            else:
                job._run()
            with self._lock:
                self._pending.discard(job)
                if not self._pending:
                    self._idle.set()


def _final_job(last: Callable[[], None]) -> Job[None]:
    def work(_task: Task) -> None:
        last()

    return Job(0, work, None, None, None, None, False)
