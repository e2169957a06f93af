"""Documents of the open chat: dropping and adding files, indexing progress, removing, and opening
a cited page in the viewer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from app import conversation as prompts
from app.conversation import CurrentConversation
from app.index_worker import INDEX_TOPIC, IndexClient, watch_topic
from app.library.libraries import library_exists
from app.model_worker import ModelClient
from app.page_renderer import PageRenderer
from app.settings import Settings
from engine.chat_store import ChatStore, ChatStoreError, Conversation
from engine.library.formats import file_dialog_filter
from engine.library.notes import note_warnings, warning_heading
from engine.library.types import INDEXED, place_label
from ui.documents_model import FileRow
from ui.main_window import MainWindow
from ui.page_viewer import PageViewer

if TYPE_CHECKING:
    from engine.chat.placement import Placement
    from engine.library.answer import Source
    from engine.library.types import (
        Evidence,
        FileOutcome,
        FileProgress,
        FileRecord,
        IndexReport,
    )
    from engine.library.watched import WatchedFolder
    from engine.page_render import RenderedPage

log = logging.getLogger(__name__)


def _warnings_said(outcomes: Sequence[FileOutcome]) -> tuple[int, str]:
    """The files an index run read with warnings, for its notice: how many, and what they have
    ("with damaged pages (cut.pdf: 10 of 30 pages cannot be read)"); (0, "") when none has
    one. A note of plain information (pages read by OCR) is left to the documents panel."""
    warned = [(o, note_warnings(o.message)) for o in outcomes if o.status == INDEXED]
    warned = [(outcome, parts) for outcome, parts in warned if parts]
    if not warned:
        return 0, ""
    heading = warning_heading(part.kind for _, parts in warned for part in parts)
    first, parts = warned[0]
    detail = f"{Path(first.path).name}: {', '.join(part.short for part in parts)}"
    if len(warned) > 1:
        others = len(warned) - 1
        which = "the other is" if others == 1 else f"the other {others:,} are"
        detail += f"; {which} noted in the documents panel"
    return len(warned), f"{heading} ({detail})"


class DocumentController(QObject):
    """Signals: modelFilesDropped(paths: tuple[str]) for .gguf files, which are models, not
    documents; promptDocumentsChanged() when the open chat gains or loses a document placed
    whole in its prompt (its context use changed)."""

    modelFilesDropped = Signal(object)
    promptDocumentsChanged = Signal()

    def __init__(
        self,
        window: MainWindow,
        current: CurrentConversation,
        store: ChatStore,
        model: ModelClient,
        index: IndexClient,
        renderer: PageRenderer,
        settings: Settings,
        libraries_dir: Path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.current = current
        self.store = store
        self.model = model
        self.index = index
        self.renderer = renderer
        self.settings = settings
        self.libraries_dir = Path(libraries_dir)
        self.viewer: PageViewer | None = None
        # Indexed file count per library, as last listed; decides whether a question searches.
        self.indexed_counts: dict[str, int] = {}
        self.indexing = False
        # Skipped files are not in the library's manifest; they stay listed with the reason.
        self.skipped_rows: dict[str, dict[str, FileRow]] = {}
        # The folders each library follows, as last reported, by path.
        self.watched: dict[str, dict[str, WatchedFolder]] = {}
        # Files of an upgraded library already sent to be read again, by library.
        self.read_again: dict[str, set[str]] = {}
        self._connect_signals()

    def _connect_signals(self) -> None:
        panel = self.window.documents
        self.window.filesDropped.connect(self.on_dropped)
        self.window.composer.attachRequested.connect(self.on_add_files)
        self.window.composer.attachFolderRequested.connect(self.on_add_folder)
        panel.addFilesRequested.connect(self.on_add_files)
        panel.addFolderRequested.connect(self.on_add_folder)
        panel.removeRequested.connect(self.on_remove)
        panel.reindexRequested.connect(self.on_reindex)
        panel.cancelRequested.connect(self.index.cancel)
        panel.openRequested.connect(self.open_file)
        panel.stopWatchingRequested.connect(self.on_stop_watching)
        self.window.chat.sourceClicked.connect(self.open_source)
        self.window.chat.evidenceClicked.connect(self.open_evidence)
        self.current.changed.connect(self.on_conversation_changed)
        self.index.started.connect(self.on_index_started)
        self.index.fileProgress.connect(self.on_file_progress)
        self.index.finished.connect(self.on_index_finished)
        self.index.failed.connect(self.on_index_failed)
        self.index.filesListed.connect(self.on_files_listed)
        self.index.foldersListed.connect(self.on_folders_listed)
        self.index.folderState.connect(self.on_folder_state)
        self.index.watchProgress.connect(self.on_watch_progress)
        self.index.watchReport.connect(self.on_watch_report)
        self.model.documentPlaced.connect(self.on_placed)
        self.renderer.rendered.connect(self.on_page_rendered)
        self.renderer.failed.connect(self.on_page_failed)
        self.renderer.textOnly.connect(self.on_page_text)

    def start(self) -> None:
        """Follow the folders that were watched when Hearth last ran (nothing starts when none
        were)."""
        from engine.library.watched import all_watched_folders

        if all_watched_folders(self.libraries_dir):
            self.index.follow()

    def library_for(self, conversation: Conversation) -> str:
        """The library a question in `conversation` searches, or "" when it has no documents."""
        name = conversation.library_name
        # A listing can lag behind the end of indexing, so a count of 0 is not trusted: whenever
        # the library exists the model thread looks, and finds nothing if no file is indexed.
        if self.indexed_counts.get(name, 0) > 0 or library_exists(self.libraries_dir, name):
            return name
        return ""

    # Adding

    def on_dropped(self, paths: Sequence[str]) -> None:
        models = tuple(p for p in paths if p.lower().endswith(".gguf"))
        documents = [p for p in paths if not p.lower().endswith(".gguf")]
        if models:
            self.modelFilesDropped.emit(models)
        if documents:
            self.add(documents)

    def on_add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.window, "Add documents", str(Path.home()), file_dialog_filter()
        )
        if paths:
            self.add(paths)

    def on_add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Add a folder", str(Path.home()))
        if path:
            self.add([path])

    def add(self, paths: Sequence[str]) -> None:
        """Index `paths` (files or folders) into the open chat's library."""
        from engine.library.types import QUEUED

        conversation = self.current.ensure()
        resolved = [str(Path(p).resolve()) for p in paths]
        files = [p for p in resolved if Path(p).is_file()]
        for path in files:
            self.window.documents.update_file_row(FileRow(path, QUEUED))
        self.window.show_documents(True)
        # Every file is indexed (for sources and the page viewer); a file small enough for the
        # chat's remaining budget also goes into the prompt whole. Folders are searched.
        if files:
            self.model.place(prompts.documents_to_place(self.store, self.settings.values(),
                                                        conversation, files))  # fmt: skip
        self.index.index(conversation.library_name, resolved)
        # A folder is followed from now on: its new, changed and deleted files update the chat.
        for folder in (p for p in resolved if Path(p).is_dir()):
            self.index.watch(conversation.library_name, folder)

    def on_placed(self, placement: Placement) -> None:
        """Remember a whole document with its conversation, and say which way it went."""
        path = placement.path
        try:
            if placement.whole:
                self.store.pin_document(placement.conversation_id, path, placement.text,
                                        placement.tokens)  # fmt: skip
            else:
                self.store.unpin_document(placement.conversation_id, path)
        except ChatStoreError as exc:  # a full or read-only disk: the file is still indexed
            self.window.notice.show_message(str(exc), "error")
            return
        if not self.current.is_(placement.conversation_id):
            return
        self.window.documents.set_placement(path, "whole" if placement.whole else "searched")
        self.promptDocumentsChanged.emit()
        if placement.unreadable:
            return  # the indexer's report says what is wrong with the file
        name = Path(path).name
        if placement.whole:
            text = f"{name} is in the prompt whole ({placement.tokens:,} tokens)."
        else:
            text = f"{name} will be searched" + (
                f". {placement.reason}"
                if placement.reason
                else ": its passages are found by search."
            )
        self.window.notice.show_message(text, "info")

    def on_remove(self, paths: Sequence[str]) -> None:
        conversation = self.current.conversation
        if conversation is not None:
            try:
                for path in paths:
                    self.store.unpin_document(conversation.id, path)
                # Earlier questions were read with excerpts of these files: send them as typed.
                self.store.forget_prompts(conversation.id)
            except ChatStoreError as exc:
                self.window.notice.show_message(str(exc), "error")
                return
            self.promptDocumentsChanged.emit()
            self.index.remove(conversation.library_name, paths)
            self._say_watched_files_return(conversation.library_name, paths)

    def _say_watched_files_return(self, library: str, paths: Sequence[str]) -> None:
        """A file taken out of a folder the chat follows is read again when it changes there:
        say so, and how to keep it out, rather than have it come back unannounced."""
        folders = [Path(folder) for folder in self.watched.get(library, {})]
        inside = [p for p in paths if any(Path(p).is_relative_to(f) for f in folders)]
        if not inside:
            return
        which = Path(inside[0]).name if len(inside) == 1 else f"{len(inside):,} of these files"
        self.window.notice.show_message(
            f"{which} will come back if {'it changes' if len(inside) == 1 else 'they change'} in "
            "the folder this chat follows. To keep it out for good, move it out of the folder, or "
            "stop watching the folder.",
            "info",
        )

    def on_stop_watching(self, folder: str) -> None:
        """Stop following `folder`. Its documents stay in the chat (they are still what the
        person gave it); Remove takes them out."""
        conversation = self.current.conversation
        if conversation is None:
            return
        self.index.stop_watching(conversation.library_name, folder)
        self.window.notice.show_message(
            f"Hearth no longer follows {Path(folder).name}. Its documents stay in this chat; "
            "select them and press Remove to take them out.",
            "info",
        )

    def on_reindex(self) -> None:
        if self.current.conversation is not None:
            self.index.reindex(self.current.conversation.library_name)

    # Progress

    def _is_current(self, library: str) -> bool:
        conversation = self.current.conversation
        return conversation is not None and conversation.library_name == library

    def on_conversation_changed(self, conversation: Conversation | None) -> None:
        self.window.documents.set_file_rows([])
        self.window.documents.set_watched_folders([])
        self.window.set_document_count(0)
        if conversation is not None:
            self.index.list_files(conversation.library_name)

    def on_index_started(self, library: str) -> None:
        self.indexing = True
        if self._is_current(library):
            self.window.documents.set_indexing(True, "Indexing…", 0.0)

    def on_file_progress(self, progress: FileProgress) -> None:
        if progress.status == INDEXED:  # indexing works again: an earlier failure is past
            self.window.notice.withdraw(INDEX_TOPIC)
        panel = self.window.documents
        panel.update_file_row(FileRow(progress.path, progress.status, progress.error,
                                      progress.pages, progress.chunks, progress.fraction))  # fmt: skip
        count = max(1, progress.file_count)
        within = progress.fraction or (1.0 if progress.status != "indexing" else 0.0)
        panel.set_indexing(
            True,
            f"File {min(progress.file_index + 1, count)} of {count}: {Path(progress.path).name}",
            min(1.0, (progress.file_index + within) / count),
        )

    def on_index_finished(self, library: str, report: IndexReport) -> None:
        from engine.library.types import display_status

        self.indexing = False
        self.window.documents.set_indexing(False)
        skipped = [o for o in report.all_outcomes if display_status(o.status) == "skipped"]
        self.skipped_rows[library] = {
            o.path: FileRow(o.path, "skipped", o.message or "") for o in skipped
        }
        self._tell(report)

    def _tell(self, report: IndexReport, source: str = "Documents") -> None:
        """One notice saying what an index run did."""
        from engine.library.types import REMOVED, display_status

        outcomes = report.all_outcomes
        failed = [o for o in outcomes if display_status(o.status) == "failed"]
        skipped = [o for o in outcomes if display_status(o.status) == "skipped"]
        parts = []
        count, warned = _warnings_said(outcomes)
        # "1 indexed with damaged pages (…)" when every file read has them, not "1 indexed,
        # 1 with damaged pages", which reads as two files.
        every = bool(warned) and count == report.indexed
        if report.indexed:
            parts.append(f"{report.indexed} indexed" + (f" {warned}" if every else ""))
        if report.unchanged:
            parts.append(f"{report.unchanged} unchanged")
        if report.removed:
            parts.append(f"{report.removed} removed")
        if warned and not every:
            parts.append(f"{count} {warned}")
        if failed:
            parts.append(f"{len(failed)} not indexed")
        if skipped:
            parts.append(f"{len(skipped)} skipped")
        text = f"{source}: " + (", ".join(parts) if parts else "nothing new")
        if report.cancelled:
            text += " (cancelled)"
        if failed:
            first = failed[0]
            text += f". {Path(first.path).name}: {first.message or first.status}"
        gone = [Path(o.path).name for o in outcomes if o.status == REMOVED]
        if gone:
            # Say which, so a file that was only moved can be dropped again from its new place.
            names = ", ".join(gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
            were = "it was" if len(gone) == 1 else "they were"
            text += (f". {names} {'is' if len(gone) == 1 else 'are'} no longer where {were}, so "
                     f"{were} taken out; drop a moved file again to add it back")  # fmt: skip
        only_failures = failed and not (report.indexed or report.unchanged or report.removed)
        level = "error" if only_failures else "warning" if warned else "info"
        self.window.notice.show_message(text + ".", level)

    def on_index_failed(self, library: str, message: str, topic: str = "") -> None:
        self.indexing = False
        self.window.documents.set_indexing(False)
        self.window.notice.show_message(message, "error", topic=topic)

    # Watched folders

    def on_folders_listed(self, library: str, folders: Sequence[WatchedFolder]) -> None:
        self.watched[library] = {folder.path: folder for folder in folders}
        for folder in folders:
            self._withdraw_watch_failure(folder)
        self._show_watched(library)

    def _withdraw_watch_failure(self, folder: WatchedFolder) -> None:
        """A folder followed now: a failure to start watching it no longer holds."""
        if folder.followed:
            self.window.notice.withdraw(watch_topic(folder.path))

    def on_folder_state(self, folder: WatchedFolder) -> None:
        self._withdraw_watch_failure(folder)
        known = self.watched.setdefault(folder.library, {})
        before = known.get(folder.path)
        known[folder.path] = folder
        self._show_watched(folder.library)
        lost = not folder.followed and folder.message
        if not folder.followed and (before is None or before.followed):
            # A batch it stopped in the middle of sends no report: the listing says where each
            # file stands (pending, with why), rather than "indexing" for good.
            if self._is_current(folder.library) and not self.indexing:
                self.window.documents.set_indexing(False)
            self.index.list_files(folder.library)
        topic = f"watch:{folder.path}"  # "followed again" replaces the notice that it was lost
        if lost and self._is_current(folder.library) and (before is None or before.followed):
            self.window.notice.show_message(folder.message, "error", topic=topic)
        elif folder.followed and before is not None and not before.followed:
            name = Path(folder.path).name or folder.path
            self.window.notice.show_message(f"Following {name} again.", topic=topic)

    def on_watch_progress(self, library: str, progress: FileProgress) -> None:
        if self._is_current(library):
            self.on_file_progress(progress)

    def on_watch_report(self, library: str, folder: str, report: IndexReport) -> None:
        """A batch of a watched folder's changes is done: the same rows and words as a drop.
        Files passed over (a pipe, a broken link) get their rows quietly; a batch that changed
        nothing (a catch-up that found nothing new) says nothing at all."""
        from engine.library.types import UNCHANGED, display_status

        if self._is_current(library) and not self.indexing:
            self.window.documents.set_indexing(False)
        rows = self.skipped_rows.setdefault(library, {})
        relist = False
        for outcome in report.all_outcomes:
            if outcome.status == UNCHANGED:
                continue
            relist = True
            if display_status(outcome.status) == "skipped":
                rows[outcome.path] = FileRow(outcome.path, "skipped", outcome.message or "")
            else:
                rows.pop(outcome.path, None)
        if not relist:
            return
        news = report.indexed or report.removed or report.failed
        if news and self._is_current(library):
            self._tell(report, f"{Path(folder).name} changed")
        self.index.list_files(library)

    def _show_watched(self, library: str) -> None:
        if self._is_current(library):
            folders = self.watched.get(library, {}).values()
            self.window.documents.set_watched_folders(sorted(folders, key=lambda f: f.path))

    def on_files_listed(self, library: str, files: Sequence[FileRecord]) -> None:
        from engine.library.types import display_status, in_library

        rows = [FileRow(f.path, display_status(f.status), f.error or "", f.pages, f.chunks)
                for f in files]  # fmt: skip
        self.indexed_counts[library] = sum(1 for row in rows if row.status == "indexed")
        conversation = self.current.conversation
        if conversation is None or conversation.library_name != library:
            return
        self._read_again_if_upgraded(library, files)
        listed = {row.path for row in rows}
        extra = [row for path, row in self.skipped_rows.get(library, {}).items()
                 if path not in listed]  # fmt: skip
        whole = {doc.path for doc in self.store.pinned_documents(conversation.id)}
        panel = self.window.documents
        panel.set_placements({row.path: "whole" if row.path in whole else "searched"
                              for row in rows})  # fmt: skip
        panel.set_file_rows(rows + extra)
        self.window.set_document_count(sum(1 for row in rows if in_library(row.status)))

    def _read_again_if_upgraded(self, library: str, files: Sequence[FileRecord]) -> None:
        """Read again the files an upgrade left unstamped (engine/library/manifest.py: today's
        extraction reads them better), once per session, at the indexer's low priority. Until
        then their old passages still answer. A file not where it was is left for the person:
        its drive may only be unplugged."""
        asked = self.read_again.setdefault(library, set())
        stale = [f.path for f in files
                 if f.read_again and f.path not in asked and Path(f.path).is_file()]  # fmt: skip
        if not stale:
            return
        asked.update(stale)
        self.index.index(library, stale)
        documents = "1 document" if len(stale) == 1 else f"{len(stale):,} documents"
        them = "it" if len(stale) == 1 else "them"
        self.window.notice.show_message(
            f"Reading {documents} again: this version of Hearth reads {them} better.", "info"
        )

    # Viewer

    def _viewer(self) -> PageViewer:
        if self.viewer is None:
            self.viewer = PageViewer(self.window)
            self.viewer.pageRequested.connect(self.renderer.request)
        return self.viewer

    def open_source(self, source: Source) -> None:
        """Show the cited page with the passage highlighted."""
        self._viewer().open_source(source.file, source.page or 1, source.excerpt,
                                   place_label(source.page, source.location))  # fmt: skip

    def open_evidence(self, evidence: Evidence) -> None:
        """Show the page an evidence line comes from with its sentences highlighted."""
        self._viewer().open_source(evidence.file, evidence.page or 1, evidence.text,
                                   place_label(evidence.page, evidence.location))  # fmt: skip

    def open_file(self, path: str) -> None:
        self._viewer().open_source(path, 1, "")

    def on_page_rendered(self, path: str, page: RenderedPage) -> None:
        if self.viewer is not None:
            self.viewer.show_page(path, page)

    def on_page_text(self, _path: str, passage: str) -> None:
        if self.viewer is not None:
            self.viewer.show_text(passage)

    def on_page_failed(self, message: str) -> None:
        if self.viewer is not None:
            self.viewer.show_error(message)
