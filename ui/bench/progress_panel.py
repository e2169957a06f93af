"""The Benchmark window's progress page: the step running, how far along, time left, and Stop."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.display import duration_text
from ui.elided_label import ElidedLabel
from ui.format import seconds

if TYPE_CHECKING:
    from engine.lab.events import LabNotice, LabProgress

BAR_STEPS = 1000
TICK_MS = 1000  # the elapsed time shown moves on this often while a step runs


class ProgressPanel(QWidget):
    """Signals: stopRequested()."""

    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Nothing running")
        self.title.setObjectName("EmptyTitle")
        self.step = ElidedLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setAccessibleName("Progress")
        self.bar.setMinimumHeight(20)
        self.time = QLabel("")
        self.time.setObjectName("Muted")
        self.log = QListWidget()
        self.log.setAccessibleName("Steps and notices")
        self.log.setAccessibleDescription("What the run has done so far, and anything to know")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("Danger")
        self.stop_button.setAccessibleDescription("Stop now; what is finished is kept")
        self.stop_button.setToolTip(self.stop_button.accessibleDescription())
        self.stop_button.setEnabled(False)
        self.stop_button.setVisible(False)  # only while something runs
        self.stop_button.clicked.connect(self._on_stop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.step)
        layout.addWidget(self.bar)
        row = QHBoxLayout()
        row.addWidget(self.time, 1)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        layout.addWidget(QLabel("Steps"))
        layout.addWidget(self.log, 1)
        self._last_label = ""
        self._current: int | None = None  # the log row of the step running
        self.last: LabProgress | None = None  # the latest progress shown
        self._job = ""
        self._started = 0.0  # time.monotonic() when the job began
        self._last_at = 0.0  # ... and when `last` arrived
        # Progress comes when a step ends; between steps the clock still moves.
        self.ticker = QTimer(self, interval=TICK_MS)
        self.ticker.timeout.connect(self._show_time)

    def start(self, title: str) -> None:
        """A job begins: clear what the last one showed."""
        self._job = title
        self.title.setText(title)
        self.step.setText("Starting…")
        self.bar.setValue(0)
        self.time.setText("")
        self.log.clear()
        self._last_label = ""
        self._current = None
        self.last = None
        self.stop_button.setEnabled(True)
        self.stop_button.setText("Stop")
        self.stop_button.setVisible(True)
        self._started = self._last_at = time.monotonic()
        self.ticker.start()

    def show_progress(self, progress: LabProgress) -> None:
        self.last = progress
        self._last_at = time.monotonic()
        self.bar.setValue(round(progress.fraction * BAR_STEPS))
        self.step.setText(f"Step {progress.step} of {progress.total_steps}: {progress.label}")
        self._show_time()
        if progress.label != self._last_label and progress.label != "done":
            self._last_label = progress.label
            self._tick_current()
            self._current = self.log.count()
            self.log.addItem(f"▸  {progress.step}/{progress.total_steps}   {progress.label}")
            self.log.scrollToBottom()

    def _show_time(self) -> None:
        """Elapsed time now, and the time left counted down from the latest estimate."""
        now = time.monotonic()
        progress = self.last
        if progress is None:
            self.time.setText(f"{seconds(now - self._started)} elapsed")
            return
        since = now - self._last_at
        parts = [f"{seconds(progress.elapsed_s + since)} elapsed"]
        if progress.eta_s is not None and progress.fraction < 1:
            parts.append(f"about {duration_text(max(0.0, progress.eta_s - since))} left")
        self.time.setText(" · ".join(parts))

    def _tick_current(self) -> None:
        """The step shown as running is done: mark it so."""
        item = self.log.item(self._current) if self._current is not None else None
        if item is not None and item.text().startswith("▸"):
            item.setText("✓" + item.text()[1:])
        self._current = None

    def show_notice(self, notice: LabNotice) -> None:
        mark = "⚠ " if notice.level == "warning" else "ℹ "
        self.log.addItem(mark + notice.message)
        self.log.scrollToBottom()

    def finish(self, text: str, completed: bool = False, failed: bool = False) -> None:
        """The job ended (done, stopped or failed): say how, in one line; nothing looks running."""
        self.ticker.stop()
        if completed:
            self._tick_current()
            self.bar.setValue(BAR_STEPS)
        outcome = "failed" if failed else "done" if completed else "stopped"
        self.title.setText(f"{self._job}: {outcome}" if self._job else outcome.capitalize())
        self.step.setText(text)
        self.time.setText(f"Ended after {seconds(time.monotonic() - self._started)}.")
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stop")
        self.stop_button.setVisible(False)
        self.log.addItem(text)
        self.log.scrollToBottom()

    def _on_stop(self) -> None:
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.stopRequested.emit()
