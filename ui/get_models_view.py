"""The "Get models" view: search the Hugging Face Hub, see a repository's GGUF files with the
verdict on this machine, download them (list below). It only draws and asks: the controller
(app/hub_controller.py) does the searching, judging and downloading off the GUI thread.

Nothing here reaches the network: opening the view sends nothing; a search starts when the person
presses Search (or Enter)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_text
from engine.settings_schema import KV_TYPES
from ui.dialog_keys import EnterSafeDialog
from ui.download_list import DownloadList
from ui.elided_label import ElidedLabel
from ui.hub_tables import FILE_COLUMNS, KEY_ROLE, FileModel, FileRow, RepoModel, RepoRow

SEARCH_HINT = "Type a model name (like qwen, llama or smollm) and press Search."
NO_REPO_HINT = "Choose a model above to see its files and whether each fits this machine."


def _table(name: str, description: str) -> QTableView:
    table = QTableView()
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)
    table.setWordWrap(False)
    table.setAccessibleName(name)
    table.setAccessibleDescription(description)
    return table


class StatusLine(QWidget):
    """A busy bar and one line of text: what is going on, or what went wrong (in red)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # moving, with no end known
        self.busy.setFixedWidth(90)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Working")
        self.text = ElidedLabel()
        self.text.setObjectName("StatusText")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.busy)
        layout.addWidget(self.text, 1)
        self.show_text("")

    def show_busy(self, text: str) -> None:
        self.busy.setVisible(True)
        self._set(text, "busy")

    def show_text(self, text: str, error: bool = False) -> None:
        self.busy.setVisible(False)
        self._set(text, "error" if error else "")

    @property
    def is_busy(self) -> bool:
        return not self.busy.isHidden()

    @property
    def is_error(self) -> bool:
        return self.text.property("level") == "error"

    def _set(self, text: str, level: str) -> None:
        self.text.setText(display_text(text))
        self.text.setProperty("level", level)
        self.text.style().unpolish(self.text)
        self.text.style().polish(self.text)


