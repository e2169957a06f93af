"""The download list of the "Get models" view: one row per download with its progress, speed and
time left, Pause/Resume and Cancel, and "Load it" once the model is in the catalog.

Rows are keyed by the download queue's job id and redrawn from each `DownloadProgress` record.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_path, display_text
from engine.hub.progress import DownloadProgress, DownloadState
from ui.elided_label import ElidedLabel
from ui.format import plain_tip, size

ERROR_STYLE = "color: #b42318;"
_RUNNING = (DownloadState.QUEUED, DownloadState.CHECKING, DownloadState.DOWNLOADING,
            DownloadState.VERIFYING)  # fmt: skip


def time_left(seconds: float) -> str:
    """34 -> '34 s', 130 -> '2 min 10 s', 4000 -> '1 h 06 min'."""
    whole = max(0, int(seconds + 0.5))
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole} s"


def progress_words(progress: DownloadProgress) -> str:
    """Where a download stands, in one line."""
    state = progress.state
    amount = f"{size(progress.done_bytes)} of {size(progress.total_bytes)}"
    part = f" · part {progress.part} of {progress.parts}" if progress.parts > 1 else ""
    if state == DownloadState.QUEUED:
        return f"Waiting for the download before it · {size(progress.total_bytes)}"
    if state == DownloadState.CHECKING:
        return "Checking free disk space and earlier partial downloads…"
    if state == DownloadState.DOWNLOADING:
        words = [amount + part]
        if progress.bytes_per_s > 0:
            words.append(f"{size(progress.bytes_per_s)}/s")
        if progress.seconds_left is not None:
            words.append(f"{time_left(progress.seconds_left)} left")
        return " · ".join(words)
    if state == DownloadState.VERIFYING:
        return f"Checking the SHA-256 checksum{part}…"
    if state == DownloadState.PAUSED:
        return f"Paused at {amount}; Resume continues where it stopped"
    if state == DownloadState.DONE:
        return "Done: it is in your models"
    if state == DownloadState.CANCELLED:
        return "Cancelled; the partial file was deleted"
    return f"Failed at {amount}{part}"


def failure_words(progress: DownloadProgress) -> str:
    """Why a download failed and what to do, whole (the row wraps it); "" unless it failed."""
    if progress.state != DownloadState.FAILED:
        return ""
    return display_text(progress.message) or "The download stopped for a reason not known."


class DownloadRow(QFrame):
    """One download. Signals carry its job id (or, for Load it, the model file)."""

    pauseRequested = Signal(str)
    resumeRequested = Signal(str)
    cancelRequested = Signal(str)
    loadRequested = Signal(str)

    def __init__(self, progress: DownloadProgress, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DownloadRow")
        self.job_id = progress.job_id
        self.progress = progress
        name = display_text(progress.name.rsplit("/", 1)[-1])
        # Long names end in "…" with the whole name in the tooltip, and leave room for the rest.
        self.title = ElidedLabel(name)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.source = ElidedLabel(display_text(progress.repo_id))
        self.source.setObjectName("Muted")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setAccessibleName(f"Progress of {name}")
        self.detail = ElidedLabel()
        self.detail.setObjectName("Muted")
        # Why it failed, whole and wrapped: a reason cut off mid-sentence helps no one.
        self.reason = QLabel()
        self.reason.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet(ERROR_STYLE)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason.setAccessibleName(f"Why {name} failed")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setAccessibleName(f"Pause {name}")
        self.pause_button.setAccessibleDescription("Stop for now, keeping what was downloaded")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName(f"Cancel {name}")
        self.cancel_button.setAccessibleDescription("Stop and delete what was downloaded")
        self.load_button = QPushButton("Load it")
        self.load_button.setObjectName("Primary")
        self.load_button.setAccessibleName(f"Load {name}")
        self.load_button.setAccessibleDescription("Load the downloaded model to chat with it")
        heading = QHBoxLayout()
        heading.setSpacing(8)
        # The name as wide as it needs (up to most of the row), the repository right after it.
        self.title.setMaximumWidth(self.title.fontMetrics().horizontalAdvance(name) + 8)
        heading.addWidget(self.title, 3)
        heading.addWidget(self.source, 2)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        for button in (self.pause_button, self.cancel_button, self.load_button):
            buttons.addWidget(button)
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        grid.addLayout(heading, 0, 0)
        grid.addWidget(self.bar, 1, 0)
        grid.addWidget(self.detail, 2, 0)
        grid.addWidget(self.reason, 3, 0)
        grid.addLayout(buttons, 0, 1, 4, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.setColumnStretch(0, 1)
        self.pause_button.clicked.connect(self._on_pause)
        self.cancel_button.clicked.connect(lambda: self.cancelRequested.emit(self.job_id))
        self.load_button.clicked.connect(lambda: self.loadRequested.emit(self.progress.path))
        self.show_progress(progress)

    def show_progress(self, progress: DownloadProgress) -> None:
        """Redraw from the job's latest record."""
        self.progress = progress
        state = progress.state
        # A cancelled download's part is deleted: its bar is emptied, not left where it stopped.
        cleared = state == DownloadState.CANCELLED
        self.bar.setValue(0 if cleared else int(progress.fraction * 1000))
        self.bar.setEnabled(state in _RUNNING)
        self.detail.setText(progress_words(progress))
        reason = failure_words(progress)
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason))
        if state == DownloadState.DONE and progress.path:
            self.detail.setToolTip(plain_tip(display_path(progress.path)))
        self.pause_button.setText({DownloadState.PAUSED: "Resume",
                                   DownloadState.FAILED: "Retry"}.get(state, "Pause"))  # fmt: skip
        self.pause_button.setAccessibleDescription(
            "Try the download again"
            if state == DownloadState.FAILED
            else "Continue where it stopped" if state == DownloadState.PAUSED
            else "Stop for now, keeping what was downloaded"
        )  # fmt: skip
        name = display_text(progress.name.rsplit("/", 1)[-1])
        self.pause_button.setAccessibleName(f"{self.pause_button.text()} {name}")
        self.pause_button.setVisible(state not in (DownloadState.DONE, DownloadState.CANCELLED))
        self.pause_button.setEnabled(state != DownloadState.VERIFYING)
        self.cancel_button.setVisible(state not in (DownloadState.DONE, DownloadState.CANCELLED))
        self.load_button.setVisible(state == DownloadState.DONE and bool(progress.path))

    @property
    def finished(self) -> bool:
        return self.progress.state in (DownloadState.DONE, DownloadState.CANCELLED)

    def _on_pause(self) -> None:
        if self.progress.state in (DownloadState.PAUSED, DownloadState.FAILED):
            self.resumeRequested.emit(self.job_id)
        else:
            self.pauseRequested.emit(self.job_id)


