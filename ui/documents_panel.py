"""The chat's documents: each file with pages, chunks and status, live progress while indexing.

A long path is shortened in the middle (its folder and its file name both stay in view); a
status's reason or note reads under it on at most two lines of its cell (all of it in the
tooltip), in a column as wide as it needs up to a share of the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.display import counted
from engine.library.types import in_library
from ui.documents_model import (
    CHUNKS,
    FILE,
    PAGES,
    PATH_ROLE,
    STATUS,
    USED,
    DocumentsModel,
    FileRow,
    OneLineDelegate,
    StatusDelegate,
    note_lines,
    text_margin,
    widest_word,
)
from ui.watched_folders import WatchedFoldersView

if TYPE_CHECKING:
    from engine.library.watched import WatchedFolder

EMPTY_SUMMARY = "Drop files or folders on the window, or add them here."
# Below this table width the Pages and Passages columns are hidden (their counts move to the
# file's tooltip), so the file's name keeps room to be read.
COMPACT_TABLE_WIDTH = 420
# The status column is as wide as its longest line (a reason), within these bounds; a longer
# reason wraps onto a second line of its cell, and is shortened past it.
STATUS_MIN_WIDTH = 80
STATUS_MAX_SHARE = 0.3
# A reason's widest word (with a "…" after it) may widen the column past that share, up to this
# one, so a reason wraps and is shortened between its words, never inside one.
STATUS_WORD_SHARE = 0.5


class DocumentsPanel(QWidget):
    """Signals: addFilesRequested(), addFolderRequested(), removeRequested(paths: tuple[str]),
    reindexRequested(), cancelRequested(), openRequested(path), stopWatchingRequested(folder)."""

    addFilesRequested = Signal()
    addFolderRequested = Signal()
    removeRequested = Signal(object)
    reindexRequested = Signal()
    cancelRequested = Signal()
    openRequested = Signal(str)
    stopWatchingRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(300)
        self.setAccessibleName("Documents in this chat")
        self.heading = QLabel("Documents in this chat")
        self.heading.setObjectName("EmptyTitle")
        self.heading.setStyleSheet("font-size: 12pt;")
        self.summary = QLabel(EMPTY_SUMMARY)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        self.model = DocumentsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(STATUS, StatusDelegate(self.table))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it
        # "sub/…/nested.md" keeps the folder and the name; the whole path is in the tooltip.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setItemDelegateForColumn(FILE, OneLineDelegate(self.table))
        self.table.setAccessibleName("Documents")
        self.table.setAccessibleDescription(
            "Each file with its pages, passages, status and whether it is in the prompt whole. "
            "Enter opens a file, Delete removes the selected files."
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        for column in (PAGES, CHUNKS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(STATUS, STATUS_MIN_WIDTH)
        header.setSectionResizeMode(USED, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(36)
        self.table.installEventFilter(self)  # its width decides which columns fit
        # The status column and the rows' heights follow the statuses once per turn of the event
        # loop, however many rows a folder's indexing changed in it.
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_status)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setAccessibleName("Indexing progress")
        self.progress_label = QLabel()
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.progress_label.setObjectName("Muted")
        self.progress_label.setVisible(False)

        self.add_button = QPushButton("Add files…")
        self.add_button.setAccessibleDescription("Choose documents to add to this chat")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setAccessibleDescription(
            "Add every document in a folder and follow it: new, changed and deleted files "
            "update this chat"
        )
        self.watched = WatchedFoldersView()
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleDescription("Remove the selected files from this chat")
        self.reindex_button = QPushButton("Re-index")
        self.reindex_button.setToolTip("Check every file again; changed files are indexed anew")
        self.reindex_button.setAccessibleDescription(self.reindex_button.toolTip())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.setVisible(False)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.add_folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        manage = QHBoxLayout()
        for button in (self.remove_button, self.reindex_button, self.cancel_button):
            manage.addWidget(button)
        manage.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.watched)
        layout.addLayout(buttons)
        layout.addLayout(manage)
        self._connect_signals()
        self._update_buttons()

    def _connect_signals(self) -> None:
        self.add_button.clicked.connect(self.addFilesRequested)
        self.add_folder_button.clicked.connect(self.addFolderRequested)
        self.remove_button.clicked.connect(self._on_remove)
        self.reindex_button.clicked.connect(self.reindexRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.watched.stopRequested.connect(self.stopWatchingRequested)
        self.table.doubleClicked.connect(self._on_open)
        self.table.activated.connect(self._on_open)  # Enter on a row
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.dataChanged):
            signal.connect(self._on_rows_changed)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._on_remove)

    # What to show

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        compact = self.table.width() < COMPACT_TABLE_WIDTH
        for column in (PAGES, CHUNKS):
            if self.table.isColumnHidden(column) != compact:
                self.table.setColumnHidden(column, compact)
        self._fit_timer.start()

    def _fit_status(self) -> None:
        """The status column as wide as its longest line, within a share of the table, and as
        wide as the widest word of its reasons, so they wrap between words; a row with a reason
        as tall as its status cell's lines (the word, and the reason on at most two lines under
        it, as the status delegate draws them)."""
        table, metrics = self.table, self.table.fontMetrics()
        rows = self.model.rows()
        margin = text_margin(table)
        padding = 2 * margin + 4
        lines = {line for row in rows for line in row.status_lines.split("\n")}
        widest = max((metrics.horizontalAdvance(line) for line in lines), default=0) + padding
        word = max((widest_word(row.note, metrics) for row in rows), default=0)
        word += metrics.horizontalAdvance("…") + padding
        room = int(table.width() * STATUS_MAX_SHARE)
        width = max(
            STATUS_MIN_WIDTH,
            min(widest, room),
            min(word, widest, int(table.width() * STATUS_WORD_SHARE)),
        )
        if table.columnWidth(STATUS) != width:
            table.setColumnWidth(STATUS, width)
        one_line = table.verticalHeader().defaultSectionSize()
        spacing = metrics.lineSpacing()
        for number, row in enumerate(rows):
            height = one_line
            if row.note:
                shown = len(note_lines(row.note, table.font(), width - 2 * margin))
                height = one_line + shown * spacing
            if table.rowHeight(number) != height:
                table.setRowHeight(number, height)

    def set_file_rows(self, rows: Sequence[FileRow]) -> None:
        """Replace every row (a chat was opened, or its library listed)."""
        self.model.set_rows(rows)

    def update_file_row(self, row: FileRow) -> None:
        """Add or update the row of `row.path` (queued, indexing 40%, indexed...)."""
        self.model.update_row(row)

    def set_watched_folders(self, folders: Sequence[WatchedFolder]) -> None:
        """The folders this chat follows, with how following each goes; a file in one is named
        by its path under it."""
        self.watched.set_folders(folders)
        self.model.set_folders(folder.path for folder in folders)

    def set_placement(self, path: str, placement: str) -> None:
        """How `path` reaches the model: "whole" or "searched"."""
        self.model.set_placement(path, placement)

    def set_placements(self, placements: Mapping[str, str]) -> None:
        self.model.set_placements(placements)

    def set_indexing(self, active: bool, text: str = "", fraction: float | None = None) -> None:
        """The overall progress under the table while files are indexed."""
        self.progress.setVisible(active)
        self.progress_label.setVisible(active and bool(text))
        self.progress_label.setText(text)
        self.cancel_button.setVisible(active)
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))
        self.progress.setAccessibleDescription(text)
        self._update_buttons()

    # What is shown

    def status_of(self, path: str) -> str:
        """The status as shown: "indexed", "failed: why", "indexing 40%"..."""
        row = self.model.file(path)
        return row.status_text if row is not None else ""

    def placement_of(self, path: str) -> str:
        return self.model.placement(path) if self.model.row_of(path) >= 0 else ""

    def row_of(self, path: str) -> int:
        return self.model.row_of(path)

    def paths(self) -> list[str]:
        return [row.path for row in self.model.rows()]

    def select(self, path: str) -> None:
        row = self.model.row_of(path)
        if row >= 0:
            self.table.selectRow(row)

    # Internals

    def _selected_paths(self) -> tuple[str, ...]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return tuple(self.model.rows()[row].path for row in rows)

    def _on_open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.openRequested.emit(str(index.data(PATH_ROLE)))

    def _on_remove(self) -> None:
        paths = self._selected_paths()
        if paths and not self.cancel_button.isVisible():
            self.removeRequested.emit(paths)

    def _on_rows_changed(self, *_args: object) -> None:
        self._update_summary()
        self._update_buttons()
        self._fit_timer.start()

    def _update_buttons(self, *_args: object) -> None:
        busy = self.cancel_button.isVisible()
        self.remove_button.setEnabled(bool(self._selected_paths()) and not busy)
        self.reindex_button.setEnabled(self.model.rowCount() > 0 and not busy)

    def _update_summary(self) -> None:
        rows = self.model.rows()
        if not rows:
            self.summary.setText(EMPTY_SUMMARY)
            return
        pages = sum(row.pages or 0 for row in rows)
        unreadable = sum(row.unreadable_pages for row in rows)
        chunks = sum(row.chunks or 0 for row in rows)
        # A pipe or a link to a folder in a dropped folder is listed ("skipped"), but is not in
        # the library: counted apart by the library's own rule, so the summary agrees with the
        # Documents (n) button and `hearth library show`.
        skipped = sum(1 for row in rows if not in_library(row.status))
        # Text files have no pages: "0 pages" beside their passages would read as a fault.
        counts = [
            counted(len(rows) - skipped, "file"),
            f"{skipped:,} skipped" if skipped else "",
            _pages_counted(pages, unreadable) if pages else "",
            counted(chunks, "passage"),
        ]
        self.summary.setText(
            f"{' · '.join(part for part in counts if part)}. Answers in this chat cite them."
        )


def _pages_counted(pages: int, unreadable: int) -> str:
    """ "30 pages", or "30 pages (4 unreadable)" when some of them (of damaged files) cannot be
    read: they are counted among the pages, but nothing of them can be searched."""
    shown = counted(pages, "page")
    return f"{shown} ({unreadable:,} unreadable)" if unreadable else shown
