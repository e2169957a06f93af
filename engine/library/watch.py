"""Keep a library in step with the folders it was given: new, changed, moved and deleted files
are indexed again or removed on their own.

`FolderWatcher.run()` starts watching the folders (watchfiles: inotify, FSEvents,
ReadDirectoryChangesW), then brings the library up to date with them (one ordinary
`Library.index` call: files changed while nobody watched are caught here, and changes made
during that call are already being collected), then gathers the changes the operating system
reports until the folders have been quiet for `debounce_ms` (a file being saved, copied or
unpacked, or a checkout of a thousand files, causes a burst of events) and applies each batch:
paths that are there now are indexed (unchanged ones are skipped by size and time, as always),
paths that are gone are removed, with the same per-file statuses as any index run. A move is a
removal and an addition.

A folder that goes away (deleted, moved, its drive unplugged) or can no longer be read ends the
watch with `FolderUnavailable`; its documents stay in the library, never removed because the
folder cannot be seen.

It runs on the caller's thread, whose scheduling priority it lowers first, so it can live in any
process: the library process of the window, or `hearth index --watch` in a terminal.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.cancel import CancelToken
from engine.errors import HearthError
from engine.library.discover import is_hidden
from engine.library.formats import is_supported
from engine.library.indexer import INDEX_RESERVE_BYTES, ProgressCallback
from engine.library.priority import lower_thread_priority
from engine.library.types import REMOVED, FileOutcome, IndexReport
from engine.library.watched import UNREADABLE, folder_problem
from engine.storage import StorageError, check_free_space, check_writable

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1000
# How often the watcher checks for a stop request while the folders are quiet.
STEP_MS = 100
# How often a quiet watcher looks whether its folders are still there.
CHECK_EVERY_S = 1.0
# A folder that never falls quiet (a log written every half second) is still indexed this often.
MAX_WAIT_DEBOUNCES = 10

ReportCallback = Callable[[IndexReport], None]


class FolderUnavailable(HearthError):
    """A watched folder cannot be followed now: gone, or not readable.

    Attributes:
        folder: The folder.
        state: `engine.library.watched.MISSING` or `UNREADABLE`.
    """

    def __init__(self, folder: Path, state: str, message: str) -> None:
        super().__init__(message)
        self.folder = folder
        self.state = state


class FolderWatcher:
    """Watches folders and keeps one library in step with them.

    Args:
        library: An open `engine.library.Library`.
        folders: The folders to follow (recursively).
        on_report: Called with the `IndexReport` of each batch of changes (and of the first sync).
        progress: Passed to `Library.index` for per-file progress.
        debounce_ms: Quiet time that ends a batch of changes.
    """

    def __init__(
        self,
        library,
        folders: Iterable[Path | str],
        on_report: ReportCallback | None = None,
        progress: ProgressCallback | None = None,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        self.library = library
        self.folders = [Path(os.path.abspath(os.path.expanduser(str(f)))) for f in folders]
        self.on_report = on_report or (lambda _report: None)
        self.progress = progress
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._cancel = CancelToken()  # stops a batch being indexed at its next page
        self.ready = threading.Event()  # set once the first sync is done and watching began

    def stop(self) -> None:
        """Ask `run()` to return; safe from any thread (it returns within STEP_MS, or at the
        next page of a file being indexed)."""
        self._stop.set()
        self._cancel.cancel()

    def wait_stopped(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for `stop()`; True once it was called."""
        return self._stop.wait(timeout_s)

    def available(self) -> bool:
        """True when every folder can be followed again (checked as at the start)."""
        try:
            self._check(at_start=True)
        except FolderUnavailable:
            return False
        return True

    def library_writable(self) -> bool:
        """True when the library's disk takes writes again (writable, with room for a file):
        a watch paused by a full or read-only disk may start again."""
        folder = self.library.folder
        try:
            check_writable(folder, "index")
            check_free_space(folder, INDEX_RESERVE_BYTES, "index")
        except OSError:
            return False
        return True

    def cancel_batch(self) -> None:
        """Stop the batch being indexed at its next page (its files are left pending and caught
        up at the next start); watching goes on."""
        self._cancel.cancel()

    @property
    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stop.is_set()

    def run(self) -> None:
        """Watch, sync, then follow the folders until `stop()`.

        Raises:
            FolderUnavailable: A folder is gone or cannot be read (at the start or later); no
                document was removed because of it.
            StorageError: The library's disk is full or refuses writes; the files not read
                yet are pending.
        """
        import watchfiles

        lower_thread_priority()
        self.ready.clear()  # run() may follow the folders again after they were gone
        self._check(at_start=True)
        watcher = watchfiles.watch(
            *self.folders,
            watch_filter=self._wanted,
            debounce=self.debounce_ms,
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=STEP_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        pending: set[Path] = set()
        first = last = checked = 0.0
        quiet_s, max_wait_s = self.debounce_ms / 1000, self.debounce_ms * MAX_WAIT_DEBOUNCES / 1000
        try:
            for changes in watcher:
                if self._stop.is_set():
                    break
                now = time.monotonic()
                if changes:
                    pending.update(Path(path) for _change, path in changes)
                    first, last = first or now, now
                if not self.ready.is_set():  # watching has begun: changes from now on are seen
                    self.on_report(self._index(self.folders))
                    self.ready.set()
                    continue
                if pending and (now - last >= quiet_s or now - first >= max_wait_s):
                    batch, pending, first = pending, set(), 0.0
                    self.on_report(self.apply(batch))
                elif not pending and now - checked >= CHECK_EVERY_S:
                    checked = now
                    self._check()
        except (FolderUnavailable, StorageError):  # the library's disk is not the folder's fault
            raise
        except Exception as exc:  # the system refused to watch (no permission, too many watches)
            if self._stop.is_set():
                return
            self._check()
            folder = self.folders[0]
            raise FolderUnavailable(
                folder, UNREADABLE, f"Hearth cannot follow the folder {folder.name}: {exc}"
            ) from exc

    def apply(self, paths: set[Path]) -> IndexReport:
        """Index the paths that are there and remove the ones that are gone; one report.

        Raises:
            FolderUnavailable: A watched folder itself is gone: nothing is removed.
        """
        started = time.perf_counter()
        self._check()
        paths = {p for p in paths if p not in self.folders}  # the folder's own time changed
        present = sorted(p for p in paths if p.exists() or p.is_symlink())
        gone = {p for p in paths if p not in present}
        removed = self._remove(gone) if gone else []
        report = self._index(present) if present else IndexReport(self.library.name)
        # Files inside a folder that went away were removed just above, not by index().
        report.outcomes[:0] = removed
        report.seconds = time.perf_counter() - started
        return report

    def _index(self, paths: list[Path]) -> IndexReport:
        if not self._stop.is_set():
            self._cancel.reset()
        return self.library.index(paths, progress=self.progress, cancel=self._cancel)

    def _check(self, at_start: bool = False) -> None:
        """Raise FolderUnavailable for a folder that is gone or unreadable. At the start an
        empty folder whose files the library holds counts as gone too (an unmounted drive
        leaves its empty mount point): syncing it would remove every document."""
        for folder in self.folders:
            known = self._known_under(folder) if at_start else 0
            problem = folder_problem(folder, known)
            if problem is not None:
                raise FolderUnavailable(folder, *problem)

    def _known_under(self, folder: Path) -> int:
        prefix = str(folder) + os.sep
        return sum(1 for record in self.library.files() if record.path.startswith(prefix))

    def _remove(self, paths: set[Path]) -> list[FileOutcome]:
        """Forget the files at `paths` and under them (a folder moved away)."""
        keys = {str(p) for p in paths}
        prefixes = tuple(key + os.sep for key in keys)
        known = [
            record.path
            for record in self.library.files()  # read once: a checkout removes a thousand files
            if record.path in keys or record.path.startswith(prefixes)
        ]
        outcomes = []
        for known_path in known:
            if self.library.remove_file(known_path):
                outcomes.append(FileOutcome(known_path, REMOVED, "the file is gone"))
        return outcomes

    def _wanted(self, _change, path: str) -> bool:
        """Events worth a look: supported files and folders outside hidden folders."""
        candidate = Path(path)
        for folder in self.folders:
            try:
                parts = candidate.relative_to(folder).parts
            except ValueError:
                continue
            if any(is_hidden(Path(part)) for part in parts):
                return False
            break
        # A deleted folder can no longer be asked whether it is one: accept names without a
        # known suffix too; `apply` sorts them out.
        return is_supported(candidate) or candidate.is_dir() or not candidate.suffix
