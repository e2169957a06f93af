"""Builds the running app around the main window: store, settings, worker threads and the three
controllers (chat, documents, model), and takes it all down cleanly on close."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.background import run_in_background, wait_for_background
from app.chat_controller import ChatController
from app.document_controller import DocumentController
from app.index_worker import IndexClient
from app.library_process import LibraryProcess
from app.memory_monitor import MemoryMonitor
from app.model_controller import ModelController
from app.model_worker import ModelClient
from app.page_renderer import PageRenderer
from app.paths import AppPaths
from app.settings import Settings
from engine.chat_store import ChatStore
from engine.errors import HearthError
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog
from ui.theme import apply_theme

log = logging.getLogger(__name__)

# Delay between the first model load and importing the document stack in the background.
WARM_UP_DELAY_MS = 1500


def remove_chat_libraries(libraries: LibraryProcess, conversation_ids: list[int]) -> None:
    """Delete the document libraries of chats that were deleted for good."""
    for conversation_id in conversation_ids:
        try:
            libraries.remove_library(f"chat-{conversation_id}")
        except HearthError as exc:
            log.warning("Could not remove the library of chat %s: %s", conversation_id, exc)


class AppController(QObject):
    """Owns everything behind the window. `start()` restores chats and begins loading the model.

    `warm_up_delay_ms` (None turns it off) is how long after the first model load the document
    stack is imported in the background.
    """

    warm_up_delay_ms: int | None = WARM_UP_DELAY_MS

    def __init__(self, window: MainWindow, settings: Settings, paths: AppPaths) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.paths = paths
        self.store = ChatStore(paths.chats_db)
        self.libraries = LibraryProcess(paths.libraries_dir, paths.log_dir / "library.log")
        # Everything that reads documents runs in the library process, away from the window.
        self.model = ModelClient(
            retriever=self.libraries.search, reader=self.libraries.document_text
        )
        self.index = IndexClient(self.libraries)
        self.renderer = PageRenderer(render=self.libraries.render_page)
        self.memory = MemoryMonitor(helper_pids=self.libraries.running_pids)
        self.chats = ChatController(window, self.store, self.model, settings)
        self.documents = DocumentController(
            window, self.chats, self.index, self.renderer, paths.libraries_dir
        )
        self.chats.library_for = self.documents.library_for
        self.models = ModelController(window, self.model, settings)
        self.settings_dialog: SettingsDialog | None = None
        self._shut_down = False
        self._warm_up_scheduled = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.memory.sampled.connect(self.window.gauges.memory.set_snapshot)
        self.documents.modelFilesDropped.connect(self.models.on_model_files_dropped)
        self.model.worker.loaded.connect(self._warm_up_documents_once)
        self.window.settingsRequested.connect(self.show_settings)
        self.window.closing.connect(self.shutdown)
        self.settings.changed.connect(self.on_setting_changed)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
            app.styleHints().colorSchemeChanged.connect(
                lambda _scheme: self.on_setting_changed("appearance.theme", None)
            )

    def _warm_up_documents_once(self, _info: dict) -> None:
        # After the first model load, while the person reads or types, not during start-up.
        if not self._warm_up_scheduled and self.warm_up_delay_ms is not None:
            self._warm_up_scheduled = True
            QTimer.singleShot(self.warm_up_delay_ms, self.index.warm_up)

    def start(self) -> None:
        purged = self.store.purge_deleted()
        if purged:
            log.info("Removed %d deleted chats", len(purged))
            run_in_background(lambda: remove_chat_libraries(self.libraries, purged),
                              lambda _result: None)  # fmt: skip
        for problem in self.settings.problems:
            self.window.notice.show_message(problem, "error")
        self.chats.restore()
        self.models.start()
        self.window.focus_composer()

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings.values(), self.window)
        dialog.applied.connect(self.apply_settings)
        self.settings_dialog = dialog
        dialog.open()

    def apply_settings(self, values: dict) -> None:
        try:
            self.settings.update(values)
        except ValueError as exc:
            self.window.notice.show_message(str(exc), "error")

    def on_setting_changed(self, key: str, _value) -> None:
        if key == "appearance.theme":
            app = QApplication.instance()
            apply_theme(app, self.settings.get("appearance.theme"))
            # Re-render so code colours follow the new theme.
            QTimer.singleShot(
                0, lambda: self.chats.open(self.chats.current.id if self.chats.current else None)
            )

    def shutdown(self) -> None:
        """Save the layout, stop the workers, close the store. Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        try:
            self.settings.update(self.window.layout_state())
        except Exception:
            log.exception("Saving the window layout failed")
        reply = self.chats.reply
        if reply is not None:
            self.store.update_message(reply.message_id, reply.text)
        self.model.shutdown()
        # Stopping the library process answers every call the worker threads still wait on.
        self.libraries.close()
        self.index.shutdown()
        self.renderer.shutdown()
        self.memory.shutdown()
        wait_for_background(3000)
        # Results the stopped workers queued before they ended must not reach a closed store.
        QCoreApplication.removePostedEvents(None, QEvent.Type.MetaCall)
        self.store.close()
