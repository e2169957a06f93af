"""Renders document pages for the viewer on a thread of its own; only the newest request counts.

The app hands it the library process's renderer, so PyMuPDF never runs in the window's process;
without one it renders in this process (tests, tools).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

import app.qt_compat  # noqa: F401  (see there: keeps long sessions from crashing)
from engine.errors import HearthError

log = logging.getLogger(__name__)


# (path, page, zoom, passage) -> engine.page_render.RenderedPage.to_dict()
PageRender = Callable[[str, int, float, str], dict]


def _render_in_process(path: str, page: int, zoom: float, passage: str) -> dict:
    from engine.page_render import render_page

    return render_page(Path(path), page, zoom=zoom, passage=passage).to_dict()


class _RenderWorker(QObject):
    rendered = Signal(dict)
    textOnly = Signal(str, str)
    failed = Signal(str)

    def __init__(self, render: PageRender) -> None:
        super().__init__()
        self.latest = 0
        self.lock = threading.Lock()
        self._render = render

    @Slot(int, str, int, float, str)
    def render(self, ticket: int, path: str, page: int, zoom: float, passage: str) -> None:
        with self.lock:
            if ticket != self.latest:
                return  # a newer page was asked for while this one waited
        from engine.page_render import is_paged

        if not is_paged(Path(path)):
            self.textOnly.emit(path, passage)
            return
        try:
            result = self._render(path, page, zoom, passage)
        except HearthError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("Rendering %s page %s failed", path, page)
            self.failed.emit(f"The page could not be shown: {exc}")
            return
        self.rendered.emit(dict(result, path=path))


class PageRenderer(QObject):
    """Signals: rendered(dict), textOnly(path, passage), failed(message)."""

    rendered = Signal(dict)
    textOnly = Signal(str, str)
    failed = Signal(str)
    _renderRequested = Signal(int, str, int, float, str)

    def __init__(self, render: PageRender | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("pages")
        self._worker = _RenderWorker(render or _render_in_process)
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
