"""Samples memory once a second off the GUI thread and reports it to the gauges."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.jobs import Task
from app.worker import SerialWorker


class MemoryMonitor(QObject):
    """Emits `sampled(MemorySnapshot)` every `interval_ms` until `shutdown()`.

    `helper_pids` lists the app's helper processes (the library process), counted as the app's.
    A probe that fails leaves the gauge as it was (the failure is logged).
    """

    sampled = Signal(object)

    def __init__(
        self,
        interval_ms: int = 1000,
        helper_pids: Callable[[], list[int]] = list,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._helper_pids = helper_pids
        self._worker = SerialWorker("memory", self)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.sample)
        self._timer.start()
        self.sample()

    def sample(self) -> None:
        """Probe now (a sample still waiting is replaced by this one)."""

        def work(_task: Task):
            from engine.memory import probe_memory

            return probe_memory(self._helper_pids())

        self._worker.run(work, on_done=self.sampled.emit, latest="sample")

    def shutdown(self) -> None:
        self._timer.stop()
        self._worker.shutdown()
