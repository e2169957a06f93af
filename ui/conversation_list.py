"""The sidebar: search box, New chat button and the conversations, newest first."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.format import plain_tip


class ConversationList(QWidget):
    """Signals: selected(id), newRequested(), renameRequested(id, title), deleteRequested(id),
    exportRequested(id), searchChanged(text)."""

    selected = Signal(int)
    newRequested = Signal()
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    exportRequested = Signal(int)
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("Primary")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.setAccessibleDescription(self.new_button.toolTip())
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search chats")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search chats")
        self.search.setAccessibleDescription("Finds chats by title and by what was said in them")
        self.list = QListWidget()
        self.list.setAccessibleName("Chats")
        self.list.setAccessibleDescription(
            "Newest first. F2 renames, Delete deletes, the menu key shows more actions"
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setUniformItemSizes(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)

        # Searching hits the database: wait for a pause in typing.
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(lambda: self.searchChanged.emit(self.search.text()))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.new_button.clicked.connect(self.newRequested)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.customContextMenuRequested.connect(self._on_menu)
        self.list.itemDoubleClicked.connect(lambda item: self.ask_rename(self._id(item)))
        for keys, slot in ((QKeySequence(Qt.Key.Key_F2), self._rename_current),
                           (QKeySequence(QKeySequence.StandardKey.Delete), self._delete_current)):  # fmt: skip
            shortcut = QShortcut(keys, self.list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        self._quiet = False

    def set_conversations(self, conversations, current_id: int | None) -> None:
        """Show `conversations` (objects with id and title) and select `current_id`."""
        self._quiet = True
        self.list.clear()
        for conversation in conversations:
            item = QListWidgetItem(conversation.title)
            item.setData(Qt.ItemDataRole.UserRole, conversation.id)
            item.setToolTip(plain_tip(conversation.title))
            self.list.addItem(item)
            if conversation.id == current_id:
                self.list.setCurrentItem(item)
        self._quiet = False

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return self._id(item) if item else None

    def ids(self) -> list[int]:
        return [self._id(self.list.item(i)) for i in range(self.list.count())]

    def ask_rename(self, conversation_id: int) -> None:
        item = self._item(conversation_id)
        if item is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Name:", text=item.text())
        if ok and title.strip():
            self.renameRequested.emit(conversation_id, title.strip())

    def _rename_current(self) -> None:
        if (current := self.current_id()) is not None:
            self.ask_rename(current)

    def _delete_current(self) -> None:
        if (current := self.current_id()) is not None:
            self.deleteRequested.emit(current)

    @staticmethod
    def _id(item: QListWidgetItem) -> int:
        return int(item.data(Qt.ItemDataRole.UserRole))

    def _item(self, conversation_id: int) -> QListWidgetItem | None:
        for index in range(self.list.count()):
            if self._id(self.list.item(index)) == conversation_id:
                return self.list.item(index)
        return None

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and not self._quiet:
            self.selected.emit(self._id(current))

    def _on_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        conversation_id = self._id(item)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.ask_rename(conversation_id))
        menu.addAction("Export as Markdown…", lambda: self.exportRequested.emit(conversation_id))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.deleteRequested.emit(conversation_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))
