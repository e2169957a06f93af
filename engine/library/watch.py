"""Keep a library in step with the folders it was given: new, changed, moved and deleted files
are indexed again or removed on their own.

`FolderWatcher.run()` first brings the library up to date with the folders (one ordinary
`Library.index` call: files changed while nobody watched are caught here), then waits for
changes reported by the operating system (watchfiles: inotify, FSEvents, ReadDirectoryChangesW),
gathers them until the folders have been quiet for `debounce_ms` (a file being saved, copied or
unpacked causes a burst of events), and applies each batch: paths that are there now are indexed
(unchanged ones are skipped by size and time, as always), paths that are gone are removed, with
the same per-file statuses as any index run. A move is a removal and an addition.

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

from engine.library.discover import is_hidden
from engine.library.formats import is_supported
from engine.library.indexer import ProgressCallback
from engine.library.priority import lower_thread_priority
from engine.library.types import REMOVED, FileOutcome, IndexReport

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1000
# How often the watcher checks for a stop request while the folders are quiet.
STEP_MS = 100

ReportCallback = Callable[[IndexReport], None]


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
        self.ready = threading.Event()  # set once the first sync is done and watching began

    def stop(self) -> None:
        """Ask `run()` to return; safe from any thread (it returns within STEP_MS)."""
        self._stop.set()

    def run(self) -> None:
        """Sync, then follow the folders until `stop()` (or until every folder is gone)."""
        import watchfiles

        lower_thread_priority()
        missing = [str(f) for f in self.folders if not f.is_dir()]
        if missing:
            raise FileNotFoundError(f"not a folder: {', '.join(missing)}")
        self.on_report(self.library.index(self.folders, progress=self.progress))
        watcher = watchfiles.watch(
            *self.folders,
            watch_filter=self._wanted,
            debounce=self.debounce_ms,
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=STEP_MS * 5,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        self.ready.set()
        for changes in watcher:
            if self._stop.is_set():
                break
            if changes:
                self.on_report(self.apply({Path(path) for _change, path in changes}))

    def apply(self, paths: set[Path]) -> IndexReport:
        """Index the paths that are there and remove the ones that are gone; one report."""
        started = time.perf_counter()
        present = sorted(p for p in paths if p.exists() or p.is_symlink())
        gone = sorted(p for p in paths if p not in present)
        removed: list[FileOutcome] = []
        for path in gone:
            removed.extend(self._remove(path))
        if present:
            report = self.library.index(present, progress=self.progress)
        else:
            report = IndexReport(self.library.name)
        # Files inside a folder that went away were removed just above, not by index().
        report.outcomes[:0] = removed
        report.seconds = time.perf_counter() - started
        return report

    def _remove(self, path: Path) -> list[FileOutcome]:
        key = str(path)
        prefix = key + os.sep
        known = [
            record.path
            for record in self.library.files()
            if record.path == key or record.path.startswith(prefix)
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
