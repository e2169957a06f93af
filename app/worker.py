"""The one way work leaves the GUI thread: a `SerialQueue` whose callbacks come back to the GUI.

    worker = SerialWorker("pages")
    worker.run(lambda task: render(...), on_done=viewer.show_page, on_error=viewer.show_error,
               latest="page")
    worker.shutdown()

Each worker owns one thread (or shares an existing queue, so non-Qt code can submit to the same
thread). `run` takes a plain function (see `app.jobs`); its events, result or error reach the
callbacks on the thread that created the worker, in order. After `shutdown` nothing more is
delivered, so a late result cannot reach a closed store or a deleted widget.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from app.jobs import SHUTDOWN_TIMEOUT_S, Job, SerialQueue, Work

R = TypeVar("R")


class SerialWorker(QObject):
    """Runs functions in order on its queue's thread; callbacks run on the GUI thread.

    Args:
        queue: A queue name (a new thread) or an existing `SerialQueue` to share.
    """

    # Carries a ready-to-run callback from the queue's thread to the GUI thread.
    _deliver = Signal(object)

    def __init__(self, queue: str | SerialQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = queue if isinstance(queue, SerialQueue) else SerialQueue(queue)
        self._closed = False
        self._deliver.connect(self._on_deliver)
        # Deleted with its parent before shutdown (a window torn down at once): stop delivering
        # rather than emit from a deleted object.
        gate = self._gate = _Gate()
        self.destroyed.connect(gate.close)

    def run(
        self,
        work: Work[R],
        *,
        on_event: Callable[[Any], None] | None = None,
        on_done: Callable[[R], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        latest: str | None = None,
    ) -> Job[R]:
        """Queue `work(task)`; the callbacks run later on the GUI thread (see `SerialQueue`)."""
        return self.queue.submit(
            work,
            on_event=self._to_gui(on_event),
            on_done=self._to_gui(on_done),
            on_error=self._to_gui(on_error),
            latest=latest,
        )

    def shutdown(
        self, timeout_s: float = SHUTDOWN_TIMEOUT_S, last: Callable[[], None] | None = None
    ) -> bool:
        """Stop delivering, cancel every job, run `last()` on the thread, and stop the thread."""
        self._closed = True
        self._gate.close()
        return self.queue.shutdown(timeout_s, last)

    def _to_gui(self, callback: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None
        gate, signal = self._gate, self._deliver

        def deliver(value: Any) -> None:
            if gate.open:
                signal.emit(functools.partial(callback, value))

        return deliver

    @Slot(object)
    def _on_deliver(self, call: Callable[[], None]) -> None:
        if not self._closed:
            call()


class _Gate:
    """Open until the worker shuts down or is deleted; read from the queue's thread."""

    def __init__(self) -> None:
        self.open = True

    def close(self, *_args: object) -> None:
        self.open = False
