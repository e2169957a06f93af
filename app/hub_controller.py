"""The window's side of the Hugging Face Hub: the "Get models" view's searches, file lists with
verdicts, and downloads, all off the GUI thread.

Searches and file listings run on two `SerialWorker`s of their own, newest request only; a
cancelled or replaced request's answer is dropped. Downloads run on the engine's `DownloadQueue`
(one after another, each paused, resumed or cancelled from here); its progress records reach the
GUI thread through a signal. Nothing reaches the network until the person searches or downloads:
opening the view reads only the disk (downloads an earlier run left unfinished).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.background import run_in_background
from app.paths import AppPaths
from app.settings import Settings
from app.worker import SerialWorker
from engine.errors import HearthError, describe
from ui.get_models_view import SEARCH_HINT, GetModelsDialog, GetModelsView
from ui.hub_tables import FileRow, RepoRow

if TYPE_CHECKING:
    from engine.chat.engine import LoadedModel
    from engine.hub.connection import HubConnection
    from engine.hub.listing import RepoListing, RepoSummary
    from engine.hub.progress import DownloadProgress
    from engine.hub.queue import DownloadQueue
    from engine.hub.verdict import RepoAssessment

log = logging.getLogger(__name__)

# Seconds a worker may take to stop at exit: a request in flight ends by its own timeouts.
STOP_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RepoFiles:
    """A repository's listing and its verdicts, as the files job returns them."""

    listing: RepoListing
    assessment: RepoAssessment
    downloaded: frozenset[str] = frozenset()  # names of its models already in this computer's


def repo_rows(found: list[RepoSummary]) -> list[RepoRow]:
    """Search results as the view's rows."""
    rows = []
    for r in found:
        rows.append(RepoRow(r.repo_id, r.author, r.downloads, r.likes, r.last_modified[:10],
                            r.license, r.has_chat_template, r.gated))  # fmt: skip
    return rows


def file_rows(
    assessment: RepoAssessment, downloaded: frozenset[str] = frozenset()
) -> list[FileRow]:
    """A repository's models with their verdicts as the view's rows: the verdict in the words
    the model picker and `hearth models files` use, with any note on what was changed (a window
    capped at the model's trained length) in view; how the verdict was reached in the tooltip."""
    from engine.context.fit import cache_words

    rows = []
    for model, verdict in assessment.rows:
        cache = cache_words((verdict.kv_type, verdict.kv_type))
        detail = [
            f"Judged at {verdict.n_ctx:,} tokens with {cache}, for RAM and VRAM together.",
            *(note[:1].upper() + note[1:].rstrip(".") + "." for note in verdict.notes),
        ]
        rows.append(FileRow(
            key=model.name, name=model.name, quant=model.quant, size=model.size,
            parts=len(model.parts), verdict=verdict.line, placement=verdict.placement,
            by_size=not verdict.from_header, recommended=model == assessment.recommended,
            detail="\n".join(detail), complete=model.complete,
            downloaded=model.name in downloaded,
        ))  # fmt: skip
    return rows


def files_note(files: RepoFiles) -> str:
    """The line under the files: the recommendation, or why there is none; the licence; and
    what the verdicts changed from the request (a window capped at the trained length), which
    the rows say too but a narrow window may cut off."""
    listing, assessment = files.listing, files.assessment
    if not listing.models:
        return f"{listing.repo_id} has no GGUF files."
    licence = f"Licence: {listing.license or 'unknown'}" + (", gated" if listing.gated else "")
    notes = dict.fromkeys(v.shown_notes for _, v in assessment.rows if v.shown_notes)
    changed = "".join(f" {note[:1].upper()}{note[1:].rstrip('.')}." for note in notes)
    if assessment.problem:
        problem = assessment.problem[:1].lower() + assessment.problem[1:]
        return f"{licence}. Verdicts estimated from file sizes alone: {problem}{changed}"
    recommended = assessment.recommended
    if recommended is None:
        return f"None of these fits this machine with room to spare. {licence}.{changed}"
    return f"★ Recommended here: {recommended.name}. {licence}.{changed}"


