"""The library process's watched folders: one `FolderWatcher` thread per folder, at low priority,
keeping its library in step, and one queue of their events for the window.

The folders are remembered in each library's folder (engine.library.watched), so the process
follows them again after a restart, and the first thing each watcher does is catch up with the
changes made while Hearth was closed. A folder that cannot be followed (gone, unplugged, not
readable) pauses its watcher and says why in a `FolderState`; it stays remembered, is followed
again (after catching up) once it is back, and nothing is removed from the library because of it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.library.libraries import Libraries
from app.library.protocol import FileProgressFeed, FolderState, WatchProgress, WatchReport
from engine.errors import HearthError
from engine.library.types import UNCHANGED, IndexProgress, IndexReport
from engine.library.watch import DEBOUNCE_MS, FolderUnavailable, FolderWatcher
from engine.library.watched import (
    STOPPED,
    SYNCING,
    UNREADABLE,
    WATCHING,
    WatchedFolder,
    add_watched_folder,
    all_watched_folders,
    normalise,
    paused_by_disk,
    remove_watched_folder,
    watched_folders,
)
from engine.storage import StorageError

log = logging.getLogger(__name__)

# How long stopping one watcher may take (it stops at the next page of a file being indexed).
STOP_TIMEOUT_S = 10.0

# How often a folder that cannot be followed is looked at again.
RETRY_S = 5.0

Key = tuple[str, str]  # (library, folder)


class FolderWatchers:
    """Starts, stops and reports the watchers of every library under `libraries.root`.

    Args:
        libraries: The process's open libraries.
        debounce_ms: Quiet time that ends a batch of changes.
    """

    def __init__(self, libraries: Libraries, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.libraries = libraries
        self.debounce_ms = debounce_ms
        self._lock = threading.Lock()
        self._running: dict[Key, tuple[FolderWatcher, threading.Thread]] = {}
        self._states: dict[Key, WatchedFolder] = {}
        # Events wait here until `follow` forwards them (a folder may be watched before).
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False

    # -- requests ----------------------------------------------------------------------------

    def follow(self, emit: Callable[[Any], None]) -> None:
        """Start every remembered folder, then pass every event to `emit` until `close()`."""
        for library, folders in all_watched_folders(self.libraries.root).items():
            for folder in folders:
                try:
                    self._start(library, folder)
                except StorageError as exc:  # the library's disk: the others are still followed
                    log.warning("Cannot follow %s for %s: %s", folder, library, exc)
                    self._set_state((library, folder), *paused_by_disk(Path(folder), exc, False))
                except Exception as exc:  # a damaged library: the others are still followed
                    log.exception("Cannot follow %s for %s", folder, library)
                    self._set_state((library, folder), UNREADABLE,
                                    f"Hearth cannot follow {Path(folder).name}: {exc}")  # fmt: skip
        while (event := self._events.get()) is not None:
            emit(event)

    def watch(self, library: str, folder: str) -> WatchedFolder:
        """Remember `folder` for `library` and follow it (idempotent)."""
        key = (library, normalise(folder))
        add_watched_folder(self.libraries.get(library).folder, key[1])
        self._start(*key)
        return self._state(key)

    def unwatch(self, library: str, folder: str) -> bool:
        """Stop following `folder` and forget it; its documents stay. False if not watched."""
        key = (library, normalise(folder))
        self._stop(key)
        if not self.libraries.exists(library):
            return False
        forgotten = remove_watched_folder(self.libraries.get(library).folder, key[1])
        with self._lock:
            self._states.pop(key, None)
        return forgotten

    def folders(self, library: str) -> tuple[WatchedFolder, ...]:
        """The remembered folders of `library` with their states."""
        if not self.libraries.exists(library):
            return ()
        remembered = watched_folders(self.libraries.get(library).folder)
        return tuple(self._state((library, folder)) for folder in remembered)

    def cancel_batches(self) -> None:
        """Stop the batches being indexed (the window's Cancel); watching goes on."""
        with self._lock:
            running = list(self._running.values())
        for watcher, _thread in running:
            watcher.cancel_batch()

    def forget_library(self, library: str) -> None:
        """Stop every watcher of a library about to be deleted."""
        with self._lock:
            keys = [key for key in self._running if key[0] == library]
        for key in keys:
            self._stop(key)

    def close(self) -> None:
        """Stop every watcher and end `follow`."""
        with self._lock:
            self._closed = True
            running = dict(self._running)
        for watcher, _thread in running.values():
            watcher.stop()  # all at once: each stops at its next page
        for key in running:
            self._stop(key)
        self._events.put(None)

    # -- watchers ------------------------------------------------------------------------------

    def _state(self, key: Key) -> WatchedFolder:
        with self._lock:
            return self._states.get(key) or WatchedFolder(key[0], key[1], SYNCING)

    def _set_state(self, key: Key, state: str, message: str = "") -> None:
        folder = WatchedFolder(key[0], key[1], state, message)
        with self._lock:
            if self._states.get(key) == folder:
                return
            self._states[key] = folder
        self._events.put(FolderState(folder))

    def _start(self, library: str, folder: str) -> None:
        key = (library, folder)
        with self._lock:
            if self._closed or key in self._running:
                return
        opened = self.libraries.get(library)  # may take seconds: not under the lock
        with self._lock:
            if self._closed or key in self._running:
                return
            feed = _WatchFeed(library, self._events.put)
            watcher = FolderWatcher(
                opened,
                [folder],
                on_report=lambda report: self._on_report(key, report),
                progress=feed,
                debounce_ms=self.debounce_ms,
            )
            thread = threading.Thread(
                target=self._run, args=(key, watcher), name=f"watch-{Path(folder).name}",
                daemon=True,
            )  # fmt: skip
            self._running[key] = (watcher, thread)
        self._set_state(key, SYNCING)
        thread.start()

    def _stop(self, key: Key) -> None:
        with self._lock:
            running = self._running.get(key)
        if running is None:
            return
        watcher, thread = running
        watcher.stop()
        if thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)

    def _run(self, key: Key, watcher: FolderWatcher) -> None:
        name = Path(key[1]).name
        try:
            while True:
                try:
                    watcher.run()
                    break
                except FolderUnavailable as exc:
                    log.warning("Stopped following %s: %s", key[1], exc)
                    self._set_state(key, exc.state, str(exc))
                    back = watcher.available
                except StorageError as exc:  # the library's disk, not the folder
                    if exc.kind not in ("full", "read_only"):
                        raise
                    log.warning("Paused following %s: %s", key[1], exc)
                    self._set_state(key, *paused_by_disk(Path(key[1]), exc))
                    back = watcher.library_writable
                # Followed again once it is back (a drive plugged in again, permission given,
                # space freed): catching up reads the files left pending.
                while not watcher.wait_stopped(RETRY_S):
                    if back():
                        break
                if watcher.stopping:
                    return
                self._set_state(key, SYNCING)
        except HearthError as exc:  # the disk is full, another process holds the library...
            log.warning("Stopped following %s: %s", key[1], exc)
            self._set_state(key, UNREADABLE, f"Hearth stopped following {name}: {exc}")
        except Exception as exc:  # a bug must not end the process
            log.exception("Following %s failed", key[1])
            self._set_state(key, STOPPED, f"Hearth stopped following {name}: {exc}")
        else:
            if not watcher.stopping:
                self._set_state(key, STOPPED, f"Hearth stopped following {name}.")
        finally:
            with self._lock:
                if self._running.get(key, (None,))[0] is watcher:
                    del self._running[key]

    def _on_report(self, key: Key, report: IndexReport) -> None:
        self._set_state(key, WATCHING)
        self._events.put(WatchReport(key[0], key[1], report))


class _WatchFeed:
    """Progress of a watched folder for the window: only files that are read again or end
    differently, so a catch-up that finds nothing new sends nothing."""

    def __init__(self, library: str, put: Callable[[Any], None]) -> None:
        self._feed = FileProgressFeed(lambda progress: put(WatchProgress(library, progress)))

    def __call__(self, progress: IndexProgress) -> None:
        if progress.stage == "file":  # announced by its first page, if it is read at all
            return
        if progress.stage == "done" and progress.status == UNCHANGED:
            return
        self._feed(progress)
