"""The folders the open chat follows, under its documents: each with how following it goes, and
a button to stop following one."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.display import display_name, display_path
from engine.library.watched import (
    CANNOT_WRITE,
    DISK_FULL,
    MISSING,
    SYNCING,
    UNREADABLE,
    WatchedFolder,
)
from ui.format import plain_tip

# The words after a folder's name, by state.
STATE_TEXT = {
    SYNCING: "catching up",
    MISSING: "not found",
    UNREADABLE: "cannot be read",
    # The folder is fine: the library's disk is not.
    DISK_FULL: "paused, the disk is full",
    CANNOT_WRITE: "paused, the library cannot be saved",
}
PROBLEM_COLOUR = "#b42318"
MAX_ROWS_SHOWN = 3


class WatchedFoldersView(QWidget):
    """Signals: stopRequested(folder: str)."""

    stopRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel("Watched folders")
        self.heading.setObjectName("Muted")
        self.list = QListWidget()
        self.list.setAccessibleName("Watched folders")
        self.list.setAccessibleDescription(
            "Folders this chat follows: new, changed and deleted files update its documents."
        )
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.stop_button = QPushButton("Stop watching")
        self.stop_button.setAccessibleName("Stop watching the selected folder")
        self.stop_button.setToolTip(
            "Changes in the folder no longer reach this chat; its documents stay"
        )
        self.stop_button.setAccessibleDescription(self.stop_button.toolTip())
        self.stop_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.heading, 1)
        row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.list)
        self.stop_button.clicked.connect(self._on_stop)
        self.list.itemSelectionChanged.connect(self._update_button)
        self.setVisible(False)

    def set_folders(self, folders: Sequence[WatchedFolder]) -> None:
        """Show these folders (hidden when there are none), keeping the selection."""
        selected = self.selected()
        self.list.clear()
        for folder in folders:
            state = STATE_TEXT.get(folder.state, "")
            text = display_name(folder.path) + (f" — {state}" if state else "")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, folder.path)
            tip = display_path(folder.path)
            item.setToolTip(plain_tip(f"{tip}\n{folder.message}" if folder.message else tip))
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
            if folder.state in (MISSING, UNREADABLE, DISK_FULL, CANNOT_WRITE):
                item.setForeground(QColor(PROBLEM_COLOUR))
            self.list.addItem(item)
            if folder.path == selected:
                item.setSelected(True)
        self.setVisible(bool(folders))
        # As tall as its folders, up to three; more scroll.
        rows = max(1, min(len(folders), MAX_ROWS_SHOWN))
        frame = 2 * self.list.frameWidth()
        self.list.setFixedHeight(rows * max(self.list.sizeHintForRow(0), 18) + frame + 2)
        self._update_button()

    def folders(self) -> list[str]:
        """The folders shown, in order."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def text_of(self, folder: str) -> str:
        """The line shown for `folder` ("" when it is not shown)."""
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == folder:
                return self.list.item(i).text()
        return ""

    def select(self, folder: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == folder)

    def selected(self) -> str:
        items = self.list.selectedItems()
        return str(items[0].data(Qt.ItemDataRole.UserRole)) if items else ""

    def _on_stop(self) -> None:
        folder = self.selected()
        if folder:
            self.stopRequested.emit(folder)

    def _update_button(self) -> None:
        self.stop_button.setEnabled(bool(self.selected()))
