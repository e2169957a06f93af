"""The main window: conversations on the left, the chat in the middle, documents on the right,
gauges along the bottom. Files dropped anywhere on it are offered to the chat.

It is a view: it holds the widgets and turns input into signals; app.controller does the work.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui.chat_view import ChatView
from ui.composer import Composer
from ui.conversation_list import ConversationList
from ui.documents_panel import DocumentsPanel
from ui.drop_overlay import DropOverlay
from ui.elided_label import ElidedLabel
from ui.gauges.gauge_bar import GaugeBar
from ui.model_status import ModelStatus
from ui.notice_bar import NoticeBar

# The chat's title keeps room for about this many characters; the model button gives way first.
TITLE_MIN_CHARS = 16
# The narrowest the chat column is made when the documents panel opens beside it.
CHAT_MIN_WIDTH = 480


def quit_sequences() -> list[QKeySequence]:
    """The platform's Quit keys, with Ctrl+Q always among them (Windows has no standard one)."""
    keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
    ctrl_q = QKeySequence("Ctrl+Q")
    return keys if ctrl_q in keys else [*keys, ctrl_q]


class MainWindow(QMainWindow):
    """Signals: filesDropped(paths: tuple[str]), settingsRequested(), modelsRequested(),
    exportRequested(), benchRequested(), closing()."""

    filesDropped = Signal(object)
    settingsRequested = Signal()
    modelsRequested = Signal()
    exportRequested = Signal()
    benchRequested = Signal()
    closing = Signal()

    def __init__(self) -> None:
        super().__init__()
        # Asked before the window closes; False keeps it open (see app.controller).
        self.close_guard: Callable[[], bool] | None = None
        self.setWindowTitle("Hearth")
        self.setAcceptDrops(True)
        self._list_hidden_for_panel = False
        self._settled = False  # fitted to the screen once its frame is known (showEvent)
        self._set_minimum_width(760)  # widened to what the visible panes need (_fit_panes)
        self._fit_to_screen(1280, 820)

        self.conversations = ConversationList()
        self.chat = ChatView()
        self.composer = Composer()
        self.notice = NoticeBar()
        self.documents = DocumentsPanel()
        self.gauges = GaugeBar()
        self.model_status = ModelStatus()

        self.title = ElidedLabel("New chat", min_chars=TITLE_MIN_CHARS)
        self.title.setObjectName("GaugeValue")
        self.title.setStyleSheet("font-size: 12pt;")
        self.documents_button = QPushButton("Documents")
        self.documents_button.setCheckable(True)
        self.documents_button.setToolTip("Show this chat's documents (Ctrl+D)")
        self.documents_button.setAccessibleDescription(self.documents_button.toolTip())
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Save this chat as Markdown, with its sources")
        self.export_button.setAccessibleDescription(self.export_button.toolTip())
        self.bench_button = QPushButton("Benchmark")
        self.bench_button.setToolTip(
            "Compare models and quantized variants: speed, memory, quality (Ctrl+Shift+B)"
        )
        self.bench_button.setAccessibleDescription(self.bench_button.toolTip())
        self.settings_button = QPushButton("Settings")
        self.settings_button.setToolTip("Model, context, sampling and appearance (Ctrl+,)")
        self.settings_button.setAccessibleDescription(self.settings_button.toolTip())
        header = QHBoxLayout()
        header.setContentsMargins(18, 10, 12, 6)
        header.addWidget(self.title, 1)
        for widget in (
            self.model_status,
            self.documents_button,
            self.export_button,
            self.bench_button,
            self.settings_button,
        ):
            header.addWidget(widget)

        self.chat_area = chat_area = QWidget()
        chat_area.setObjectName("ChatArea")
        column = QVBoxLayout(chat_area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(header)
        column.addWidget(self.chat, 1)
        bottom = QVBoxLayout()
        bottom.setContentsMargins(24, 6, 24, 12)
        bottom.setSpacing(6)
        bottom.addWidget(self.notice)
        bottom.addWidget(self.composer)
        column.addLayout(bottom)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.conversations)
        self.splitter.addWidget(chat_area)
        self.splitter.addWidget(self.documents)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 760, 380])
        self.conversations.setMinimumWidth(180)
        self.documents.setVisible(False)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.splitter, 1)
        outer.addWidget(self.gauges)
        self.setCentralWidget(central)
        self.overlay = DropOverlay(central)
        self._connect_signals()
        self._fit_panes()

    def _connect_signals(self) -> None:
        self.documents_button.toggled.connect(self._on_documents_toggled)
        self.settings_button.clicked.connect(self.settingsRequested)
        self.export_button.clicked.connect(self.exportRequested)
        self.bench_button.clicked.connect(self.benchRequested)
        self.model_status.clicked.connect(self.modelsRequested)
        QShortcut(QKeySequence("Ctrl+N"), self, self.conversations.newRequested.emit)
        QShortcut(QKeySequence("Ctrl+L"), self, self.focus_composer)
        QShortcut(QKeySequence("Ctrl+,"), self, self.settingsRequested.emit)
        QShortcut(QKeySequence("Ctrl+D"), self, self.documents_button.toggle)
        QShortcut(QKeySequence("Ctrl+Shift+B"), self, self.benchRequested.emit)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self._on_escape)
        # Quitting closes this window, so it ends as the close button ends it (see closeEvent);
        # it works from Hearth's other windows too, unless a dialog waits for an answer.
        quit_keys = QShortcut(self)
        quit_keys.setKeys(quit_sequences())
        quit_keys.setContext(Qt.ShortcutContext.ApplicationShortcut)
        quit_keys.activated.connect(self.close)

    # Actions

    def show_startup_failure(self, reason: str) -> None:
        """Hearth's engine could not start: say so, and take no message that nothing would
        answer (or keep)."""
        self.model_status.set_failed(None)
        self.composer.setEnabled(False)
        self.composer.setToolTip("Hearth could not start: nothing can be asked.")
        self.notice.show_message(f"Hearth could not start: {reason}", "error")

    def focus_composer(self) -> None:
        self.composer.edit.setFocus()

    def show_documents(self, visible: bool = True) -> None:
        self.documents_button.setChecked(visible)

    def _on_documents_toggled(self, visible: bool) -> None:
        self.documents.setVisible(visible)
        if not visible and self.documents.isAncestorOf(self.focusWidget()):
            self.focus_composer()  # focus never stays on a hidden control
        sizes = self.splitter.sizes()
        if visible and sizes[2] < 380:
            # First shown: give it room for its table without squeezing the chat below 480, or
            # below what its title row needs.
            chat_min = max(CHAT_MIN_WIDTH, self.chat_area.minimumSizeHint().width())
            extra = min(380 - sizes[2], max(0, sizes[1] - chat_min))
            self.splitter.setSizes([sizes[0], sizes[1] - extra, sizes[2] + extra])
        self._fit_panes()
        QTimer.singleShot(0, self._fit_panes)  # again once the splitter has counted its panes

    def _fit_panes(self) -> None:
        """Keep the window at least as wide as its visible panes need side by side, so that none
        is squeezed below what it shows (header buttons cut to "ocument"). On a screen too
        narrow for the documents panel beside the chat list, the list steps aside while the
        panel is open."""
        panel_open = self.documents_button.isChecked()
        if not panel_open and self._list_hidden_for_panel:
            self._list_hidden_for_panel = False
            self.conversations.setVisible(True)
        screen = self._screen_room().width()
        if panel_open and self.conversations.isVisible() and self._panes_width() > screen:
            self._list_hidden_for_panel = True
            self.conversations.setVisible(False)
        width = self.width()
        self._set_minimum_width(max(760, self._panes_width()))
        if self.width() != width:  # grown to the right: pulled back onto the screen
            self._keep_on_screen()

    def _set_minimum_width(self, width: int) -> None:
        """Ask for at least `width` (and 480 high), never more than the screen has room for: a
        minimum the screen cannot hold would push the window's edge off it."""
        room = self._screen_room()
        frame = self._frame_extra()
        self.setMinimumSize(
            min(width, room.width() - frame.width()), min(480, room.height() - frame.height())
        )

    def _screen_room(self) -> QRect:
        """The part of the window's screen that windows may take (less task bars and docks)."""
        screen = QGuiApplication.screenAt(self.frameGeometry().center()) or self.screen()
        if screen is None:
            return QRect(0, 0, 1 << 16, 1 << 16)
        return screen.availableGeometry()

    def _frame_extra(self) -> QRect:
        """How much wider and taller the window's frame (title bar, borders) makes it."""
        frame = self.frameGeometry()
        return QRect(0, 0, frame.width() - self.width(), frame.height() - self.height())

    def _keep_on_screen(self) -> None:
        """Shrink the window, then move it, so that all of it, frame included, lies within the
        room of the screen it is on."""
        room = self._screen_room()
        extra = self._frame_extra()
        width = min(self.width(), room.width() - extra.width())
        height = min(self.height(), room.height() - extra.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        left = max(room.left(), min(frame.left(), room.right() + 1 - frame.width()))
        top = max(room.top(), min(frame.top(), room.bottom() + 1 - frame.height()))
        if (left, top) != (frame.left(), frame.top()):
            self.move(left, top)  # a window's position is its frame's

    def _panes_width(self) -> int:
        """Width the visible panes, the splitter's handles and the gauge row need."""
        central = self.centralWidget()
        layout = central.layout() if central is not None else None
        if layout is not None:
            layout.invalidate()
        return central.minimumSizeHint().width() if central is not None else 0

    def set_document_count(self, count: int) -> None:
        self.documents_button.setText(f"Documents ({count})" if count else "Documents")

    def _on_escape(self) -> None:
        if self.composer.is_busy():
            self.composer.stopRequested.emit()
        else:
            self.notice.dismiss()

    # Layout memory

    def layout_state(self) -> dict[str, str | bool]:
        return {
            "window.geometry": bytes(self.saveGeometry().toBase64().data()).decode(),
            "window.splitter": bytes(self.splitter.saveState().toBase64().data()).decode(),
            "window.documents_visible": self.documents_button.isChecked(),
        }

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at the preferred size, or smaller so the frame and gauges stay on screen."""
        room = self._screen_room()
        width = min(width, int(room.width() * 0.92))
        height = min(height, int(room.height() * 0.9))
        self.resize(max(width, 760), max(height, 480))
        self._keep_on_screen()

    def restore_layout(self, values: dict) -> None:
        """Show the window as it was last closed, moved and shrunk to fit the screen it is on now
        (a smaller screen, a screen gone, a panel that needs more width than there is)."""
        if values.get("window.geometry"):
            self.restoreGeometry(QByteArray.fromBase64(values["window.geometry"].encode()))
        if values.get("window.splitter"):
            self.splitter.restoreState(QByteArray.fromBase64(values["window.splitter"].encode()))
        self.show_documents(bool(values.get("window.documents_visible")))
        self._keep_on_screen()

    # Drag and drop

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        urls = [url for url in event.mimeData().urls() if url.isLocalFile()]
        if not urls:
            return
        event.acceptProposedAction()
        models = all(url.toLocalFile().lower().endswith(".gguf") for url in urls)
        self.overlay.show_for(
            "Drop to add this model" if models else "Drop to add to this chat's documents"
        )

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragLeaveEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        self.overlay.hide()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.overlay.hide()
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(tuple(paths))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if not self._settled:
            self._settled = True
            # The frame (title bar, borders) is known once the window is up: fit it in as well.
            QTimer.singleShot(0, self._settle_on_screen)

    def _settle_on_screen(self) -> None:
        self._fit_panes()
        self._keep_on_screen()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        if self.close_guard is not None and not self.close_guard():
            event.ignore()  # the person chose to keep the window open
            return
        self.closing.emit()
        super().closeEvent(event)
