"""Logging to the user's log file, and a crash handler that shows a dialog instead of vanishing."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)
from app.log_file import setup_logging  # noqa: F401  (the window sets up its log from here)

log = logging.getLogger("hearth")


class CrashReporter(QObject):
    """Installed on sys.excepthook and threading.excepthook; shows each crash once, on the GUI
    thread, with the log file's path."""

    crashed = Signal(str, str)

    def __init__(self, log_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_file = Path(log_file)
        self.count = 0
        self._showing = False
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        self.crashed.connect(self._show)

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(
            args.exc_type, args.exc_value, args.exc_traceback
        )

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook
        threading.excepthook = self._previous_thread_hook

    def handle(self, exc_type, exc_value, exc_traceback) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous_hook(exc_type, exc_value, exc_traceback)
            return
        details = "".join(traceback.format_exception(exc_type, exc_value, exc_traceback))
        log.critical("Unexpected error:\n%s", details)
        self.count += 1
        # Emitting is safe from any thread; the dialog opens on the GUI thread.
        self.crashed.emit(f"{exc_type.__name__}: {exc_value}", details)

    @Slot(str, str)
    def _show(self, summary: str, details: str) -> None:
        if self._showing:
            return  # one dialog at a time; the rest are in the log
        from ui.crash_dialog import crash_box

        self._showing = True
        box = crash_box(summary, details, str(self.log_file))
        box.finished.connect(lambda _result: setattr(self, "_showing", False))
        box.open()
        self.dialog = box
