"""Renders document pages for the viewer on a thread of its own; only the newest request counts.

The app hands it the library process's renderer, so PyMuPDF never runs in the window's process;
without one it renders in this process (tests, tools).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.jobs import Task
from app.library.protocol import RenderPage
from app.worker import SerialWorker
from engine.errors import describe

if TYPE_CHECKING:
    from engine.page_render import RenderedPage

log = logging.getLogger(__name__)

# A render request -> the page (app.library.client.LibraryClient.call in the app).
PageRender = Callable[[RenderPage], "RenderedPage"]


def _render_in_process(request: RenderPage) -> RenderedPage:
    from engine.page_render import render_page

    return render_page(Path(request.path), request.page, request.zoom, request.passage)


class PageRenderer(QObject):
    """Signals: rendered(path, RenderedPage), textOnly(path, passage), failed(message)."""

    rendered = Signal(str, object)
    textOnly = Signal(str, str)
    failed = Signal(str)

    def __init__(self, render: PageRender | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._render = render or _render_in_process
        self._worker = SerialWorker("pages", self)

    def request(self, path: str, page: int, zoom: float, passage: str) -> None:
        """Render `page` of `path`; a newer request replaces this one if it has not started."""
        request = RenderPage(str(path), int(page), float(zoom), passage)

        def work(_task: Task) -> RenderedPage | None:
            from engine.library.formats import is_paged

            if not is_paged(Path(request.path)):
                return None  # shown as text: the passage itself
            return self._render(request)

        def done(page: RenderedPage | None) -> None:
            if page is None:
                self.textOnly.emit(request.path, request.passage)
            else:
                self.rendered.emit(request.path, page)

        self._worker.run(work, on_done=done, on_error=self._on_error, latest="page")

    def shutdown(self) -> None:
        self._worker.shutdown()

    def _on_error(self, exc: Exception) -> None:
        self.failed.emit(describe(exc, "The page could not be shown"))
