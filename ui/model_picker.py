"""Pick the model to chat with: bundled and imported GGUF files with their metadata and whether
they fit this machine at the chosen context window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.format import params, size
from ui.records_model import RecordsModel

COLUMNS = ("Model", "Parameters", "Quantization", "Trained context", "Size", "Fits here")
PATH_ROLE = Qt.ItemDataRole.UserRole

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class ModelRow:
    """One model file as the picker shows it.

    Attributes:
        path: The GGUF file.
        name: The model's own name from its metadata ("" when unreadable).
        fits: Whether it fits this machine at the chosen window, in a few words.
        fit_detail: Why, and what would fit, for the tooltip.
        problem: Why the file cannot be used ("" when it can).
    """

    path: str
    name: str = ""
    parameters: int = 0
    file_type: str = ""
    context_length: int = 0
    file_size: int = 0
    fits: str = ""
    fit_detail: str = ""
    bundled: bool = False
    loaded: bool = False
    problem: str = ""

    def cells(self) -> tuple[str, ...]:
        # The file name is what people recognise; the GGUF's own name goes in the tooltip.
        name = Path(self.path).stem + ("  (bundled)" if self.bundled else "")
        return (
            ("● " if self.loaded else "") + name,
            params(self.parameters) if self.parameters else "–",
            self.file_type or "–",
            f"{self.context_length:,}" if self.context_length else "–",
            size(self.file_size) if self.file_size else "–",
            self.problem or self.fits,
        )


class ModelsModel(RecordsModel[ModelRow]):
    """The picker's rows."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(COLUMNS, parent=parent)

    def row_of(self, path: str) -> int:
        return next((i for i, row in enumerate(self._rows) if row.path == path), -1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        text = row.cells()[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return text
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == 0:
                return f"{row.name}\n{row.path}".strip()
            if index.column() == len(COLUMNS) - 1 and row.fit_detail and not row.problem:
                return row.fit_detail
            return text
        if role == PATH_ROLE:
            return row.path
        return None


class ModelPicker(QDialog):
    """Signals: loadRequested(path), unloadRequested(), importRequested(path)."""

    loadRequested = Signal(str)
    unloadRequested = Signal()
    importRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(980, 360)
        self.model = ModelsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setAccessibleName("Models")
        self.table.setAccessibleDescription(
            "Your models, with size and whether each fits this machine. Enter loads the selected one."
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.count = QLabel()
        self.count.setObjectName("Muted")
        self.status = QLabel()
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.import_button = QPushButton("Import GGUF file…")
        self.import_button.setAccessibleDescription("Add a GGUF model file from this computer")
        self.unload_button = QPushButton("Unload")
        self.unload_button.setAccessibleDescription("Free the loaded model's memory")
        self.load_button = QPushButton("Load")
        self.load_button.setObjectName("Primary")
        self.load_button.setAccessibleDescription("Load the selected model")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unload_button)
        buttons.addWidget(self.load_button)
        buttons.addWidget(close)
        footer = QHBoxLayout()
        footer.addWidget(self.count)
        footer.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)
        layout.addLayout(buttons)
        self.import_button.clicked.connect(self._on_import)
        self.load_button.clicked.connect(self._on_load)
        self.unload_button.clicked.connect(self.unloadRequested)
        self.table.doubleClicked.connect(lambda _index: self._on_load())
        self.table.activated.connect(lambda _index: self._on_load())
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_count)
        self._update_count()
        self._update_buttons()

    def set_models(self, rows: Sequence[ModelRow]) -> None:
        """Show `rows`; the selection stays on the same file, or goes to the loaded one."""
        selected = self.selected_path()
        self.model.set_rows(rows)
        target = selected or next((row.path for row in rows if row.loaded), None)
        if target:
            self.select_path(target)
        self._update_buttons()

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def selected_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return str(rows[0].data(PATH_ROLE)) if rows else None

    def select_path(self, path: str) -> None:
        row = self.model.row_of(path)
        if row >= 0:
            self.table.selectRow(row)

    def _update_count(self) -> None:
        count = self.model.rowCount()
        self.count.setText(f"{count} model{'s' if count != 1 else ''}." if count else "")

    def _on_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.importRequested.emit(path)

    def _on_load(self) -> None:
        path = self.selected_path()
        if path:
            self.loadRequested.emit(path)

    def _update_buttons(self, *_args: object) -> None:
        self.load_button.setEnabled(self.selected_path() is not None)