class DownloadList(QWidget):
    """Every download of this run (and those left unfinished by an earlier one), newest last."""

    pauseRequested = Signal(str)
    resumeRequested = Signal(str)
    cancelRequested = Signal(str)
    loadRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, DownloadRow] = {}
        self.heading = QLabel("Downloads")
        self.heading.setObjectName("SectionTitle")
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setObjectName("Flat")
        self.clear_button.setAccessibleDescription(
            "Take finished and cancelled downloads off the list"
        )
        self.clear_button.clicked.connect(self.clear_finished)
        self.empty = QLabel("Nothing is downloading. Choose a file above and press Download.")
        self.empty.setObjectName("Muted")
        self._column = QVBoxLayout()
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(6)
        self._column.addWidget(self.empty)
        self._column.addStretch(1)
        inner = QWidget()
        inner.setObjectName("DownloadRows")
        inner.setLayout(self._column)
        self.scroller = QScrollArea()
        self.scroller.setWidget(inner)
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.scroller, 1)
        self._update()

    def show_progress(self, progress: DownloadProgress) -> None:
        """Add or redraw the row of `progress.job_id`."""
        row = self.rows.get(progress.job_id)
        if row is None:
            row = DownloadRow(progress)
            row.pauseRequested.connect(self.pauseRequested)
            row.resumeRequested.connect(self.resumeRequested)
            row.cancelRequested.connect(self.cancelRequested)
            row.loadRequested.connect(self.loadRequested)
            self.rows[progress.job_id] = row
            self._column.insertWidget(self._column.count() - 1, row)
        else:
            row.show_progress(progress)
        self._update()

    def clear_finished(self) -> None:
        for job_id, row in list(self.rows.items()):
            if row.finished:
                del self.rows[job_id]
                row.deleteLater()
        self._update()

    def _update(self) -> None:
        self.empty.setVisible(not self.rows)
        self.clear_button.setEnabled(any(row.finished for row in self.rows.values()))
