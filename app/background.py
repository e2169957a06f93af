"""Run a short plain function off the GUI thread and get its result back on the GUI thread.

    run_in_background(lambda: catalog.entries(), on_done=show, on_error=complain)

The function never touches widgets; the callbacks run on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)

log = logging.getLogger(__name__)

_running: set[_Delivery] = set()


class _Delivery(QObject):
    """Created on the GUI thread, so its slots (and the callbacks) run there."""

    finished = Signal(bool, object)

    def __init__(
        self, on_done: Callable[[Any], None], on_error: Callable[[Exception], None] | None
    ):
        super().__init__()
        self._on_done = on_done
        self._on_error = on_error
        self.finished.connect(self._deliver)

    @Slot(bool, object)
    def _deliver(self, ok: bool, value: object) -> None:
        _running.discard(self)
        try:
            if ok:
                self._on_done(value)
            elif self._on_error is not None:
                self._on_error(value)  # type: ignore[arg-type]
        finally:
            self.deleteLater()


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], delivery: _Delivery) -> None:
        super().__init__()
        self._fn = fn
        self._delivery = delivery

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # handed to on_error on the GUI thread
            log.info("Background job failed: %s", exc, exc_info=True)
            self._delivery.finished.emit(False, exc)
            return
        self._delivery.finished.emit(True, result)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    delivery = _Delivery(on_done, on_error)
    _running.add(delivery)
    QThreadPool.globalInstance().start(_Job(fn, delivery))


def wait_for_background(timeout_ms: int = 5000) -> bool:
    """Let running jobs end (at exit and in tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