class GetModelsView(QWidget):
    """Search box and results, the chosen repository's files, and the downloads.

    Signals:
        searchRequested(query), cancelRequested(): start a search, stop what is running.
        repoChosen(repo_id): a result was chosen; its files are wanted.
        judgeRequested(n_ctx, kv_type): the window or cache type changed; judge the files again.
        downloadRequested(key): download the file with that key (`FileRow.key`).
    The download list (`downloads`) has its own signals (pause, resume, cancel, load).
    """

    searchRequested = Signal(str)
    cancelRequested = Signal()
    repoChosen = Signal(str)
    judgeRequested = Signal(int, str)
    downloadRequested = Signal(str)

    def __init__(self, n_ctx: int = 4096, kv_type: str = "f16",
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.repo_id = ""
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search the Hugging Face Hub for GGUF models")
        self.query.setAccessibleName("Search the Hub")
        self.query.setClearButtonEnabled(True)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("Primary")
        self.search_button.setAccessibleDescription("Search the Hub for models with GGUF files")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the search")
        self.cancel_button.setAccessibleDescription("Stop the search or file listing now running")
        self.status = StatusLine()
        self.status.show_text(SEARCH_HINT)

        self.results = RepoModel(self)
        self.results_table = _table("Search results",
                                    "Models on the Hub; choose one to see its files.")  # fmt: skip
        self.results_table.setModel(self.results)
        header = self.results_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

        self.files_title = ElidedLabel("Files")  # a long repository name ends in "…"
        self.files_title.setObjectName("SectionTitle")
        self.window_size = QSpinBox()
        self.window_size.setRange(512, 131072)
        self.window_size.setSingleStep(1024)
        self.window_size.setGroupSeparatorShown(True)
        self.window_size.setSuffix(" tokens")
        self.window_size.setValue(n_ctx)
        self.window_size.setKeyboardTracking(False)
        self.window_size.setAccessibleName("Context window")
        self.window_size.setAccessibleDescription("The window the verdicts are worked out for")
        self.kv_type = QComboBox()
        self.kv_type.addItems(KV_TYPES)
        self.kv_type.setCurrentText(kv_type)
        self.kv_type.setAccessibleName("K/V cache type")
        self.kv_type.setAccessibleDescription("The cache type the verdicts are worked out for")
        window_label = QLabel("Window")
        window_label.setBuddy(self.window_size)
        kv_label = QLabel("K/V cache")
        kv_label.setBuddy(self.kv_type)
        self.files = FileModel(self)
        self.files_table = _table("Files", "The repository's GGUF models and whether each fits "
                                  "this machine; the recommended one is starred.")  # fmt: skip
        self.files_table.setModel(self.files)
        header = self.files_table.horizontalHeader()
        # The verdict takes the width left; when it is too long it ends in "…" (tooltip: all).
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(FILE_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        header.setMaximumSectionSize(640)
        self.files_note = ElidedLabel(NO_REPO_HINT)
        self.files_note.setObjectName("Muted")
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("Primary")
        self.download_button.setAccessibleDescription("Download the selected file into your models")

        self.downloads = DownloadList()

        search_row = QHBoxLayout()
        search_row.addWidget(self.query, 1)
        search_row.addWidget(self.search_button)
        search_row.addWidget(self.cancel_button)
        files_head = QHBoxLayout()
        files_head.addWidget(self.files_title, 1)
        files_head.addWidget(window_label)
        files_head.addWidget(self.window_size)
        files_head.addSpacing(8)
        files_head.addWidget(kv_label)
        files_head.addWidget(self.kv_type)
        files_foot = QHBoxLayout()
        files_foot.addWidget(self.files_note, 1)
        files_foot.addWidget(self.download_button)
        files_panel = QWidget()
        files_layout = QVBoxLayout(files_panel)
        files_layout.setContentsMargins(0, 6, 0, 0)
        files_layout.addLayout(files_head)
        files_layout.addWidget(self.files_table, 1)
        files_layout.addLayout(files_foot)
        downloads_panel = QWidget()
        downloads_layout = QVBoxLayout(downloads_panel)
        downloads_layout.setContentsMargins(0, 6, 0, 0)
        downloads_layout.addWidget(self.downloads)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.results_table)
        self.splitter.addWidget(files_panel)
        self.splitter.addWidget(downloads_panel)
        self.splitter.setSizes([170, 200, 250])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(search_row)
        layout.addWidget(self.status)
        layout.addWidget(self.splitter, 1)
        self._connect_signals()
        self._update_buttons()

    def _connect_signals(self) -> None:
        self.query.returnPressed.connect(self.on_search)
        self.search_button.clicked.connect(self.on_search)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.results_table.selectionModel().selectionChanged.connect(self.on_result_chosen)
        self.files_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.files_table.doubleClicked.connect(lambda _index: self.on_download())
        self.download_button.clicked.connect(self.on_download)
        self.window_size.valueChanged.connect(self.on_judge_changed)
        self.kv_type.currentTextChanged.connect(self.on_judge_changed)

    # -- what the controller shows -------------------------------------------------------------

    def show_busy(self, text: str) -> None:
        self.status.show_busy(text)
        self._update_buttons()

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.show_text(text, error)
        self._update_buttons()

    def set_results(self, rows: Sequence[RepoRow]) -> None:
        """Show search results (the files part is emptied until one is chosen)."""
        self.results.set_rows(rows)
        self.set_files("", [], NO_REPO_HINT)
        self._update_buttons()

    def set_files(self, repo_id: str, rows: Sequence[FileRow], note: str = "") -> None:
        """Show `repo_id`'s files; the recommended one is selected."""
        self.repo_id = repo_id
        self.files_title.setText(f"Files of {display_text(repo_id)}" if repo_id else "Files")
        selected = self.selected_file()
        self.files.set_rows(rows)
        target = self.files.row_of(selected) if selected else -1
        target = target if target >= 0 else self.files.recommended_row()
        if target >= 0:
            self.files_table.selectRow(target)
        self.files_note.setText(note)
        self._update_buttons()

    def forget_repo(self) -> None:
        """No repository is shown (its listing failed or was cancelled); choosing one lists it."""
        self.results_table.clearSelection()
        self.set_files("", [], NO_REPO_HINT)

    def selected_repo(self) -> str:
        rows = self.results_table.selectionModel().selectedRows()
        return str(rows[0].data(KEY_ROLE)) if rows else ""

    def selected_file(self) -> str:
        rows = self.files_table.selectionModel().selectedRows()
        return str(rows[0].data(KEY_ROLE)) if rows else ""

    def select_repo(self, repo_id: str) -> None:
        row = self.results.row_of(repo_id)
        if row >= 0:
            self.results_table.selectRow(row)

    def select_file(self, key: str) -> None:
        row = self.files.row_of(key)
        if row >= 0:
            self.files_table.selectRow(row)

    # -- what the person does ------------------------------------------------------------------

    def on_search(self) -> None:
        self.searchRequested.emit(self.query.text().strip())

    def on_result_chosen(self, *_args: object) -> None:
        repo_id = self.selected_repo()
        if repo_id and repo_id != self.repo_id:
            self.repoChosen.emit(repo_id)

    def on_download(self) -> None:
        key = self.selected_file()
        if key and self.download_button.isEnabled():
            self.downloadRequested.emit(key)

    def on_judge_changed(self, *_args: object) -> None:
        self.judgeRequested.emit(self.window_size.value(), self.kv_type.currentText())

    def _update_buttons(self, *_args: object) -> None:
        self.cancel_button.setEnabled(self.status.is_busy)
        key = self.selected_file()
        row = self.files.rows()[self.files.row_of(key)] if key else None
        self.download_button.setEnabled(row is not None and row.complete and not row.downloaded)
        self.download_button.setText("Downloaded" if row is not None and row.downloaded
                                     else "Download")  # fmt: skip


class GetModelsDialog(EnterSafeDialog):
    """The view in a window of its own, opened from the model picker."""

    def __init__(self, view: GetModelsView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Get models")
        self.resize(1040, 800)
        self.view = view
        close = QPushButton("Close")
        close.setAccessibleDescription("Close this window; downloads go on")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        note = QLabel("Downloads go on in the background while this window is closed.")
        note.setObjectName("Muted")
        buttons.addWidget(note, 1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(view, 1)
        layout.addLayout(buttons)
