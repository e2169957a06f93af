"""The documents table's data: one `FileRow` per file, shown by a QTableView, and the progress bar
drawn in the status cell of a file being indexed.

A file is named by its path under the folder it was added with ("sub/nested.md"), with as many
parent folders as it takes to tell two files of the same name apart; its status cell holds the
status word, and the reason or note under it on at most two lines (the whole of it in the cell's
tooltip). An indexed file's note is a warning (pages that cannot be read) in amber, or plain
information (pages read by OCR) in the muted colour.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QTextLayout, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from engine.display import display_path, display_text
from engine.library.notes import note_warnings, unreadable_pages
from ui.format import plain_tip
from ui.records_model import RecordsModel
from ui.theme import is_dark

COLUMNS = ("File", "Pages", "Chunks", "Status", "Used")
FILE, PAGES, CHUNKS, STATUS, USED = range(len(COLUMNS))
COLUMN_TIPS = ("", "Pages read", "Passages the file was cut into for search", "",
               "Whether the whole file is in every prompt, or its passages are searched")  # fmt: skip
# How a file reaches the model (the app decides): its whole text, or search.
PLACEMENT_TEXT = {"whole": "whole", "searched": "searched"}
# Each appearance's colours for a status word and the reason under it, readable on its table:
# "warning" is an indexed file's note that says part of it is lost (amber, as skipped files are),
# "information" one that only says how it was read (muted, as in the style sheets).
STATUS_COLOURS = {
    "light": {"indexed": "#15803d", "failed": "#b42318", "skipped": "#a16207",
              "warning": "#a16207", "information": "#667085"},
    "dark": {"indexed": "#4ade80", "failed": "#f87171", "skipped": "#fbbf24",
             "warning": "#fbbf24", "information": "#9a9a94"},
}  # fmt: skip
# A status's reason or note shows on at most this many lines; the tooltip holds all of it.
NOTE_LINES = 2
# The fraction (0..1) of a file being indexed, for the progress bar in its status cell.
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole
# The reason or note under the status word ("" for none), and its colour.
NOTE_ROLE = Qt.ItemDataRole.UserRole + 2
NOTE_COLOUR_ROLE = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class FileRow:
    """One file as the table shows it.

    Attributes:
        path: The file.
        status: The shown word: queued, indexing, indexed, failed, skipped, pending...
        error: Why it failed or was skipped.
        pages, chunks: None until known.
        fraction: How far indexing got (0..1) while the status is "indexing".
    """

    path: str
    status: str = ""
    error: str = ""
    pages: int | None = None
    chunks: int | None = None
    fraction: float | None = None

    def updated(self, newer: FileRow) -> FileRow:
        """`newer`'s status, keeping the counts it does not know yet."""
        return replace(
            newer,
            pages=newer.pages if newer.pages is not None else self.pages,
            chunks=newer.chunks if newer.chunks is not None else self.chunks,
        )

    @property
    def indexing(self) -> bool:
        return self.status == "indexing" and self.fraction is not None

    @property
    def status_text(self) -> str:
        """ "indexed", "failed: why", "indexing 40%"..."""
        if self.indexing:
            return f"indexing {int((self.fraction or 0.0) * 100)}%"
        return self.status + (f": {self.error}" if self.error else "")

    @property
    def status_lines(self) -> str:
        """The status cell: the word in full, the reason under it ("failed\nthe file is damaged"),
        so a narrow column never cuts the word to "failed: …"."""
        if self.indexing or not self.error:
            return self.status_text
        return f"{self.status}\n{self.error}"

    @property
    def note(self) -> str:
        """The reason or note under the status word ("" while indexing, or when there is none)."""
        return "" if self.indexing else self.error

    @property
    def warned(self) -> bool:
        """Indexed, with a note that says part of the file is lost to the search (damaged pages,
        pages without readable text, bytes that could not be decoded)."""
        return self.status == "indexed" and bool(note_warnings(self.error))

    @property
    def unreadable_pages(self) -> int:
        """Of an indexed file's pages, those that cannot be read (a damaged PDF indexed from the
        rest), as its note counts them; 0 for any other file."""
        return unreadable_pages(self.error) if self.status == "indexed" else 0

    @property
    def note_tone(self) -> str:
        """Which colour the note takes: "warning", "information", or the status's own."""
        if self.status != "indexed":
            return self.status
        return "warning" if self.warned else "information"


