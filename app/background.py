"""Run a short plain function off the GUI thread and get its result back on the GUI thread.

    run_in_background(lambda: catalog.entries(), on_done=show, on_error=complain)

The function never touches widgets; the callbacks run on the GUI thread. Jobs share one thread
(the worker pattern of app.worker) and run in the order they were asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.worker import SerialWorker

_worker: SerialWorker | None = None


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Call `fn()` on the background thread; `on_done(result)` or `on_error(exc)` follow on the
    GUI thread (call this from the GUI thread)."""
    global _worker
    if _worker is None:
        _worker = SerialWorker("background")
    _worker.run(lambda _task: fn(), on_done=on_done, on_error=on_error)


def wait_for_background(timeout_ms: int = 5000) -> bool:
    """Let running jobs end (at exit and in tests); their callbacks follow on the event loop."""
    return _worker is None or _worker.queue.wait_idle(timeout_ms / 1000)
