"""Downloads queued one after another on one thread, each of which can be paused, resumed or
cancelled from any thread. Every `DownloadProgress` goes to one listener (a Qt worker forwards it
as a signal; the CLI prints it)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

from engine.catalog import ModelCatalog
from engine.errors import HearthError
from engine.hub.connection import HubConnection
from engine.hub.download import DownloadRequest, download_model
from engine.hub.progress import DownloadControl, DownloadProgress, DownloadState
from engine.hub.store import DownloadStore

log = logging.getLogger(__name__)

Runner = Callable[[DownloadRequest, DownloadControl, str], Iterator[DownloadProgress]]


class DownloadQueue:
    """A queue of downloads, run in the order they were added.

    Args:
        connection: The Hub, or a function that gives it when a job starts (on the queue's
            thread, so that reading the token from the keyring never blocks the caller, and a
            changed address or token applies to the next job). A `HearthError` it raises ends
            that job as failed, with its message.
        store, catalog: Passed to `download_model` for each job.
        listener: Called with every progress record, on the queue's thread; it must not block.
    """

    def __init__(
        self,
        connection: HubConnection | Callable[[], HubConnection],
        store: DownloadStore,
        catalog: ModelCatalog,
        listener: Callable[[DownloadProgress], None],
    ) -> None:
        def run(
            request: DownloadRequest, control: DownloadControl, job_id: str
        ) -> Iterator[DownloadProgress]:
            try:
                hub = connection if isinstance(connection, HubConnection) else connection()
            except HearthError as exc:
                model = request.model
                yield DownloadProgress(job_id, model.repo_id, model.name, DownloadState.FAILED,
                                       total_bytes=model.size, parts=len(model.parts),
                                       message=str(exc))  # fmt: skip
                return
            yield from download_model(hub, request, store, catalog, control, job_id)

        self._run: Runner = run
        self._store = store
        self._listener = listener
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._requests: dict[str, DownloadRequest] = {}
        self._latest: dict[str, DownloadProgress] = {}
        self._waiting: list[str] = []
        self._active: tuple[str, DownloadControl] | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, request: DownloadRequest) -> str:
        """Queue a download; returns its job id. A model already queued keeps its job; a paused
        or failed one is resumed."""
        with self._lock:
            for job_id, queued in self._requests.items():
                latest = self._latest.get(job_id)
                if queued.model != request.model:
                    continue
                if latest is None or not latest.state.finished:
                    return job_id
                if latest.state in (DownloadState.PAUSED, DownloadState.FAILED):
                    stopped = job_id
                    break
            else:
                stopped = ""
        if stopped:
            self.resume(stopped)
            return stopped
        with self._lock:
            job_id = f"download-{next(self._ids)}"
            self._requests[job_id] = request
        self._report(self._queued(job_id))
        self._start(job_id)
        return job_id

    def restore(self, request: DownloadRequest, done_bytes: int) -> str:
        """List a download left unfinished by an earlier run as paused, without starting it
        (nothing reaches the network until `resume`); returns its job id."""
        with self._lock:
            for job_id, queued in self._requests.items():
                if queued.model == request.model:
                    return job_id
            job_id = f"download-{next(self._ids)}"
            self._requests[job_id] = request
            model = request.model
            progress = DownloadProgress(job_id, model.repo_id, model.name, DownloadState.PAUSED,
                                        done_bytes=done_bytes, total_bytes=model.size,
                                        parts=len(model.parts), resumed_from=done_bytes,
                                        message="Paused; resume to continue where it stopped.")  # fmt: skip
        self._report(progress)
        return job_id

    def pause(self, job_id: str) -> None:
        """Stop a job, keeping what it downloaded; `resume` continues it."""
        with self._lock:
            if self._active and self._active[0] == job_id:
                self._active[1].pause()
                return
            if job_id not in self._waiting:
                return
            self._waiting.remove(job_id)
            progress = self._with_state(job_id, DownloadState.PAUSED)
        self._report(progress)

    def resume(self, job_id: str) -> None:
        """Queue a paused or failed job again, at the end of the queue."""
        with self._lock:
            latest = self._latest.get(job_id)
            if latest is None or latest.state not in (DownloadState.PAUSED, DownloadState.FAILED):
                return
            queued = self._with_state(job_id, DownloadState.QUEUED)
            self._latest[job_id] = queued  # a second resume now finds it queued
        self._report(queued)
        self._start(job_id)

    def cancel(self, job_id: str) -> None:
        """Stop a job and delete what it downloaded."""
        with self._lock:
            if self._active and self._active[0] == job_id:
                self._active[1].cancel()
                return
            latest = self._latest.get(job_id)
            if latest is None or latest.state in (DownloadState.DONE, DownloadState.CANCELLED):
                return
            if job_id in self._waiting:
                self._waiting.remove(job_id)
            progress = self._with_state(job_id, DownloadState.CANCELLED)
        self._store.discard(self._requests[job_id].model)
        self._report(progress)

    def jobs(self) -> list[DownloadProgress]:
        """The latest record of every job, in the order they were added."""
        with self._lock:
            return list(self._latest.values())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is running or waiting; False on timeout."""
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._waiting and self._active is None, timeout=timeout
            )

    def close(self, timeout: float = 10.0) -> None:
        """Pause the running job (its part is kept) and stop the thread."""
        with self._lock:
            self._closed = True
            if self._active:
                self._active[1].pause()
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- the queue's thread -------------------------------------------------------------------

    def _start(self, job_id: str) -> None:
        # Called after the job's QUEUED record has reached the listener, so that the thread's
        # records for it (which may be a failure at once) always come after it.
        with self._lock:
            if self._latest[job_id].state != DownloadState.QUEUED:
                return  # cancelled or paused in between
            self._waiting.append(job_id)
            self._ensure_thread()
            self._lock.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._closed = False
            self._thread = threading.Thread(target=self._work, name="hub-downloads", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._waiting or self._closed)
                if self._closed:
                    return
                job_id = self._waiting.pop(0)
                control = DownloadControl()
                self._active = (job_id, control)
            try:
                for progress in self._run(self._requests[job_id], control, job_id):
                    self._report(progress)
            finally:
                with self._lock:
                    self._active = None
                    self._lock.notify_all()

    def _report(self, progress: DownloadProgress) -> None:
        with self._lock:
            self._latest[progress.job_id] = progress
        try:
            self._listener(progress)
        except Exception:  # a listener's bug must not stop the downloads
            log.exception("Download listener failed")

    def _queued(self, job_id: str) -> DownloadProgress:
        with self._lock:
            model = self._requests[job_id].model
            return DownloadProgress(job_id, model.repo_id, model.name, DownloadState.QUEUED,
                                    total_bytes=model.size, parts=len(model.parts))  # fmt: skip

    def _with_state(self, job_id: str, state: DownloadState) -> DownloadProgress:
        latest = self._latest[job_id]
        return replace(latest, state=state, bytes_per_s=0.0, seconds_left=None, message="")
