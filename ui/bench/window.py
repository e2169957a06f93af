"""The Benchmark window: set up a comparison of models and variants, follow it, read the results.

A view like the main window: it turns input into signals and shows what it is given;
app.bench_controller runs the jobs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.accessibility import Announcer
from ui.bench.progress_panel import ProgressPanel
from ui.bench.records import PROGRESS, RESULTS, SETUP, BenchView
from ui.bench.results_panel import ResultsPanel
from ui.bench.setup_panel import SetupPanel
from ui.notice_bar import NoticeBar

__all__ = ["PROGRESS", "RESULTS", "SETUP", "BenchWindow"]


class BenchWindow(QWidget):
    """Signals: stopRequested(), closing() (the window closes: a running job must stop).

    The pages' own signals (setup.runRequested, results.openRequested...) are the requests.
    """

    stopRequested = Signal()
    closing = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Benchmark")
        self.resize(1180, 780)
        self.setMinimumSize(820, 560)
        self.setup = SetupPanel()
        self.progress = ProgressPanel()
        self.results = ResultsPanel()
        self.pages = QTabWidget()
        self.pages.setAccessibleName("Benchmark pages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.setup, "Set up")
        self.pages.addTab(self.progress, "Progress")
        self.pages.addTab(self.results, "Results")
        self.notice = NoticeBar()
        self.announcer = Announcer(self)
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleDescription(
            "Close the Benchmark window (Esc, Ctrl+W); a run going is stopped only if you say so"
        )
        self.close_button.setToolTip(self.close_button.accessibleDescription())
        self.close_button.clicked.connect(self.request_close)
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.notice)
        layout.addLayout(footer)
        self.busy = False
        self.progress.stopRequested.connect(self.stopRequested)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self._on_escape)
        QShortcut(QKeySequence("Ctrl+W"), self, self.request_close)

    def job_started(self, title: str) -> None:
        """A quantization or a benchmark began: show its progress; nothing else starts."""
        self.busy = True
        self.setup.set_busy(True)
        self.progress.start(title)
        self.pages.setCurrentIndex(PROGRESS)
        self.notice.dismiss()

    def job_ended(
        self, text: str, page: int | None = None, completed: bool = False, failed: bool = False
    ) -> None:
        """It ended (done, stopped or failed): `text` says how; go to `page` if given.
        `completed`: the step running when it ended was finished, not cut short."""
        self.busy = False
        self.setup.set_busy(False)
        self.progress.finish(text, completed, failed)
        self.announcer.announce(self, text)
        if page is not None:
            self.pages.setCurrentIndex(page)

    def show_results(self, view: BenchView) -> None:
        """Show `view` on the Results page; a banner about an earlier file or job has gone stale."""
        self.results.show_view(view)
        self.pages.setCurrentIndex(RESULTS)
        self.notice.dismiss()

    def show_error(self, text: str) -> None:
        """One line in plain words; nothing the person set up is lost."""
        self.notice.show_message(text, "error")

    def request_close(self) -> None:
        """Close, as the Close button, Esc and Ctrl+W do. Closing stops a run going (see
        `closeEvent`), so while one goes the person is asked first: a stray key stops nothing."""
        if self.busy and not self._confirm_stop():
            return
        self.close()

    def _confirm_stop(self) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Stop and close?",
                          "Something is running. Closing the window stops it; what is finished "
                          "is kept.", parent=self)  # fmt: skip
        stop = box.addButton("Stop and close", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is stop

    def _on_escape(self) -> None:
        # A banner showing goes first; the next Esc closes.
        if self.notice.isVisible():
            self.notice.dismiss()
        else:
            self.request_close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.closing.emit()
        # What a banner said was about this visit: reopened, the window starts clean.
        self.notice.dismiss()
        super().closeEvent(event)
