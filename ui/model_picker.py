"""Pick the model to chat with: bundled and imported GGUF files with their metadata and whether
they fit this machine at the chosen context window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.format import params, size

_COLUMNS = ("Model", "Parameters", "Quantization", "Trained context", "Size", "Fits here")


class ModelPicker(QDialog):
    """Signals: loadRequested(path), unloadRequested(), importRequested(path)."""

    loadRequested = Signal(str)
    unloadRequested = Signal()
    importRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(980, 360)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel()
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.import_button = QPushButton("Import GGUF file…")
        self.unload_button = QPushButton("Unload")
        self.load_button = QPushButton("Load")
        self.load_button.setObjectName("Primary")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unload_button)
        buttons.addWidget(self.load_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.import_button.clicked.connect(self._on_import)
        self.load_button.clicked.connect(self._on_load)
        self.unload_button.clicked.connect(self.unloadRequested)
        self.table.cellDoubleClicked.connect(lambda *_: self._on_load())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._entries: list[dict] = []

    def set_models(self, entries: list[dict]) -> None:
        """Each entry: path, name, parameters, file_type, context_length, file_size, fits,
        bundled, loaded, problem."""
        self._entries = entries
        self.table.setRowCount(0)
        for entry in entries:
            row = self.table.rowCount()
            self.table.insertRow(row)
            # The file name is what people recognise; the GGUF's own name goes in the tooltip.
            name = Path(entry["path"]).stem
            if entry.get("bundled"):
                name += "  (bundled)"
            if entry.get("loaded"):
                name = "● " + name
            values = (
                name,
                params(entry["parameters"]) if entry.get("parameters") else "–",
                entry.get("file_type") or "–",
                f"{entry['context_length']:,}" if entry.get("context_length") else "–",
                size(entry["file_size"]) if entry.get("file_size") else "–",
                entry.get("problem") or entry.get("fits", ""),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                tip = f"{entry.get('name', '')}\n{entry['path']}" if column == 0 else str(value)
                item.setToolTip(tip.strip())
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, entry["path"])
                self.table.setItem(row, column, item)
        if self.selected_path() is None:
            loaded = next((e["path"] for e in entries if e.get("loaded")), None)
            if loaded:
                self.select_path(loaded)
        self._update_buttons()

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def selected_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def select_path(self, path: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == path:
                self.table.selectRow(row)

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

    def _update_buttons(self) -> None:
        self.load_button.setEnabled(self.selected_path() is not None)
