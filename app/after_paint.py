"""Run start-up work once the window has painted what came before it.

Every Qt virtual call on a widget made in Python (paint, size hints, events) takes the GIL, and a
paint or a layout makes hundreds of them. When a worker thread runs Python at the same moment
(imports, a model header being read), each of those calls waits for the worker to hand the GIL
over, and a paint of a few milliseconds stalls the window for 40-75 ms (bench/ui.py
--startup-only). So start-up puts such work after the paint instead of beside it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

# How long to wait for a paint before going on without it (a window that starts minimized, or
# a change that needed no repaint).
FALLBACK_MS = 300

_PAINTING = (QEvent.Type.Paint, QEvent.Type.UpdateRequest)


class _NextPaint(QObject):
    def __init__(self, window: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._callback: Callable[[], None] | None = callback

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in _PAINTING:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self.call)  # once the paint is done, not inside it
        return False

    def call(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            self._window.removeEventFilter(self)
            self.deleteLater()
            callback()


def after_next_paint(window: QWidget, callback: Callable[[], None],
                     fallback_ms: int = FALLBACK_MS) -> None:  # fmt: skip
    """Call `callback()` once on the GUI thread, just after `window`'s next paint, or after
    `fallback_ms` when none comes. A window not on screen paints nothing: the callback runs
    at once. Call this on the GUI thread."""
    if not window.isVisible():
        callback()
        return
    watcher = _NextPaint(window, callback)
    window.installEventFilter(watcher)
    QTimer.singleShot(fallback_ms, watcher.call)
