"""Documents of the open chat: dropping and adding files, indexing progress, removing, and opening
a cited page in the viewer."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from app.chat_controller import ChatController
from app.index_worker import IndexClient
from app.library_access import library_exists
from app.library_service import display_status
from app.page_renderer import PageRenderer
from engine.chat_store import Conversation
from ui.main_window import MainWindow
from ui.page_viewer import PageViewer

log = logging.getLogger(__name__)


class DocumentController(QObject):
    """Signals: modelFilesDropped(paths) for .gguf files, which are models, not documents."""

    modelFilesDropped = Signal(list)

    def __init__(
        self,
        window: MainWindow,
        chats: ChatController,
        index: IndexClient,
        renderer: PageRenderer,
        libraries_dir: Path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.chats = chats
        self.index = index
        self.renderer = renderer
        self.libraries_dir = Path(libraries_dir)
        self.viewer: PageViewer | None = None
        # Indexed file count per library, as last listed; decides whether a question searches.
        self.indexed_counts: dict[str, int] = {}
        self.indexing = False
        self.skipped_rows: dict[str, dict[str, dict]] = {}
        self._connect_signals()

    def _connect_signals(self) -> None:
        panel = self.window.documents
        self.window.filesDropped.connect(self.on_dropped)
        self.window.composer.attachRequested.connect(self.on_add_files)
        panel.addFilesRequested.connect(self.on_add_files)
        panel.addFolderRequested.connect(self.on_add_folder)
        panel.removeRequested.connect(self.on_remove)
        panel.reindexRequested.connect(self.on_reindex)
        panel.cancelRequested.connect(self.index.cancel)
        panel.openRequested.connect(lambda path: self.open_source({"path": path, "page": 1}))
        self.window.chat.sourceClicked.connect(self.open_source)
        self.chats.conversationChanged.connect(self.on_conversation_changed)
        worker = self.index.worker
        worker.started.connect(self.on_index_started)
        worker.fileProgress.connect(self.on_file_progress)
        worker.finished.connect(self.on_index_finished)
        worker.failed.connect(self.on_index_failed)
        worker.filesListed.connect(self.on_files_listed)
        self.chats.model.worker.documentPlaced.connect(self.on_placed)
        self.renderer.rendered.connect(lambda page: self.viewer and self.viewer.show_page(page))
        self.renderer.failed.connect(lambda text: self.viewer and self.viewer.show_error(text))
        self.renderer.textOnly.connect(
            lambda _path, passage: self.viewer and self.viewer.show_text(passage)
        )

    def library_for(self, conversation: Conversation) -> str:
        """The library a question in `conversation` searches, or "" when it has no documents."""
        name = conversation.library_name
        # A listing can lag behind the end of indexing, so a count of 0 is not trusted: whenever
        # the library exists the model thread looks, and finds nothing if no file is indexed.
        if self.indexed_counts.get(name, 0) > 0 or library_exists(self.libraries_dir, name):
            return name
        return ""

    # Adding

    def on_dropped(self, paths: list[str]) -> None:
        models = [p for p in paths if p.lower().endswith(".gguf")]
        documents = [p for p in paths if not p.lower().endswith(".gguf")]
        if models:
            self.modelFilesDropped.emit(models)
        if documents:
            self.add(documents)

    def on_add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.window,
            "Add documents",
            str(Path.home()),
            "Documents (*.pdf *.epub *.xps *.txt *.md *.markdown *.html *.htm *.docx);;"
            "All files (*)",
        )
        if paths:
            self.add(paths)

    def on_add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Add a folder", str(Path.home()))
        if path:
            self.add([path])

    def add(self, paths: list[str]) -> None:
        """Index `paths` (files or folders) into the open chat's library."""
        conversation = self.chats.ensure_conversation()
        panel = self.window.documents
        files = [str(Path(p).resolve()) for p in paths if Path(p).is_file()]
        for path in files:
            panel.update_file({"path": path, "status": "queued"})
        self.window.show_documents(True)
        # Every file is indexed (for sources and the page viewer); a single file small enough for
        # the chat's remaining budget also goes into the prompt whole. Folders are searched.
        if files:
            self.chats.model.place(self.chats.place_request(conversation, files))
        self.index.index(conversation.library_name, [str(Path(p).resolve()) for p in paths])

    def on_placed(self, conversation_id: int, result: dict) -> None:
        """Remember a whole document with its conversation, and say which way it went."""
        store = self.chats.store
        path = str(result["path"])
        whole = result.get("mode") == "whole"
        if whole:
            store.pin_document(conversation_id, path, str(result["text"]), int(result["tokens"]))
        else:
            store.unpin_document(conversation_id, path)
        current = self.chats.current
        if current is None or current.id != conversation_id:
            return
        self.window.documents.set_placement(path, "whole" if whole else "searched")
        if result.get("unreadable"):
            return  # the indexer's report says what is wrong with the file
        name = Path(path).name
        if whole:
            text = f"{name} is in the prompt whole ({int(result['tokens']):,} tokens)."
        else:
            text = f"{name} will be searched: " + (
                str(result.get("reason") or "") or "its passages are found by search."
            )
        self.window.notice.show_message(text, "info")

    def on_remove(self, paths: list[str]) -> None:
        if self.chats.current is not None:
            for path in paths:
                self.chats.store.unpin_document(self.chats.current.id, path)
            self.index.remove(self.chats.current.library_name, paths)

    def on_reindex(self) -> None:
        if self.chats.current is not None:
            self.index.reindex(self.chats.current.library_name)

    # Progress

    def _is_current(self, library: str) -> bool:
        current = self.chats.current
        return current is not None and current.library_name == library

    def on_conversation_changed(self, conversation: Conversation | None) -> None:
        self.window.documents.set_files([])
        self.window.set_document_count(0)
        if conversation is not None:
            self.index.list_files(conversation.library_name)

    def on_index_started(self, library: str) -> None:
        self.indexing = True
        if self._is_current(library):
            self.window.documents.set_indexing(True, "Indexing…", 0.0)

    def on_file_progress(self, entry: dict) -> None:
        panel = self.window.documents
        panel.update_file(entry)
        count = max(1, int(entry.get("file_count") or 1))
        index = int(entry.get("file_index") or 0)
        within = float(entry.get("progress") or (1.0 if entry["status"] != "indexing" else 0.0))
        panel.set_indexing(
            True,
            f"File {min(index + 1, count)} of {count}: {Path(entry['path']).name}",
            min(1.0, (index + within) / count),
        )

    def on_index_finished(self, library: str, report: dict) -> None:
        self.indexing = False
        self.window.documents.set_indexing(False)
        parts = []
        if report.get("indexed"):
            parts.append(f"{report['indexed']} indexed")
        if report.get("unchanged"):
            parts.append(f"{report['unchanged']} unchanged")
        files = report.get("files", [])
        failed = [f for f in files if display_status(f.get("status", "")) == "failed"]
        skipped = [f for f in files if display_status(f.get("status", "")) == "skipped"]
        # Skipped files are not in the library's manifest; keep them listed with the reason.
        self.skipped_rows[library] = {
            f["path"]: {"path": f["path"], "status": "skipped", "error": f.get("message") or ""}
            for f in skipped
        }
        if failed:
            parts.append(f"{len(failed)} not indexed")
        if skipped:
            parts.append(f"{len(skipped)} skipped")
        text = "Documents: " + (", ".join(parts) if parts else "nothing new")
        if report.get("cancelled"):
            text += " (cancelled)"
        if failed:
            first = failed[0]
            text += f". {Path(first['path']).name}: {first.get('message') or first['status']}"
        only_failures = failed and not (report.get("indexed") or report.get("unchanged"))
        self.window.notice.show_message(text + ".", "error" if only_failures else "info")

    def on_index_failed(self, library: str, message: str) -> None:
        self.indexing = False
        self.window.documents.set_indexing(False)
        self.window.notice.show_message(message, "error")

    def on_files_listed(self, library: str, files: list) -> None:
        self.indexed_counts[library] = sum(1 for f in files if f["status"] == "indexed")
        if self._is_current(library):
            listed = {f["path"] for f in files}
            extra = [row for path, row in self.skipped_rows.get(library, {}).items()
                     if path not in listed]  # fmt: skip
            panel = self.window.documents
            current = self.chats.current
            whole = (
                {d.path for d in self.chats.store.pinned_documents(current.id)}
                if current
                else set()
            )
            panel.set_placements({f["path"]: "whole" if f["path"] in whole else "searched"
                                  for f in files})  # fmt: skip
            panel.set_files(files + extra)
            self.window.set_document_count(len(files))

    # Viewer

    def open_source(self, source: dict) -> None:
        if self.viewer is None:
            self.viewer = PageViewer(self.window)
            self.viewer.pageRequested.connect(self.renderer.request)
        self.viewer.open_source(
            str(source.get("path", "")), int(source.get("page") or 1), source.get("excerpt", "")
        )
