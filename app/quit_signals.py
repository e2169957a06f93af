"""SIGTERM and SIGHUP (a logout, a system shutdown, `kill`) close the window as Ctrl+Q does.

Python's default for SIGTERM ends the process at once: the reply being written, the draft in the
message box and the window's layout were lost. A Python signal handler only runs when the main
thread runs Python, which a Qt event loop waiting for input may not do for a long while; so the
signal also wakes the loop through a socket (`signal.set_wakeup_fd`, the documented way) that a
`QSocketNotifier` watches.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

log = logging.getLogger(__name__)

QUIT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class QuitSignals(QObject):
    """Calls `quit_now` on the GUI thread when the process gets a quit signal. Make it on the
    main thread (Python's rule for signal handlers), once."""

    def __init__(self, quit_now: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._quit_now = quit_now
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)  # Python runs; the handler follows
        self._previous = {number: signal.signal(number, self._on_signal) for number in QUIT_SIGNALS}

    def stop(self) -> None:
        """Give the signals back to what handled them before (at the end of the event loop)."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()

    def _drain(self, *_args: object) -> None:
        with contextlib.suppress(OSError):
            self._reader.recv(64)

    def _on_signal(self, number: int, _frame: object) -> None:
        log.info("Quitting on %s", signal.Signals(number).name)
        QTimer.singleShot(0, self._quit_now)  # out of the handler, into the event loop