class HubController(QObject):
    """Runs the "Get models" view.

    Args:
        window: The main window (parent of the view's window, and where notices go).
        settings: For the Hub address and the window/cache type the verdicts start from.
        loaded_model: The model loaded now (its memory counts as free for the verdicts).
        paths: Where downloads go.

    Signals:
        downloaded(path): a model finished downloading and joined the catalog.
        loadRequested(path): the person asked to load a downloaded model.
    """

    downloaded = Signal(str)
    loadRequested = Signal(str)
    # From the download queue's thread to the GUI thread.
    _progress = Signal(object)

    def __init__(
        self,
        window: QWidget,
        settings: Settings,
        loaded_model: Callable[[], LoadedModel | None],
        paths: AppPaths,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.settings = settings
        self.loaded_model = loaded_model
        self.paths = paths
        self.view: GetModelsView | None = None
        self.dialog: GetModelsDialog | None = None
        self.files: RepoFiles | None = None
        self._searches: SerialWorker | None = None
        self._listings: SerialWorker | None = None
        self._queue: DownloadQueue | None = None
        self._token: str | None = None  # read from the keyring on first use, off the GUI thread
        self._endpoint = str(settings.get("hub.endpoint"))
        self._request = 0  # the newest search or listing; answers to older ones are dropped
        self._closed = False
        self._progress.connect(self.on_progress)
        settings.changed.connect(self.on_setting_changed)

    # -- the view -------------------------------------------------------------------------------

    def show(self) -> None:
        """Open the view (built on first use; reads unfinished downloads from the disk only)."""
        if self.dialog is None:
            values = self.settings.values()
            self.view = GetModelsView(values["model.context_size"], values["model.kv_type"])
            self.dialog = GetModelsDialog(self.view, self.window)
            self._connect_view(self.view)
            self._restore_unfinished()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        assert self.view is not None
        self.view.query.setFocus()

    def _connect_view(self, view: GetModelsView) -> None:
        view.searchRequested.connect(self.search)
        view.cancelRequested.connect(self.cancel)
        view.repoChosen.connect(self.choose_repo)
        view.judgeRequested.connect(self.judge_again)
        view.downloadRequested.connect(self.download)
        view.downloads.pauseRequested.connect(lambda job: self.queue().pause(job))
        view.downloads.resumeRequested.connect(lambda job: self.queue().resume(job))
        view.downloads.cancelRequested.connect(lambda job: self.queue().cancel(job))
        view.downloads.loadRequested.connect(self.loadRequested)

    # -- search and files -----------------------------------------------------------------------

    def search(self, query: str) -> None:
        """Search the Hub for `query` (newest request only)."""
        from engine.hub.listing import search

        view = self._view()
        if not query.strip():
            view.show_message(SEARCH_HINT, error=True)
            return
        endpoint = self._endpoint
        try:
            host = self._host(endpoint)
        except HearthError as exc:
            view.show_message(str(exc), error=True)
            return
        request = self._next_request()
        # The last search's results go now: a failed search must not leave them under this query.
        self.files = None
        view.set_results([])
        view.show_busy(f"Searching {host} for “{query}”…")
        self._searcher().run(
            lambda _task: search(self._connection(endpoint), query),
            on_done=lambda found: self._on_results(request, query, found),
            on_error=lambda exc: self._on_failed(request, exc),
            latest="search",
        )

    def choose_repo(self, repo_id: str) -> None:
        """List `repo_id`'s GGUF files and judge each on this machine (newest request only)."""
        from engine.context.fit import MachineMemory
        from engine.hub.listing import list_models
        from engine.hub.verdict import assess_repo

        view = self._view()
        endpoint = self._endpoint
        n_ctx, kv_type = view.window_size.value(), view.kv_type.currentText()
        freed, flash = self._freed(), self._flash_attn()
        request = self._next_request()
        self.files = None
        view.set_files(repo_id, [], "")
        view.show_busy(f"Reading the files of {repo_id} and one file's header…")

        def work(_task: Any) -> RepoFiles:
            connection = self._connection(endpoint)
            listing = list_models(connection, repo_id)
            memory = MachineMemory.probe(*freed)
            return RepoFiles(listing, assess_repo(connection, listing, memory, n_ctx, kv_type,
                                                  flash_attn=flash),
                             self._already_downloaded(listing))  # fmt: skip

        self._lister().run(work, on_done=lambda files: self._on_files(request, files),
                           on_error=lambda exc: self._on_failed(request, exc, listing=True),
                           latest="files")  # fmt: skip

    def judge_again(self, n_ctx: int, kv_type: str) -> None:
        """Judge the files shown at another window or cache type (headers already read: no
        network)."""
        from engine.context.fit import MachineMemory
        from engine.hub.verdict import judge_listing

        files = self.files
        if files is None:
            return
        freed, flash = self._freed(), self._flash_attn()

        def work(_task: Any) -> RepoFiles:
            old = files.assessment
            assessment = judge_listing(files.listing, dict(old.headers), MachineMemory.probe(*freed),
                                       n_ctx, kv_type, old.problem, flash)  # fmt: skip
            return RepoFiles(files.listing, assessment, files.downloaded)

        request = self._request
        self._lister().run(work, on_done=lambda again: self._on_files(request, again),
                           on_error=lambda exc: self._on_failed(request, exc),
                           latest="files")  # fmt: skip

    def cancel(self) -> None:
        """Stop waiting for the search or listing in flight; its answer is dropped."""
        self._next_request()
        for worker in (self._searches, self._listings):
            if worker is not None:
                worker.queue.cancel_all()
        view = self._view()
        if self.files is None:
            view.forget_repo()
        view.show_message("Cancelled.")

    def _on_results(self, request: int, query: str, found: list[RepoSummary]) -> None:
        if request != self._request or self.view is None:
            return
        self.files = None
        self.view.set_results(repo_rows(found))
        if found:
            many = "s" if len(found) != 1 else ""
            self.view.show_message(f"{len(found)} model{many} with GGUF files match “{query}”. "
                                   "Choose one to see its files.")  # fmt: skip
        else:
            self.view.show_message(f"No models with GGUF files match “{query}”.")

    def _on_files(self, request: int, files: RepoFiles) -> None:
        if request != self._request or self.view is None:
            return
        self.files = files
        self.view.set_files(files.listing.repo_id, file_rows(files.assessment, files.downloaded),
                            files_note(files))  # fmt: skip
        count = len(files.listing.models)
        asked = self.view.window_size.value()  # a model trained for less is judged at that
        self.view.show_message(f"{files.listing.repo_id}: {count} GGUF model"
                               f"{'s' if count != 1 else ''}, judged at {asked:,} tokens."
                               if count else f"{files.listing.repo_id} has no GGUF files.")  # fmt: skip

    def _on_failed(self, request: int, exc: Exception, listing: bool = False) -> None:
        from app.jobs import JobCancelled

        if request != self._request or self.view is None or isinstance(exc, JobCancelled):
            return
        if not isinstance(exc, HearthError):
            log.error("Hub request failed", exc_info=exc)
        if listing:
            self.view.forget_repo()  # choosing it again tries again
        self.view.show_message(describe(exc), error=True)

    # -- downloads ------------------------------------------------------------------------------

    def download(self, key: str) -> None:
        """Queue the shown repository's model `key` (a paused one resumes)."""
        from engine.hub.download import DownloadRequest

        files = self.files
        model = next((m for m in files.listing.models if m.name == key), None) if files else None
        if files is None or model is None:
            return
        self.queue().add(DownloadRequest(model, files.listing.license))

    def queue(self) -> DownloadQueue:
        """The download queue (made on first use; it starts no thread until a job is added)."""
        if self._queue is None:
            from engine.catalog import ModelCatalog
            from engine.hub.queue import DownloadQueue
            from engine.hub.store import DownloadStore

            store = DownloadStore(self.paths.models_dir, self.paths.downloads_dir)
            self._queue = DownloadQueue(lambda: self._connection(self._endpoint), store,
                                        ModelCatalog(self.paths.models_file),
                                        self._progress.emit)  # fmt: skip
        return self._queue

    def on_progress(self, progress: DownloadProgress) -> None:
        from engine.hub.progress import DownloadState

        if self._closed:
            return
        if self.view is not None:
            self.view.downloads.show_progress(progress)
        if progress.state == DownloadState.DONE and progress.path:
            self.downloaded.emit(progress.path)
            files = self.files
            if files is not None and files.listing.repo_id == progress.repo_id:
                request = self._request
                self._on_files(
                    request, replace(files, downloaded=files.downloaded | {progress.name})
                )

    def _already_downloaded(self, listing: RepoListing) -> frozenset[str]:
        """Names of the listing's models already in this computer's models (reads the catalog)."""
        from engine.catalog import ModelCatalog
        from engine.hub.store import DownloadStore

        store = DownloadStore(self.paths.models_dir, self.paths.downloads_dir)
        have = {Path(r.path) for r in ModelCatalog(self.paths.models_file).downloads()}
        return frozenset(m.name for m in listing.models
                         if store.final_path(m, 0) in have and store.final_path(m, 0).is_file())  # fmt: skip

    def _restore_unfinished(self) -> None:
        """List downloads an earlier run left unfinished, paused (nothing is sent anywhere)."""
        from engine.hub.download import DownloadRequest
        from engine.hub.store import DownloadStore

        store = DownloadStore(self.paths.models_dir, self.paths.downloads_dir)

        def restore(found: list[Any]) -> None:
            for model, done in found:
                self.queue().restore(DownloadRequest(model), done)

        # On the listings' thread: the shared background thread may be busy reading model files.
        self._lister().run(lambda _task: store.unfinished(), on_done=restore,
                           on_error=lambda exc: log.warning("%s", exc))  # fmt: skip

    # -- settings and the token -----------------------------------------------------------------

    def on_setting_changed(self, key: str, value: object) -> None:
        if key == "hub.endpoint":
            self._endpoint = str(value)

    def save_token(self, token: str) -> None:
        """Keep `token` in the system keyring ("" deletes it), off the GUI thread; says how it
        went in the window."""
        from engine.hub.token import save_token

        def saved(_result: object) -> None:
            self._token = token.strip()
            words = "stored in the system keyring" if token.strip() else "deleted"
            self._notice(f"The Hub access token was {words}.")

        run_in_background(lambda: save_token(token), saved,
                          lambda exc: self._notice(describe(exc), "error"))  # fmt: skip

    def token_stored(self, callback: Callable[[bool], None]) -> None:
        """Call `callback(stored)` on the GUI thread once the keyring has been asked."""

        def read() -> bool:
            from engine.hub.token import load_token

            self._token = load_token()
            return bool(self._token)

        run_in_background(read, callback, lambda _exc: callback(False))

    def shutdown(self) -> None:
        """Stop the workers and pause the running download (its part is kept). Safe twice."""
        if self._closed:
            return
        self._closed = True
        for worker in (self._searches, self._listings):
            if worker is not None:
                worker.shutdown(STOP_TIMEOUT_S)
        if self._queue is not None:
            self._queue.close()

    # -- helpers --------------------------------------------------------------------------------

    def _view(self) -> GetModelsView:
        if self.view is None:
            self.show()
        assert self.view is not None
        return self.view

    def _searcher(self) -> SerialWorker:
        if self._searches is None:
            self._searches = SerialWorker("hub-search", self)
        return self._searches

    def _lister(self) -> SerialWorker:
        if self._listings is None:
            self._listings = SerialWorker("hub-files", self)
        return self._listings

    def _next_request(self) -> int:
        self._request += 1
        return self._request

    def _freed(self) -> tuple[int, int]:
        loaded = self.loaded_model()
        return (loaded.ram_bytes, loaded.vram_bytes) if loaded else (0, 0)

    def _flash_attn(self) -> bool | None:
        """Flash attention as the model picker's fit check takes it, for the same numbers."""
        return True if self.settings.get("model.flash_attention") else None

    @staticmethod
    def _host(endpoint: str) -> str:
        from urllib.parse import urlsplit

        from engine.hub.connection import resolve_endpoint

        return urlsplit(resolve_endpoint(endpoint)).netloc

    def _connection(self, endpoint: str) -> HubConnection:
        """The Hub as the settings say, with the stored token (a worker's thread: the keyring
        may take a moment)."""
        from engine.hub.connection import HubConnection, resolve_endpoint
        from engine.hub.token import load_token

        if self._token is None:
            self._token = load_token()
        return HubConnection(resolve_endpoint(endpoint), self._token)

    def _notice(self, text: str, level: str = "info") -> None:
        notice = getattr(self.window, "notice", None)
        if notice is not None:
            notice.show_message(text, level)
