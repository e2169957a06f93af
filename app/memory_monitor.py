"""Samples memory once a second on a small thread of its own and reports it to the gauges."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)

log = logging.getLogger(__name__)


class _Sampler(QObject):
    sampled = Signal(dict)

    def __init__(self, interval_ms: int, helper_pids: Callable[[], list[int]]) -> None:
        super().__init__()
        self._interval_ms = interval_ms
        self._helper_pids = helper_pids
        self._timer: QTimer | None = None

    @Slot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.setInterval(self._interval_ms)
        self._timer.timeout.connect(self.sample)
        self._timer.start()
        self.sample()

    @Slot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    @Slot()
    def sample(self) -> None:
        try:
            from engine.memory import probe_memory

            self.sampled.emit(probe_memory(self._helper_pids()).to_dict())
        except Exception:  # a failed probe only leaves the gauge as it was
            log.exception("Memory probe failed")


class MemoryMonitor(QObject):
    """Emits `sampled(snapshot_dict)` every `interval_ms` until `shutdown()`.

    `helper_pids` lists the app's helper processes (the library process), counted as the app's.
    """

    sampled = Signal(dict)

    def __init__(
        self,
        interval_ms: int = 1000,
        helper_pids: Callable[[], list[int]] = list,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("memory")
        self._sampler = _Sampler(interval_ms, helper_pids)
        self._sampler.moveToThread(self.thread)
        self._sampler.sampled.connect(self.sampled)
        self.thread.started.connect(self._sampler.start)
        self.thread.start()

    def shutdown(self) -> None:
        if self.thread.isRunning():
            # Stop the timer on its own thread, and wait for that, before the thread ends.
            QMetaObject.invokeMethod(
                self._sampler, "stop", Qt.ConnectionType.BlockingQueuedConnection
            )
        self.thread.quit()
        self.thread.wait(3000)