class DocumentsModel(RecordsModel[FileRow]):
    """The files of the open chat's library, with where each stands and how it reaches the model."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(COLUMNS, COLUMN_TIPS, parent)
        self._placements: dict[str, str] = {}
        self._folders: tuple[str, ...] = ()
        self._names: dict[str, str] | None = None  # shown names, worked out when first read
        self._file_names: Counter[str] = Counter()  # rows per file name, to see a second one

    # -- reading -----------------------------------------------------------------------------

    def row_of(self, path: str) -> int:
        return next((i for i, row in enumerate(self._rows) if row.path == str(path)), -1)

    def file(self, path: str) -> FileRow | None:
        index = self.row_of(path)
        return self._rows[index] if index >= 0 else None

    def placement(self, path: str) -> str:
        return PLACEMENT_TEXT.get(self._placements.get(str(path), ""), "")

    def shown_name(self, path: str) -> str:
        """The file as its row names it: "README.md", "sub/README.md"."""
        if self._names is None:
            self._names = shown_names([row.path for row in self._rows], self._folders)
        return self._names.get(str(path)) or shown_names([str(path)], self._folders)[str(path)]

    # -- changing ----------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[FileRow]) -> None:
        self._names = None
        super().set_rows(rows)
        self._file_names = Counter(os.path.basename(row.path) for row in self._rows)

    def set_folders(self, folders: Iterable[str]) -> None:
        """The folders files were added with: a file in one is named by its path under it."""
        folders = tuple(str(folder) for folder in folders)
        if folders == self._folders:
            return
        self._folders = folders
        self._names_changed()

    def update_row(self, row: FileRow) -> None:
        """Add the row, or update the one with the same path."""
        index = self.row_of(row.path)
        if index < 0:
            name = os.path.basename(row.path)
            self._file_names[name] += 1
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._rows.append(row)
            self.endInsertRows()
            # A second README.md renames the first too ("docs/README.md").
            if self._file_names[name] > 1:
                self._names_changed()
            elif self._names is not None:
                self._names.update(shown_names([row.path], self._folders))
            return
        self._rows[index] = self._rows[index].updated(row)
        self.dataChanged.emit(self.index(index, 0), self.index(index, len(COLUMNS) - 1))

    def set_placement(self, path: str, placement: str) -> None:
        self._placements[str(path)] = placement
        index = self.row_of(path)
        if index >= 0:
            self.dataChanged.emit(self.index(index, USED), self.index(index, USED))

    def set_placements(self, placements: Mapping[str, str]) -> None:
        self._placements = dict(placements)
        if self._rows:
            self.dataChanged.emit(self.index(0, USED), self.index(len(self._rows) - 1, USED))

    def _names_changed(self) -> None:
        self._names = None
        if self._rows:
            self.dataChanged.emit(self.index(0, FILE), self.index(len(self._rows) - 1, FILE))

    # -- what each cell shows -----------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == PATH_ROLE:
            return row.path
        if role == PROGRESS_ROLE:
            return row.fraction if column == STATUS and row.indexing else None
        if role == Qt.ItemDataRole.DisplayRole and column == STATUS:
            return row.status_lines
        if role == NOTE_ROLE:
            return row.note if column == STATUS else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == FILE:
                counts = _counts(row)
                shown = f"{display_path(row.path)} ({counts})" if counts else display_path(row.path)
                return plain_tip(shown)
            if column == STATUS:
                return plain_tip(row.status_text if row.indexing else (row.error or row.status))
            return None
        if role in (Qt.ItemDataRole.ForegroundRole, NOTE_COLOUR_ROLE) and column == STATUS:
            tone = row.status if role == Qt.ItemDataRole.ForegroundRole else row.note_tone
            colour = status_colours().get(tone)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (PAGES, CHUNKS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: FileRow, column: int) -> str:
        if column == FILE:
            return self.shown_name(row.path)
        if column == PAGES:
            return "" if row.pages is None else str(row.pages)
        if column == CHUNKS:
            return "" if row.chunks is None else str(row.chunks)
        if column == STATUS:
            return row.status_text
        # Only an indexed file reaches the model; a failed or skipped one is neither way.
        return self.placement(row.path) if row.status == "indexed" else ""


class OneLineDelegate(QStyledItemDelegate):
    """Keeps a cell's text on one line, shortened as the view elides it: the table wraps its
    status cells, and a path wrapped at its slashes and hyphens in a one-line row reads as
    neither its folder nor its name. (Like every Python override Qt calls, it needs the guard of
    app/qt_compat.py on Python 3.11.)"""

    def initStyleOption(self, option: Any, index: Index) -> None:  # noqa: N802 (Qt's name)
        super().initStyleOption(option, index)
        option.features &= ~QStyleOptionViewItem.ViewItemFeature.WrapText


class ProgressDelegate(QStyledItemDelegate):
    """Draws a slim progress bar with its percentage in a cell whose PROGRESS_ROLE holds a
    fraction, in the palette's highlight colour (the accent of the light and dark themes)."""

    def paint(self, painter: Any, option: Any, index: Index) -> None:
        fraction = index.data(PROGRESS_ROLE)
        if fraction is None:
            super().paint(painter, option, index)
            return
        palette = option.palette
        rect = option.rect.adjusted(4, 0, -4, 0)
        track = QRectF(rect.left(), rect.center().y() + 3, rect.width(), 5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color(QPalette.ColorRole.Mid))
        painter.drawRoundedRect(track, 2.5, 2.5)
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
        done = QRectF(track)
        done.setWidth(track.width() * max(0.0, min(1.0, fraction)))
        painter.drawRoundedRect(done, 2.5, 2.5)
        font = QFont(option.font)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        text = QRectF(rect.left(), rect.top(), rect.width(), track.top() - rect.top())
        painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                         f"{int(fraction * 100)}%")  # fmt: skip
        painter.restore()


