"""The built-in document viewer: a page with the cited passage highlighted, page and zoom controls,
and a way out to the system's own viewer. Formats without rendered pages (slides, sheets, text)
show the cited passage and where it is ("slide 4", "sheet Inventory, rows 1-28"), with no page
controls to turn.

It only asks for pages (`pageRequested`); rendering happens off the GUI thread elsewhere.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_name
from engine.library.formats import PPTX_SUFFIXES, is_paged
from ui.accessibility import ring_on_focus
from ui.page_view import PageView

if TYPE_CHECKING:
    from engine.page_render import RenderedPage

_ZOOMS = (0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)


class PageViewer(QDialog):
    """Signals: pageRequested(path, page, zoom, passage)."""

    pageRequested = Signal(str, int, float, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Source")
        self.resize(820, 900)
        self.path = ""
        self.page = 1
        self.page_count = 0
        self.passage = ""
        self.where = ""  # where the passage is, for a file shown as text ("slide 4")
        self.paged = True
        self.zoom = 1.5

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a file name, never markup
        self.title.setObjectName("GaugeValue")
        self.page_label = QLabel()
        self.page_label.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.page_label.setObjectName("Muted")
        self.prev_button = self._tool(
            "‹", "Previous page (Page Up)", lambda: self.go(self.page - 1)
        )
        self.next_button = self._tool("›", "Next page (Page Down)", lambda: self.go(self.page + 1))
        self.zoom_out = self._tool("−", "Zoom out (Ctrl+-)", lambda: self._zoom(-1))
        self.zoom_in = self._tool("+", "Zoom in (Ctrl++)", lambda: self._zoom(1))
        for button, name in ((self.prev_button, "Previous page"), (self.next_button, "Next page"),
                             (self.zoom_out, "Zoom out"), (self.zoom_in, "Zoom in")):  # fmt: skip
            button.setAccessibleName(name)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.system_button = QPushButton("Open in system viewer")
        self.system_button.clicked.connect(self.open_in_system)
        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addWidget(self.page_label)
        bar.addStretch(1)
        for tool in (self.prev_button, self.next_button, self.zoom_out, self.zoom_in):
            bar.addWidget(tool)
        bar.addSpacing(8)
        bar.addWidget(self.system_button)

        self.page_view = PageView()
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidget(self.page_view)
        self.page_scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.page_scroll.setStyleSheet("QScrollArea { background: #8a8a8a; }")
        ring_on_focus(self.page_scroll)
        self.text_view = QTextBrowser()
        self.text_view.setAccessibleName("Cited passage")
        self.page_scroll.setAccessibleName("Page")
        self.page_view.setAccessibleName("Page image")
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedWidget()
        for widget in (self.page_scroll, self.text_view, self.message):
            self.stack.addWidget(widget)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, lambda: self.go(self.page - 1))
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, lambda: self.go(self.page + 1))
        QShortcut(QKeySequence(QKeySequence.StandardKey.ZoomIn), self, lambda: self._zoom(1))
        QShortcut(QKeySequence(QKeySequence.StandardKey.ZoomOut), self, lambda: self._zoom(-1))

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setMinimumWidth(28)
        button.clicked.connect(slot)
        return button

    # Requests

    def open_source(self, path: str, page: int, passage: str = "", where: str = "") -> None:
        """Show `page` of `path` with `passage` highlighted (the page arrives asynchronously).

        Args:
            where: The place a citation names (`place_label`): "slide 4", "sheet Inventory,
                rows 1-28"; shown for a file without rendered pages, where a page number
                means nothing. Slides are named from `page` when it is not given.
        """
        self.path, self.page, self.passage = str(path), max(1, int(page or 1)), passage
        self.page_count = 0
        self.paged = is_paged(self.path)
        self.where = where or _slide(self.path, page)
        self._show_page_tools(self.paged)
        # Fit a typical page (A4 or Letter, ~600 points wide) to the viewer's width.
        width = self.page_scroll.viewport().width() if self.isVisible() else self.width() - 60
        self.zoom = max(_ZOOMS[0], min(_ZOOMS[-1], (width - 24) / 600))
        self.title.setText(display_name(path))
        self.setWindowTitle(self._window_title())
        self._show_message("Opening page…" if self.paged else "Opening passage…")
        self._request()
        self.show()
        self.raise_()
        self.activateWindow()

    def go(self, page: int) -> None:
        if not self.paged or not self.path or page < 1:
            return
        if self.page_count and not 1 <= page <= self.page_count:
            return
        self.page = page
        self._request()

    def _zoom(self, step: int) -> None:
        if not self.paged:
            return
        if step > 0:
            self.zoom = next((z for z in _ZOOMS if z > self.zoom + 0.01), _ZOOMS[-1])
        else:
            self.zoom = next((z for z in reversed(_ZOOMS) if z < self.zoom - 0.01), _ZOOMS[0])
        self._request()

    def _request(self) -> None:
        if self.paged:
            self.page_label.setText(
                f"page {self.page}" + (f" of {self.page_count}" if self.page_count else "")
            )
        else:
            self.page_label.setText(self.where)
        self.pageRequested.emit(self.path, self.page, self.zoom, self.passage)

    def open_in_system(self) -> None:
        if self.path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.path))

    # Results

    def show_page(self, path: str, rendered: RenderedPage) -> None:
        """Page `rendered.page` of `path`, rendered, with the passage's rectangles."""
        if path != self.path or rendered.page != self.page:
            return  # an older request arriving late
        self.page_count = rendered.page_count
        self.page_view.set_page(rendered.png, rendered.highlights)
        self.stack.setCurrentWidget(self.page_scroll)
        self.page_label.setText(f"page {self.page} of {self.page_count}")
        self.setWindowTitle(self._window_title())
        self.prev_button.setEnabled(self.page > 1)
        self.next_button.setEnabled(self.page < self.page_count)
        highlights = rendered.highlights
        self.page_view.setAccessibleDescription(
            f"Page {self.page} of {self.page_count}"
            + (f", with the cited passage highlighted: {self.passage}" if highlights else "")
        )
        if highlights:
            x, y, _w, _h = highlights[0]
            self.page_scroll.ensureVisible(int(x), int(y), 50, self.page_scroll.height() // 3)
        else:
            self.page_scroll.verticalScrollBar().setValue(0)

    def show_text(self, text: str) -> None:
        """For files without rendered pages (text, Markdown, HTML, DOCX, slides, sheets): the
        cited passage itself, and where it is."""
        self.page_count = 0
        self._show_page_tools(False)
        self.page_label.setText(self.where)
        self.text_view.setAccessibleDescription(
            f"Cited passage, {self.where}" if self.where else "Cited passage"
        )
        body = html.escape(text).replace("\n", "<br>")
        self.text_view.setHtml(
            f"<p style='color:gray'>Cited passage</p><p style='background:#fff3b0;"
            f"color:#1f2328;padding:6px'>{body}</p>"
        )
        self.stack.setCurrentWidget(self.text_view)

    def _show_page_tools(self, shown: bool) -> None:
        """A passage shown as text has no pages to turn and no zoom: no buttons that do nothing."""
        for tool in (self.prev_button, self.next_button, self.zoom_out, self.zoom_in):
            tool.setVisible(shown)

    def _window_title(self) -> str:
        """ "report.pdf – page 4", "deck.pptx – slide 4", or the name alone."""
        where = f"page {self.page}" if self.paged else self.where
        return f"{display_name(self.path)} – {where}" if where else display_name(self.path)

    def show_error(self, message: str) -> None:
        self._show_message(message)

    def _show_message(self, message: str) -> None:
        self.message.setText(message)
        self.stack.setCurrentWidget(self.message)


def _slide(path: str, page: int | None) -> str:
    """ "slide 4" for a presentation's page 4 (a slide is cited by its number); "" otherwise."""
    return f"slide {page}" if page and Path(path).suffix.lower() in PPTX_SUFFIXES else ""
