"""Builds the running app around the main window: store, settings, the worker threads, the library
process and the controllers, wires them together (all of it in `_connect_signals`), and takes it
all down cleanly on close."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from app.after_paint import after_next_paint
from app.api_server_controller import ServerController
from app.background import run_in_background, wait_for_background
from app.bench_controller import BenchController
from app.chat_controller import ChatController
from app.conversation import CurrentConversation
from app.conversations_controller import ConversationsController
from app.deleted_chats import ChatFolder, purge_deleted_chats, remove_chat_folders
from app.document_controller import DocumentController
from app.draft import DraftKeeper
from app.hub_controller import HubController
from app.index_worker import IndexClient
from app.library.client import LibraryClient
from app.library.protocol import DocumentText, RerankSkipped, Search
from app.memory_monitor import MemoryMonitor
from app.model_controller import ModelController
from app.model_worker import ModelClient
from app.page_renderer import PageRenderer
from app.paths import AppPaths, new_model_session, styles_dir
from app.remote_controller import RemoteController
from app.settings import Settings
from engine.chat_store import ChatStore, ChatStoreError
from engine.errors import HearthError, as_sentence
from engine.remote import ConnectionStore
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog
from ui.theme import apply_theme

if TYPE_CHECKING:
    from engine.cancel import CancelToken
    from engine.chat.engine import LocalEngine
    from engine.library.answer import Source

log = logging.getLogger(__name__)

# The longest the first model load waits for the window's paint (app.after_paint falls back
# sooner; this bounds the wait should the event loop be held up).
PAINT_WAIT_S = 1.0

# Delay between the first model load and importing the document stack in the background.
WARM_UP_DELAY_MS = 1500


class AppController(QObject):
    """Owns everything behind the window. `start()` restores chats and begins loading the model.

    Args:
        libraries: The document library client; the library process when None.
        engine: What runs the model on the model thread; llama.cpp here when None.

    `warm_up_delay_ms` (None turns it off) is how long after the first model load the document
    stack is imported in the background.
    """

    warm_up_delay_ms: int | None = WARM_UP_DELAY_MS
    # A search asked for reranking and kept its own order; the reason (from the library's thread).
    rerankSkipped = Signal(str)

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        paths: AppPaths,
        libraries: LibraryClient | None = None,
        engine: LocalEngine | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.paths = paths
        self.store = ChatStore(paths.chats_db)
        self.current = CurrentConversation(self.store, self)
        self.libraries = libraries or LibraryClient(
            paths.libraries_dir, paths.log_dir / "library.log"
        )
        # Everything that reads documents runs in the library process, away from the window.
        libraries = self.libraries
        self.model = ModelClient(
            retrieve=self._search_documents,
            read=lambda path, max_chars: libraries.call(DocumentText(str(path), max_chars)),
            engine=engine or _local_engine(paths),
        )
        self.index = IndexClient(libraries)
        self.renderer = PageRenderer(render=libraries.call)
        self.memory = MemoryMonitor(helper_pids=libraries.running_pids)
        self.conversations = ConversationsController(window, self.current, self.store)
        self.documents = DocumentController(window, self.current, self.store, self.model,
                                            self.index, self.renderer, settings,
                                            paths.libraries_dir)  # fmt: skip
        self.chats = ChatController(window, self.current, self.store, self.model, settings,
                                    library_for=self.documents.library_for)  # fmt: skip
        self.models = ModelController(window, self.model, settings)
        self.bench = BenchController(window, self.model, settings, paths)
        self.hub = HubController(window, settings, lambda: self.model.loaded_model, paths, self)
        self.remotes = RemoteController(window, self.model, self.models,
                                        ConnectionStore(paths.remotes_file))  # fmt: skip
        self.server = ServerController(window, self.model, settings)
        self.draft = DraftKeeper(window.composer, paths.draft_file, self)
        self.settings_dialog: SettingsDialog | None = None
        self._shut_down = False
        self._warm_up_scheduled = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        """Every link between the controllers, the workers and the window outside their own."""
        self.memory.sampled.connect(self.window.gauges.show_snapshot)
        self.documents.modelFilesDropped.connect(self.models.on_model_files_dropped)
        self.documents.promptDocumentsChanged.connect(self.chats.show_context)
        self.conversations.deleting.connect(self.chats.stop_for)
        self.chats.replyEnded.connect(lambda _id: self.conversations.refresh_list())
        self.model.loaded.connect(self._warm_up_documents_once)
        self.window.settingsRequested.connect(self.show_settings)
        self.rerankSkipped.connect(self._on_rerank_skipped)
        self.models.getModelsRequested.connect(self.hub.show)
        self.hub.downloaded.connect(self.models.on_model_downloaded)
        self.hub.loadRequested.connect(self.models.load)
        self.window.close_guard = self.chats.may_close
        self.window.closing.connect(self.shutdown)
        self.settings.changed.connect(self.on_setting_changed)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.aboutToQuit.connect(self.shutdown)
            app.styleHints().colorSchemeChanged.connect(
                lambda _scheme: self.on_setting_changed("appearance.theme", None)
            )

    def _warm_up_documents_once(self, _loaded: object) -> None:
        # After the first model load, while the person reads or types, not during start-up.
        if not self._warm_up_scheduled and self.warm_up_delay_ms is not None:
            self._warm_up_scheduled = True
            QTimer.singleShot(self.warm_up_delay_ms, self.index.warm_up)

    def start(self) -> None:
        if self.store.read_only is not None:
            self.window.notice.show_message(
                f"{as_sentence(self.store.read_only.message)} Your chats are shown, but nothing "
                "new can be saved: make the folder writable and start Hearth again, or set "
                "HEARTH_HOME to a folder you can write to.",
                "error",
            )
            leftovers: list[ChatFolder] = []
        else:
            leftovers = self._purge_deleted_chats()
        for problem in self.settings.problems:
            self.window.notice.show_message(problem, "error")
        self.conversations.restore()
        self.draft.restore()
        # A first load reads the model's header in Python: the model thread waits until the
        # window has painted the chats just restored (see app.after_paint). The load is queued
        # now all the same, so a question asked meanwhile waits behind it.
        painted = threading.Event()
        self.model.submit(lambda _engine, _task: painted.wait(PAINT_WAIT_S))
        after_next_paint(self.window, painted.set)
        self.models.start()
        self.server.start()
        self._follow_folders_after(leftovers)
        self.window.focus_composer()

    def _purge_deleted_chats(self) -> list[ChatFolder]:
        """Remove for good the chats deleted in earlier sessions; returns the library folders
        of chats that no longer exist, to remove (see app.deleted_chats)."""
        try:
            return purge_deleted_chats(self.store, self.paths.libraries_dir)
        except ChatStoreError as exc:  # a busy or failing disk: they are removed another time
            log.warning("Deleted chats were not removed: %s", exc)
            return []

    def _follow_folders_after(self, leftovers: list[ChatFolder]) -> None:
        """Follow the watched folders, once the libraries of deleted chats are gone: followed
        first, a deleted chat's folders would be read into its library again."""
        if not leftovers:
            self.documents.start()
            return
        libraries = self.libraries

        def follow(_result: object = None) -> None:
            if not self._shut_down:
                self.documents.start()

        def failed(exc: Exception) -> None:
            log.warning("The libraries of deleted chats were not all removed: %s", exc)
            follow()

        run_in_background(lambda: remove_chat_folders(libraries, leftovers), follow, failed)

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings.values(), self.window)
        self.server.attach(dialog)  # its key is saved before the settings restart the server
        dialog.applied.connect(self.apply_settings)
        dialog.tokenEntered.connect(self.hub.save_token)
        self.hub.token_stored(dialog.set_token_stored)
        self.settings_dialog = dialog
        dialog.open()

    def apply_settings(self, values: Mapping[str, Any]) -> None:
        try:
            self.settings.update(dict(values))
        except (ValueError, HearthError) as exc:  # a refused value, or a disk that refused
            self.window.notice.show_message(str(exc), "error")

    def _search_documents(
        self, library: str, question: str, k: int, cancel: CancelToken
    ) -> tuple[Source, ...]:
        """A reply's search (on the model thread), reranked when the setting asks; Stop ends a
        rerank early (see engine.chat.answer.Retrieve)."""

        def on_event(event: object) -> None:
            if isinstance(event, RerankSkipped):
                self.rerankSkipped.emit(event.reason)

        rerank = bool(self.settings.get("chat.rerank_sources"))
        return self.libraries.call(Search(library, question, k, rerank=rerank),
                                   on_event=on_event, cancel=cancel)  # fmt: skip

    def _on_rerank_skipped(self, reason: str) -> None:
        self.window.notice.show_message(
            f"{reason} Rerank excerpts can be turned off in Settings, Chat.",
            "warning",
            topic="rerank",
        )

    def on_setting_changed(self, key: str, _value: object) -> None:
        if key == "appearance.theme":
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, self.settings.get("appearance.theme"), styles_dir())
            # Redraw the chat so code colours follow the new theme.
            QTimer.singleShot(0, lambda: self.current.open(self.current.id))

    def shutdown(self) -> None:
        """Save the layout, stop the workers, close the store. Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.window.close_guard = None  # whatever is left unsaved was decided at the close
        self.draft.save()
        try:
            self.settings.update(self.window.layout_state())
        except Exception:
            log.exception("Saving the window layout failed")
        self.chats.save_unfinished(closing=True)
        # A benchmark run is told to stop first: the model thread it runs on is waited for next.
        self.bench.stop()
        self.hub.shutdown()
        # The model thread first: a benchmark running there stops without loading the chat
        # model again (see ModelClient.run_aside).
        # The API server's requests run on the model thread: stop taking them first.
        self.server.shutdown()
        self.remotes.shutdown()
        self.model.shutdown()
        self.bench.shutdown()
        # Closing the library process answers every call the worker threads still wait on.
        self.libraries.close()
        self.index.shutdown()
        self.renderer.shutdown()
        self.memory.shutdown()
        wait_for_background(3000)
        self.store.close()


def _local_engine(paths: AppPaths) -> LocalEngine:
    """The llama.cpp engine, opening model files never loaded before in a child process first,
    remembered across runs (see engine/model_probe.py), so no model file can take the window down."""
    from engine.chat.engine import LocalEngine

    return LocalEngine(new_model_session(paths))
