"""Renders document pages for the viewer on a thread of its own; only the newest request counts."""

from __future__ import annotations

import itertools
import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)
from engine.errors import HearthError

log = logging.getLogger(__name__)


class _RenderWorker(QObject):
    rendered = Signal(dict)
    textOnly = Signal(str, str)
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.latest = 0
        self.lock = threading.Lock()

    @Slot(int, str, int, float, str)
    def render(self, ticket: int, path: str, page: int, zoom: float, passage: str) -> None:
        with self.lock:
            if ticket != self.latest:
                return  # a newer page was asked for while this one waited
        from engine.page_render import is_paged, render_page

        if not is_paged(path):
            self.textOnly.emit(path, passage)
            return
        try:
            result = render_page(path, page, zoom=zoom, passage=passage)
        except HearthError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("Rendering %s page %s failed", path, page)
            self.failed.emit(f"The page could not be shown: {exc}")
            return
        self.rendered.emit({
            "path": path,
            "page": result.page,
            "page_count": result.page_count,
            "png": result.png,
            "highlights": result.highlights,
        })  # fmt: skip


class PageRenderer(QObject):
    """Signals: rendered(dict), textOnly(path, passage), failed(message)."""

    rendered = Signal(dict)
    textOnly = Signal(str, str)
    failed = Signal(str)
    _renderRequested = Signal(int, str, int, float, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("pages")
        self._worker = _RenderWorker()
        self._worker.moveToThread(self.thread)
        self._renderRequested.connect(self._worker.render)
        self._worker.rendered.connect(self.rendered)
        self._worker.textOnly.connect(self.textOnly)
        self._worker.failed.connect(self.failed)
        self._tickets = itertools.count(1)
        self.thread.start()

    def request(self, path: str, page: int, zoom: float, passage: str) -> None:
        ticket = next(self._tickets)
        with self._worker.lock:
            self._worker.latest = ticket
        self._renderRequested.emit(ticket, path, page, zoom, passage)

    def shutdown(self) -> None:
        self.thread.quit()
        self.thread.wait(5000)
