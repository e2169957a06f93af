"""Pick the model to chat with: bundled and imported GGUF files with their metadata and whether
they fit this machine at the chosen context window, and the servers added to run chats on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_name, display_path
from ui.dialog_keys import EnterSafeDialog
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
        remote: For a model on a server, the connection's id (then `path` is that id too and
            `name` is what the row shows); "" for a file.
        origin: Where the file came from, shown after its name when that alone would not tell
            it apart: "bundled", "from owner/repo", "in ~/Models" ("" for none).
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
    owned: bool = False  # Hearth downloaded or made the file: removing it deletes it
    remote: str = ""
    origin: str = ""

    @property
    def shown_name(self) -> str:
        """The file name people recognise (the GGUF's own name goes in the tooltip), with where
        it came from when two rows would otherwise read the same."""
        if self.remote:
            return self.name
        origin = self.origin or ("bundled" if self.bundled else "")
        return Path(self.path).stem + (f"  ({origin})" if origin else "")

    def cells(self) -> tuple[str, ...]:
        name = self.shown_name
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
            if index.column() == 0:  # the whole name, however narrow the column
                lines = [text, row.name if row.name != text.removeprefix("● ") else "", row.path]
                return "\n".join(line for line in lines if line)
            if index.column() == len(COLUMNS) - 1 and row.fit_detail and not row.problem:
                return f"{text}\n{row.fit_detail}"
            return text
        if role == PATH_ROLE:
            return row.path
        return None


class ModelPicker(EnterSafeDialog):
    """Signals: loadRequested(path), unloadRequested(), importRequested(path),
    getModelsRequested(), removeRequested(path) (after the person confirmed it),
    remoteRequested(connection id), addServerRequested(), removeServerRequested(connection id)
    (confirmed too), editServerRequested(connection id)."""

    loadRequested = Signal(str)
    unloadRequested = Signal()
    importRequested = Signal(str)
    getModelsRequested = Signal()
    removeRequested = Signal(str)
    remoteRequested = Signal(str)
    addServerRequested = Signal()
    removeServerRequested = Signal(str)
    editServerRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(1280, 360)
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
        self.table.setWordWrap(False)  # a long cell ends in "…"; its tooltip holds all of it
        header = self.table.horizontalHeader()
        # Names first (they tell rows apart); the verdict takes the rest of the width.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        header.setMaximumSectionSize(400)
        self.count = QLabel()
        self.count.setObjectName("Muted")
        self.status = QLabel()
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.import_button = QPushButton("Import GGUF file…")
        self.import_button.setAccessibleDescription("Add a GGUF model file from this computer")
        self.get_button = QPushButton("Get models…")
        self.get_button.setAccessibleDescription("Search the Hugging Face Hub and download models")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleDescription(
            "Delete a model Hearth downloaded or made, forget an imported file (the file stays) "
            "or forget a server"
        )
        self.remove_box: QMessageBox | None = None
        self.add_server_button = QPushButton("Add a server…")
        self.add_server_button.setAccessibleDescription(
            "Run chats on a model served by another computer (llama.cpp, vLLM, Ollama, Hearth)"
        )
        self.edit_server_button = QPushButton("Edit server…")
        self.edit_server_button.setAccessibleDescription(
            "Change the selected server's API key, model or context window"
        )
        self.unload_button = QPushButton("Unload")
        self.unload_button.setAccessibleDescription("Free the loaded model's memory")
        self.load_button = QPushButton("Load")
        self.load_button.setObjectName("Primary")
        self.load_button.setAccessibleDescription("Load the selected model")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.get_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.add_server_button)
        buttons.addWidget(self.edit_server_button)
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
        self.get_button.clicked.connect(self.getModelsRequested)
        self.remove_button.clicked.connect(self.confirm_remove)
        self.load_button.clicked.connect(self._on_load)
        self.unload_button.clicked.connect(self.unloadRequested)
        self.add_server_button.clicked.connect(self.addServerRequested)
        self.edit_server_button.clicked.connect(
            lambda: self.editServerRequested.emit(self.selected_path() or "")
        )
        # Activation is a double-click (or a single one, where the platform says so) and Enter:
        # one signal, so one double-click is one load (doubleClicked came on top of it).
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

    def set_window(self, n_ctx: int) -> None:
        """Name the window the "Fits here" verdicts are for in that column's title."""
        title = f"Fits here at {n_ctx:,} tokens"
        last = len(COLUMNS) - 1
        if self.model.columns[last] != title:
            self.model.columns = (*COLUMNS[:last], title)
            self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, last, last)

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

    def _selected_row(self) -> ModelRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.record(rows[0]) if rows else None

    def _on_load(self) -> None:
        row = self._selected_row()
        if row is not None and row.remote:
            self.remoteRequested.emit(row.remote)
        elif row is not None:
            self.loadRequested.emit(row.path)

    def selected_row(self) -> ModelRow | None:
        path = self.selected_path()
        row = self.model.row_of(path) if path else -1
        return self.model.rows()[row] if row >= 0 else None

    def confirm_remove(self) -> None:
        """Ask before removing the selected model: one Hearth downloaded or made is deleted, an
        imported one only forgotten (its file stays where the person keeps it)."""
        row = self.selected_row()
        if row is None or row.bundled:
            return
        name = display_name(row.path)
        signal = self.removeRequested
        if row.remote:
            title, verb, signal = "Remove server", "Remove", self.removeServerRequested
            shown = " ".join(row.name.split())
            text = (f"Remove {shown}? Hearth forgets the server and its API key; your chats "
                    "with it stay, and the server itself is not touched.")  # fmt: skip
        elif row.owned:
            title, verb = "Delete model", "Delete"
            text = (f"Delete {name}? Hearth downloaded or made this file; it is deleted from "
                    f"this computer ({size(row.file_size)}).")  # fmt: skip
        else:
            title, verb = "Remove model", "Remove from list"
            text = (f"Remove {name} from your models? The file itself stays where it is: "
                    f"{display_path(Path(row.path).parent)}")  # fmt: skip
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel,
                          self)  # fmt: skip
        confirm = box.addButton(verb, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        path = row.path
        confirm.clicked.connect(lambda: signal.emit(path))
        self.remove_box = box
        box.open()

    def _update_buttons(self, *_args: object) -> None:
        self.load_button.setEnabled(self.selected_path() is not None)
        row = self.selected_row()
        self.remove_button.setEnabled(row is not None and not row.bundled)
        row = self._selected_row()
        self.load_button.setEnabled(row is not None)
        self.edit_server_button.setEnabled(row is not None and bool(row.remote))