class StatusDelegate(ProgressDelegate):
    """Draws a status cell: the progress bar while its file is indexed, else the status word in
    its colour with the reason or note under it in the note's colour (NOTE_COLOUR_ROLE), wrapped
    between its words onto at most NOTE_LINES lines and shortened with "…" past them."""

    def paint(self, painter: Any, option: Any, index: Index) -> None:
        note = index.data(NOTE_ROLE)
        if index.data(PROGRESS_ROLE) is not None or not note:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        word = str(index.data(Qt.ItemDataRole.DisplayRole)).partition("\n")[0]
        item.text = ""  # the background, selection and focus as the style draws them
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        metrics = QFontMetrics(item.font)
        margin = text_margin(widget)
        lines = [word, *note_lines(note, item.font, option.rect.width() - 2 * margin)]
        spacing = metrics.lineSpacing()
        top = option.rect.top() + max(0, (option.rect.height() - len(lines) * spacing) // 2)
        selected = bool(item.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setFont(item.font)
        for number, line in enumerate(lines):
            colour = index.data(Qt.ItemDataRole.ForegroundRole if number == 0 else NOTE_COLOUR_ROLE)
            if selected:
                colour = item.palette.color(QPalette.ColorRole.HighlightedText)
            painter.setPen(colour or item.palette.color(QPalette.ColorRole.Text))
            box = QRect(option.rect.left() + margin, top + number * spacing,
                        option.rect.width() - 2 * margin, spacing)  # fmt: skip
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)
        painter.restore()


def status_colours() -> dict[str, str]:
    """The status colours of the appearance in use (light or dark)."""
    return STATUS_COLOURS["dark" if is_dark() else "light"]


def text_margin(view: QAbstractItemView | Any) -> int:
    """The space an item's text keeps on each side of its cell (QCommonStyle's item margin)."""
    style = view.style() if view is not None else QApplication.style()
    return style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1


def note_lines(text: str, font: QFont, width: int, most: int = NOTE_LINES) -> list[str]:
    """`text` wrapped between its words to `width` pixels, on at most `most` lines, the last one
    ending in "…" after its last whole word when the text goes on past it. Only a word wider
    than `width` on its own is cut inside (and ends the text there), as nothing else can show it.

    Args:
        text: A status's reason or note.
        font: The font it is drawn in.
        width: The room for a line, in pixels.
        most: The most lines it may take.
    """
    width = max(1, width)
    metrics = QFontMetrics(font)
    wrapped = _wrapped(text, font, width)
    lines: list[str] = []
    for line in wrapped[:most]:
        if metrics.horizontalAdvance(line) > width:  # one word wider than the cell
            lines.append(metrics.elidedText(line, Qt.TextElideMode.ElideRight, width))
            return lines
        lines.append(line)
    if len(wrapped) > most:
        lines[-1] = _ended(lines[-1], metrics, width)
    return lines


def _wrapped(text: str, font: QFont, width: int) -> list[str]:
    """`text` broken into lines of `width` pixels between words (or after a hyphen), never
    inside one: a word too wide for a line has one of its own."""
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    lines: list[str] = []
    layout.beginLayout()
    while (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        lines.append(text[line.textStart() : line.textStart() + line.textLength()].strip())
    layout.endLayout()
    return [line for line in lines if line]


def _ended(line: str, metrics: QFontMetrics, width: int) -> str:
    """`line` with "…" after its last whole word that leaves room for it ("unsupported file…"),
    the punctuation before the "…" left out; a lone word too wide for it is cut as it must be."""
    words = line
    while words:
        shown = words.rstrip(",;:") + "…"
        if metrics.horizontalAdvance(shown) <= width:
            return shown
        words = re.sub(r"\s*\S+$", "", words)
    return metrics.elidedText(line + "…", Qt.TextElideMode.ElideRight, width)


def widest_word(text: str, metrics: QFontMetrics) -> int:
    """The width in pixels of the widest word of `text` (a word wraps after a hyphen too): the
    least room a line needs so that no word of it is cut."""
    words = re.split(r"\s+|(?<=-)", text)
    return max((metrics.horizontalAdvance(word) for word in words if word), default=0)


def shown_names(paths: Iterable[str], folders: Iterable[str] = ()) -> dict[str, str]:
    """Each path as the table names it (escaped for display): its path under the deepest of
    `folders` that holds it, else its file name; then, while two paths read the same, each of
    them with one more parent folder, until they differ or have none left to show.

    Args:
        paths: The files (absolute).
        folders: The folders they were added with.
    """
    roots = [PurePath(folder) for folder in folders]
    parts: dict[str, tuple[str, ...]] = {}
    shown: dict[str, int] = {}  # how many trailing parts of the path are shown
    for path in paths:
        pure = PurePath(path)
        parts[path] = pure.parts
        under = [root for root in roots if root != pure and pure.is_relative_to(root)]
        deepest = max(under, key=lambda root: len(root.parts), default=None)
        shown[path] = len(pure.parts) - len(deepest.parts) if deepest is not None else 1
    while True:
        readers: dict[tuple[str, ...], list[str]] = {}
        for path, count in shown.items():
            readers.setdefault(parts[path][-count:], []).append(path)
        longer = [path for same in readers.values() if len(same) > 1 for path in same
                  if shown[path] < len(parts[path]) - 1]  # fmt: skip
        if not longer:
            break
        for path in longer:
            shown[path] += 1
    return {path: display_text(os.sep.join(parts[path][-count:])) for path, count in shown.items()}


def _counts(row: FileRow) -> str:
    """ "12 pages · 40 passages" when known ("" otherwise): the narrow panel hides those columns."""
    parts = []
    if row.pages:
        parts.append(f"{row.pages:,} page{'s' if row.pages != 1 else ''}")
    if row.chunks:
        parts.append(f"{row.chunks:,} passage{'s' if row.chunks != 1 else ''}")
    return " · ".join(parts)
