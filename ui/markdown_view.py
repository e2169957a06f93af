"""A read-only Markdown text that grows to fit its content, with code blocks shaded and highlighted.

Citation numbers such as [2] become links (source:2) when the message has sources.
"""

from __future__ import annotations

import contextlib
import re

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QGuiApplication, QTextCursor, QTextDocument
from PySide6.QtWidgets import QFrame, QMenu, QSizePolicy, QTextBrowser

from ui.accessibility import ring_on_focus
from ui.code_highlighter import CodeHighlighter, is_code_block
from ui.theme import is_dark

# [1] or [1, 3] not already part of a Markdown link.
_CITATION = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\](?!\()")
_FENCE = re.compile(r"^\s*(```|~~~)")
# GitHub's Markdown without raw HTML: a model's "<<Title>>" or "<b>" is text it wrote, shown as
# written, never markup that swallows the rest of the reply (or loads what a tag points at).
_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)


def link_citations(markdown: str, source_count: int) -> str:
    """Turn [n] citations (n within the source list) into source:n links, outside code blocks."""
    if source_count <= 0:
        return markdown

    def replace(match: re.Match) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(1 <= n <= source_count for n in numbers):
            return match.group(0)
        return "".join(f"[\\[{n}\\]](source:{n})" for n in numbers)

    lines, in_code = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
        lines.append(line if in_code else _CITATION.sub(replace, line))
    return "\n".join(lines)


class MarkdownView(QTextBrowser):
    """Markdown shown at its full height (the surrounding chat scrolls, not this)."""

    sourceClicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        ring_on_focus(self)  # it takes the focus to select text and follow [n] links
        self.document().setDocumentMargin(2)
        self._markdown = ""
        self._source_count = 0
        self._highlighter = CodeHighlighter(self.document())
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_anchor)

    def markdown(self) -> str:
        return self._markdown

    def set_markdown(self, text: str, source_count: int = 0) -> None:
        if text == self._markdown and source_count == self._source_count:
            return
        self._markdown = text
        self._source_count = source_count
        self.document().setMarkdown(link_citations(text, source_count), _FEATURES)
        self._shade_code_blocks()

    def code_blocks(self) -> list[str]:
        """The text of each code block, in order."""
        blocks, current = [], []
        block = self.document().begin()
        while block.isValid():
            if is_code_block(block):
                current.append(block.text())
            elif current:
                blocks.append("\n".join(current))
                current = []
            block = block.next()
        if current:
            blocks.append("\n".join(current))
        return blocks

    def _shade_code_blocks(self) -> None:
        shade = QColor("#2b2b30" if is_dark() else "#f4f2ee")
        block = self.document().begin()
        cursor = QTextCursor(self.document())
        while block.isValid():
            if is_code_block(block):
                cursor.setPosition(block.position())
                fmt = block.blockFormat()
                fmt.setBackground(shade)
                fmt.setLeftMargin(6)
                fmt.setRightMargin(6)
                fmt.setNonBreakableLines(False)  # wrap long lines rather than clip them
                cursor.setBlockFormat(fmt)
            block = block.next()

    def _fit_height(self, size) -> None:
        height = int(size.height()) + self.contentsMargins().top() + self.contentsMargins().bottom()
        if height != self.height():
            self.setFixedHeight(max(height, 18))

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(400, self.height())

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "source":
            with contextlib.suppress(ValueError):
                self.sourceClicked.emit(int(url.path() or url.toString().split(":", 1)[1]))
        elif url.scheme() in ("http", "https", "file", "mailto"):
            QDesktopServices.openUrl(url)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt name)
        menu: QMenu = self.createStandardContextMenu(event.pos())
        block = self.cursorForPosition(event.pos()).block()
        if is_code_block(block):
            menu.addSeparator()
            menu.addAction("Copy code block", lambda: self._copy_block_at(block))
        menu.exec(event.globalPos())

    def _copy_block_at(self, block) -> None:
        start = block
        while start.previous().isValid() and is_code_block(start.previous()):
            start = start.previous()
        lines = []
        while start.isValid() and is_code_block(start):
            lines.append(start.text())
            start = start.next()
        QGuiApplication.clipboard().setText("\n".join(lines))
