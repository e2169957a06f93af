"""The chat's documents: each file with pages, chunks and status, live progress while indexing."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_name, display_path

_COLUMNS = ("File", "Pages", "Chunks", "Status", "Used")
_COLUMN_TIPS = ("", "Pages read", "Passages the file was cut into for search", "",
                "Whether the whole file is in every prompt, or its passages are searched")  # fmt: skip
# How a file reaches the model (DocumentController decides): its whole text, or search.
PLACEMENT_TEXT = {"whole": "whole", "searched": "searched"}
_STATUS_COLOURS = {"indexed": "#15803d", "failed": "#b42318", "skipped": "#a16207"}


class DocumentsPanel(QWidget):
    """Signals: addFilesRequested(), addFolderRequested(), removeRequested(paths),
    reindexRequested(), cancelRequested(), openRequested(path)."""

    addFilesRequested = Signal()
    addFolderRequested = Signal()
    removeRequested = Signal(list)
    reindexRequested = Signal()
    cancelRequested = Signal()
    openRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(300)
        self.heading = QLabel("Documents in this chat")
        self.heading.setObjectName("EmptyTitle")
        self.heading.setStyleSheet("font-size: 12pt;")
        self.summary = QLabel("Drop files or folders on the window, or add them here.")
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(3, 80)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        self._placements: dict[str, str] = {}
        header.setMinimumSectionSize(36)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("Muted")
        self.progress_label.setVisible(False)

        self.add_button = QPushButton("Add files…")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove")
        self.reindex_button = QPushButton("Re-index")
        self.reindex_button.setToolTip("Check every file again; changed files are indexed anew")
        self.cancel_button = QPushButton("Cancel")
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
        layout.addLayout(buttons)
        layout.addLayout(manage)

        self.add_button.clicked.connect(self.addFilesRequested)
        self.add_folder_button.clicked.connect(self.addFolderRequested)
        self.remove_button.clicked.connect(self._on_remove)
        self.reindex_button.clicked.connect(self.reindexRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.table.cellDoubleClicked.connect(
            lambda row, _col: self.openRequested.emit(self._path(row))
        )
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    # Content

    def set_files(self, files: list[dict]) -> None:
        """Replace the rows. Each file: path, pages, chunks, status, error."""
        self.table.setRowCount(0)
        for entry in files:
            self.update_file(entry)
        self._update_summary()

    def update_file(self, entry: dict) -> None:
        """Add or update the row of entry['path']; 'progress' (0..1) shows a bar while indexing."""
        path = str(entry["path"])
        row = self.row_of(path)
        if row < 0:
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(display_name(path))
            name.setData(Qt.ItemDataRole.UserRole, path)
            name.setToolTip(display_path(path))
            self.table.setItem(row, 0, name)
            for column in (1, 2, 3, 4):
                self.table.setItem(row, column, QTableWidgetItem(""))
            self._show_placement(row, path)
        for column, key in ((1, "pages"), (2, "chunks")):
            if entry.get(key) is not None:
                item = self.table.item(row, column)
                item.setText(str(entry[key]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        status = str(entry.get("status", ""))
        progress = entry.get("progress")
        if status == "indexing" and progress is not None:
            bar = self.table.cellWidget(row, 3)
            if not isinstance(bar, QProgressBar):
                bar = QProgressBar()
                bar.setRange(0, 100)
                self.table.setCellWidget(row, 3, bar)
            bar.setValue(int(progress * 100))
            # The column is narrow: the bar shows the percentage, its tooltip says what it is.
            bar.setFormat(f"{int(progress * 100)}%")
            bar.setToolTip(f"indexing {int(progress * 100)}%")
        else:
            self.table.removeCellWidget(row, 3)
            item = self.table.item(row, 3)
            error = str(entry.get("error") or "")
            item.setText(status + (f": {error}" if error else ""))
            item.setToolTip(error or status)
            if status in _STATUS_COLOURS:
                item.setForeground(QColor(_STATUS_COLOURS[status]))
        self._update_summary()

    def set_placement(self, path: str, placement: str) -> None:
        """Show how `path` reaches the model: "whole" or "searched" (see PLACEMENT_TEXT)."""
        self._placements[str(path)] = placement
        row = self.row_of(path)
        if row >= 0:
            self._show_placement(row, str(path))

    def set_placements(self, placements: dict[str, str]) -> None:
        """Replace every file's placement (used when a chat's documents are listed)."""
        self._placements = dict(placements)
        for row in range(self.table.rowCount()):
            self._show_placement(row, self._path(row))

    def placement_of(self, path: str) -> str:
        row = self.row_of(path)
        return self.table.item(row, 4).text() if row >= 0 else ""

    def _show_placement(self, row: int, path: str) -> None:
        item = self.table.item(row, 4)
        if item is not None:
            item.setText(PLACEMENT_TEXT.get(self._placements.get(path, ""), ""))

    def status_of(self, path: str) -> str:
        """The status column as shown: "indexed", "failed: why", "indexing 40%"..."""
        row = self.row_of(path)
        if row < 0:
            return ""
        bar = self.table.cellWidget(row, 3)
        if isinstance(bar, QProgressBar):
            return bar.toolTip()
        return self.table.item(row, 3).text()

    def row_of(self, path: str) -> int:
        for row in range(self.table.rowCount()):
            if self._path(row) == str(path):
                return row
        return -1

    def paths(self) -> list[str]:
        return [self._path(row) for row in range(self.table.rowCount())]

    def set_indexing(self, active: bool, text: str = "", fraction: float | None = None) -> None:
        self.progress.setVisible(active)
        self.progress_label.setVisible(active and bool(text))
        self.progress_label.setText(text)
        self.cancel_button.setVisible(active)
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))
        self._update_buttons()

    # Internals

    def _path(self, row: int) -> str:
        return str(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole))

    def _on_remove(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        if rows:
            self.removeRequested.emit([self._path(row) for row in rows])

    def _update_buttons(self) -> None:
        busy = self.cancel_button.isVisible()
        self.remove_button.setEnabled(bool(self.table.selectedIndexes()) and not busy)
        self.reindex_button.setEnabled(self.table.rowCount() > 0 and not busy)

    def _update_summary(self) -> None:
        rows = self.table.rowCount()
        if not rows:
            self.summary.setText("Drop files or folders on the window, or add them here.")
            self._update_buttons()
            return
        pages = sum(
            int(self.table.item(r, 1).text() or 0)
            for r in range(rows)
            if self.table.item(r, 1).text().isdigit()
        )
        chunks = sum(
            int(self.table.item(r, 2).text() or 0)
            for r in range(rows)
            if self.table.item(r, 2).text().isdigit()
        )
        self.summary.setText(
            f"{rows} file{'s' if rows != 1 else ''} · {pages} pages · "
            f"{chunks} passages. Answers in this chat cite them."
        )
        self._update_buttons()
