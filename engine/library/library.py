"""A named document library on disk: index files into it, search it, list and remove its files.

Layout of one library folder:
    library.sqlite3   manifest of files, chunk texts and the FTS5 keyword index (manifest.py)
    vectors/          chromadb persistent folder with the library's one collection (store.py)
    snapshot-<stamp>/ a copy of the vectors a search maps without starting chromadb (snapshot.py)
    index.lock        present while a process is indexing (holds its pid)

Each library has a folder of its own (rather than one chromadb folder for all) so that a library
can be removed by deleting a folder and two processes indexing two libraries never share files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cancel import CancelToken
from engine.library.embed import Embedder
from engine.library.lock import IndexLock
from engine.library.manifest import Manifest
from engine.library.retrieve import hybrid_search
from engine.library.snapshot import VectorSnapshot, manifest_stamp, remove_snapshot, write_snapshot
from engine.library.store import UnwritableVectorStore, VectorStore
from engine.library.types import (
    CANCELLED,
    INDEXED,
    INDEXING,
    MANIFEST_FILE,
    PENDING,
    REMOVED,
    UNREADABLE,
    FileOutcome,
    FileRecord,
    Hit,
    IndexProgress,
    IndexReport,
    LibraryError,
)
from engine.storage import StorageError, storage_problem

if TYPE_CHECKING:  # indexing's modules load when a library indexes, not for a search
    from engine.library.chunk import Chunker
    from engine.library.indexer import FileIndexer, ProgressCallback

log = logging.getLogger(__name__)

DEFAULT_LIBRARY = "default"
VECTORS_DIR = "vectors"
LOCK_FILE = "index.lock"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,62}[A-Za-z0-9_]$|^[A-Za-z0-9_]$")


def validate_name(name: str) -> str:
    """Library names become folder names: letters, digits, space, '.', '-', '_'; 1-64 chars."""
    if not _NAME.match(name or ""):
        raise LibraryError(
            f"'{name}' cannot be used as a library name.",
            "Use 1 to 64 letters, digits, spaces, dots, dashes or underscores.",
        )
    return name


@dataclass(frozen=True)
class LibraryInfo:
    name: str
    folder: str
    files: int
    chunks: int
    pending: int
    failed: int

    def to_dict(self) -> dict:
        return asdict(self)


class Library:
    """One library. Open with `Library.open(name)`; close when done.

    Indexing runs on the caller's thread (the app's indexing thread); searches may run on other
    threads beside it. The embedder is shared, loaded on first use, and may be passed in so that
    several libraries (or tests) share one model in memory.
    """

    def __init__(
        self,
        folder: Path,
        name: str,
        embedder: Embedder | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.name = validate_name(name)
        self.folder = Path(folder)
        made_folder = not self.folder.exists()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = storage_problem(exc, self.folder, f"create the library '{name}'")
            if problem is None:
                raise
            raise problem from exc
        self.embedder = embedder or Embedder()
        self._write_problem: StorageError | None = None  # why this library can only be read
        try:
            self.manifest = Manifest(self.folder / MANIFEST_FILE)
        except StorageError as problem:
            if problem.kind not in ("full", "read_only") or not self._has_manifest():
                # Nothing to read: a library that could not be made is not left half made.
                if made_folder:
                    _remove_empty_folder(self.folder)
                raise
            # Searching and showing still work on a full or read-only disk; indexing says why not.
            log.warning("Library %s opened read-only: %s", name, problem)
            self._write_problem = problem
            self.manifest = Manifest(self.folder / MANIFEST_FILE, read_only=True)
        if self.manifest.needs_upgrade and not self.manifest.read_only:
            self._upgrade(progress)
        # chromadb starts on first use: a search served by the snapshot never needs it.
        self._store: VectorStore | None = None
        self._store_lock = threading.Lock()
        self._snapshot: VectorSnapshot | None = None
        self._snapshot_stamp: str | None = None
        self._snapshot_attempted: str | None = None  # the stamp a search last wrote one for
        self._check_embedding_model()
        self._index_lock = threading.Lock()
        self._keyword_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyword")
        self._chunker: Chunker | None = None
        # A crash may have left a half-indexed file; clean it now if nobody else is indexing.
        if self._write_problem is None:
            try:
                with IndexLock(self.folder / LOCK_FILE, required=False) as held:
                    if held:
                        self._recover()
            except Exception as exc:  # a disk that refuses writes: recover on a later open
                if storage_problem(exc, self.folder, "tidy the library") is None:
                    raise
                log.warning("Library %s not tidied now: %s", name, exc)

    def _has_manifest(self) -> bool:
        return (self.folder / MANIFEST_FILE).is_file()

    def _writable(self, action: str) -> None:
        """Make sure the library can be written before `action`: a library opened while its
        disk was full or read-only is opened for writing again once the disk takes writes.

        Raises:
            StorageError: the disk still refuses writes.
        """
        if self._write_problem is None:
            return
        try:
            manifest = Manifest(self.folder / MANIFEST_FILE)
        except StorageError as problem:
            if problem.kind in ("full", "read_only"):
                self._write_problem = problem
            raise
        # Searches on other threads may still hold the reader: it is left to close itself.
        self.manifest = manifest
        self._write_problem = None
        with self._store_lock:
            if isinstance(self._store, UnwritableVectorStore):
                self._store = None
        log.info("Library %s can be written again (%s)", self.name, action)

    def _upgrade(self, progress: ProgressCallback | None) -> None:
        """Rebuild what an older Hearth wrote (the keyword index), reporting progress as
        IndexProgress(stage="upgrade", file_index=chunks done, file_count=chunks in all)."""
        with IndexLock(self.folder / LOCK_FILE, required=True):

            def report(done: int, total: int) -> None:
                if progress is not None:
                    message = "Rebuilding the keyword index for every script"
                    progress(IndexProgress("upgrade", None, done, total, message=message))

            self.manifest.upgrade(report)

    @classmethod
    def open(
        cls,
        root: Path,
        name: str = DEFAULT_LIBRARY,
        embedder: Embedder | None = None,
        create: bool = True,
        progress: ProgressCallback | None = None,
    ) -> Library:
        """Open (or create) the library `name` under `root` (the app passes the user's
        libraries folder, `app.paths.app_paths().libraries_dir`).

        Args:
            progress: Told how an upgrade of a library written by an older Hearth goes
                (stage "upgrade"); opening a current library reports nothing.

        Raises:
            LibraryError: bad name, no such library when `create` is False, or another
                process indexing a library that needs an upgrade.
        """
        folder = Path(root) / validate_name(name)
        if not create and not (folder / MANIFEST_FILE).is_file():
            raise LibraryError(
                f"There is no library named '{name}'.",
                "See `hearth library list` for the libraries you have.",
            )
        return cls(folder, name, embedder, progress)

    @property
    def store(self) -> VectorStore:
        """The vector store (chromadb), opened on first use."""
        with self._store_lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    def _open_store(self) -> VectorStore:
        try:
            return VectorStore(self.folder / VECTORS_DIR, _collection_name(self.name))
        except StorageError as problem:
            if problem.kind not in ("full", "read_only"):
                raise
            # chromadb cannot open its index without writing to it: search by words alone.
            log.warning("Library %s searched by words only: %s", self.name, problem)
            self._write_problem = self._write_problem or problem
            return UnwritableVectorStore(problem)

    def close(self) -> None:
        self._keyword_pool.shutdown(wait=True)
        self.manifest.close()
        self._snapshot = None  # unmaps it: a deleted snapshot's file is then freed at once
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- indexing ---------------------------------------------------------------------------------

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            from engine.library.chunk import Chunker

            self._chunker = Chunker(self.embedder.tokenizer)
        return self._chunker

    def index(
        self,
        paths: Iterable[Path | str],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Add, update and prune files: new and changed files are (re)indexed, unchanged ones
        skipped, and files gone from the named folders (or named files that are gone) removed.

        Args:
            paths: Files and folders; folders are walked recursively.
            progress: Called with an `IndexProgress` per stage, file and page (cheap, same thread).
            cancel: Stops between pages; the file being indexed is rolled back and left pending.

        Raises:
            LibraryError: another process is indexing this library.
        """
        started = time.perf_counter()
        report = IndexReport(self.name)
        emit = progress or (lambda _event: None)
        self._writable("index")
        try:
            total = self._index(paths, report, emit, progress, cancel)
        except Exception as exc:
            problem = (
                exc
                if isinstance(exc, StorageError)
                else storage_problem(exc, self.folder, f"index into the library '{self.name}'")
            )
            if problem is None:
                raise
            raise StorageError(
                problem.message,
                problem.hint + " What was indexed is kept; index again to finish the rest.",
                problem.kind,
                problem.folder,
            ) from exc
        report.seconds = time.perf_counter() - started
        emit(
            IndexProgress(
                "finished", None, total, total, status="cancelled" if report.cancelled else "ok"
            )
        )
        return report

    def _index(self, paths, report: IndexReport, emit, progress, cancel) -> int:
        """The work of `index`; returns how many files it went through."""
        with self._index_lock, IndexLock(self.folder / LOCK_FILE, required=True):
            self._recover()
            from engine.library.discover import discover
            from engine.library.indexer import Cancelled, FileIndexer

            found = discover([Path(p) for p in paths])
            report.skipped.extend(found.skipped)
            indexer = FileIndexer(self.manifest, self.store, self.embedder, self.chunker)
            report.outcomes.extend(self._prune(found, indexer))
            self._remember_embedding_model()
            self.manifest.add_pending(str(f) for f in found.files)
            total = len(found.files)
            emit(IndexProgress("scan", None, 0, total))
            for position, path in enumerate(found.files):
                if cancel is not None and cancel.cancelled:
                    report.cancelled = True
                    report.outcomes.append(_cancelled(path))
                    continue
                emit(IndexProgress("file", str(path), position, total))
                try:
                    outcome = indexer.index_file(path, (position, total), progress, cancel)
                except Cancelled:
                    report.cancelled = True
                    outcome = _cancelled(path)
                except Exception as exc:
                    self._left_unread(found.files[position:], exc)
                    raise
                report.outcomes.append(outcome)
                emit(
                    IndexProgress(
                        "done",
                        str(path),
                        position + 1,
                        total,
                        page=outcome.pages,
                        page_count=outcome.pages,
                        chunks=outcome.chunks,
                        status=outcome.status,
                        message=outcome.message,
                    )
                )
            self._refresh_snapshot()
        return total

    def resume(
        self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> IndexReport:
        """Index the files a stopped or killed run left pending."""
        self._writable("index")
        with self._index_lock, IndexLock(self.folder / LOCK_FILE, required=True):
            self._recover()
        return self.index(self.pending_files(), progress, cancel)

    def _left_unread(self, paths: list[Path], exc: BaseException) -> None:
        """Say on each file a run that stopped on the disk did not finish why it is still
        pending and how it gets read, where the disk lets that be written (else it is plain
        pending: the next index run reads it all the same)."""
        problem = storage_problem(exc, self.folder, "index")
        if problem is None:
            return
        note = unread_note(problem.kind)
        try:
            self.manifest.note_pending([str(path) for path in paths], note)
        except Exception as failure:  # the disk refuses even that: they stay plain pending
            log.warning("Library %s: pending files not marked: %s", self.name, failure)

    def pending_files(self) -> list[str]:
        return self.manifest.paths_with_status(PENDING, INDEXING)

    def _prune(self, found, indexer: FileIndexer) -> list[FileOutcome]:
        """Remove files that are gone: missing named paths and vanished files of walked folders."""
        outcomes: list[FileOutcome] = []
        present = {str(f) for f in found.files}
        for missing in found.missing:
            prefix = str(missing) + os.sep
            known = [r.path for r in self.manifest.files() if r.path == str(missing)]
            known += [r.path for r in self.manifest.files() if r.path.startswith(prefix)]
            if not known:
                outcomes.append(FileOutcome(str(missing), UNREADABLE, "no such file or folder"))
            for path in known:
                indexer.forget(path)
                outcomes.append(FileOutcome(path, REMOVED, "the file is gone"))
        for folder in found.folders:
            prefix = str(folder) + os.sep
            for record in self.manifest.files():
                if (
                    record.path.startswith(prefix)
                    and record.path not in present
                    and not os.path.exists(record.path)
                ):
                    indexer.forget(record.path)
                    outcomes.append(FileOutcome(record.path, REMOVED, "the file is gone"))
        return outcomes

    def _recover(self) -> None:
        """Undo what a killed run left half done: drop the vectors of files marked "indexing"."""
        for file_id, path in self.manifest.interrupted():
            self.store.delete_file(file_id)
            self.manifest.set_outcome(path, PENDING)

    # --- searching --------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        files: Iterable[str | Path] | None = None,
        neighbours: int = 0,
    ) -> list[Hit]:
        """The `k` chunks that best match `query` (hybrid vector + keyword search).

        Args:
            query: Free text.
            k: How many hits.
            files: Only search these files (paths as indexed).
            neighbours: Chunks before/after each hit to attach as context.

        Raises:
            LibraryError: empty query, or a file filter naming a file not in the library.
        """
        query = (query or "").strip()
        if not query:
            raise LibraryError("Type something to search for.")
        if k < 1:
            raise LibraryError("The number of results must be at least 1.")
        file_ids = None
        if files is not None:
            file_ids = []
            for path in files:
                key = os.path.abspath(os.path.expanduser(str(path)))
                file_id = self.manifest.file_id(key)
                if file_id is None:
                    raise LibraryError(f"{path} is not in the library '{self.name}'.")
                file_ids.append(file_id)
        if not self.manifest.has_chunks():
            return []
        vectors = self._searchable_vectors()
        hits = hybrid_search(
            self.manifest,
            vectors,
            self.embedder.embed_query,
            query,
            k,
            file_ids,
            neighbours,
            self._keyword_pool,
            embedder_languages=getattr(self.embedder, "languages", None),
        )
        if not isinstance(vectors, VectorSnapshot):
            self._snapshot_when_idle()
        return hits

    def _snapshot_when_idle(self) -> None:
        """Write the snapshot a search had to do without (a library indexed by an older Hearth,
        or a write that failed), unless the disk refuses writes or someone is indexing: the
        store is open by now, and the next process's searches skip it."""
        stamp = self._stamp()
        if self._write_problem is not None or self._snapshot_attempted == stamp:
            return  # one try per state of the library: a folder that refuses it stays refused
        if not self._index_lock.acquire(blocking=False):
            return
        self._snapshot_attempted = stamp
        try:
            with IndexLock(self.folder / LOCK_FILE, required=False) as held:
                if held:
                    self._refresh_snapshot()
        except Exception as exc:  # a lock file the disk refuses: the next search tries again
            log.warning("Library %s: no vector snapshot now: %s", self.name, exc)
        finally:
            self._index_lock.release()

    @property
    def search_note(self) -> str:
        """What a person should know about this library's searches: "" normally; on a full or
        read-only disk, that they match words only."""
        store = self._store
        if not isinstance(store, UnwritableVectorStore):
            return ""
        return (
            "The library's meaning index cannot be opened while its disk is "
            f"{'full' if store.problem.kind == 'full' else 'read-only'}, so searches "
            "match words only."
        )

    def neighbours(self, hit: Hit, radius: int = 1) -> list[str]:
        """Texts of the chunks around a hit, in reading order, the hit itself included."""
        around = self.manifest.neighbours(hit.file_id, hit.ordinal, radius)
        before = [text for ordinal, text in around if ordinal < hit.ordinal]
        after = [text for ordinal, text in around if ordinal > hit.ordinal]
        return [*before, hit.text, *after]

    # --- files ------------------------------------------------------------------------------------

    def files(self) -> list[FileRecord]:
        return self.manifest.files()

    def remove_file(self, path: str | Path) -> bool:
        """Remove one file (its chunks and vectors). Returns False if it was not in the library."""
        key = os.path.abspath(os.path.expanduser(str(path)))
        self._writable("remove a file")
        with self._index_lock, IndexLock(self.folder / LOCK_FILE, required=True):
            file_id = self.manifest.remove(key)
            if file_id is None:
                return False
            self.store.delete_file(file_id)
            self._refresh_snapshot()
            return True

    # --- the vectors' snapshot ---------------------------------------------------------------------

    def refresh_snapshot(self) -> None:
        """Bring the vectors' snapshot up to date now (indexing and removing do it themselves;
        this is for code that writes the manifest and store directly, as benchmarks do)."""
        with self._index_lock, IndexLock(self.folder / LOCK_FILE, required=True):
            self._refresh_snapshot()

    def _stamp(self) -> str:
        return manifest_stamp(self.manifest.conn, self.embedder.name)

    def _refresh_snapshot(self) -> None:
        """Write the vectors' snapshot for the manifest as it is now (called with the index
        lock held, after a change). A failure only costs speed: the snapshot is dropped and
        searches ask the store."""
        stamp = self._stamp()
        if VectorSnapshot.load(self.folder, stamp) is not None:
            return
        try:
            keys, vectors = self.store.all_vectors()
            write_snapshot(self.folder, stamp, keys, vectors)
        except Exception as exc:  # a full disk, a store that cannot be read: search the store
            log.warning("Library %s: vector snapshot not written: %s", self.name, exc)
            remove_snapshot(self.folder)

    def _searchable_vectors(self) -> VectorStore | VectorSnapshot:
        """The snapshot when it matches the manifest (no chromadb start), else the store."""
        stamp = self._stamp()
        if self._snapshot is None or self._snapshot_stamp != stamp:
            self._snapshot = VectorSnapshot.load(self.folder, stamp)
            self._snapshot_stamp = stamp
        return self._snapshot if self._snapshot is not None else self.store

    def info(self) -> LibraryInfo:
        return _summarise(self.name, self.folder, self.manifest.files())

    # --- embedding model bookkeeping --------------------------------------------------------------

    def _remember_embedding_model(self) -> None:
        if self.manifest.get_meta("embedding_model") is None:
            self.manifest.set_meta("embedding_model", self.embedder.name)
            self.manifest.set_meta("embedding_dimension", str(self.embedder.dimension))

    def _check_embedding_model(self) -> None:
        stored = self.manifest.get_meta("embedding_model")
        if stored is not None and stored != self.embedder.name:
            raise LibraryError(
                f"The library '{self.name}' was built with the embedding model {stored}, "
                f"not {self.embedder.name}.",
                "Remove the library and index its files again.",
            )


def list_libraries(root: Path) -> list[LibraryInfo]:
    """Every library under `root`, read from the manifests only (no model, no vector store)."""
    root = Path(root)
    if not root.is_dir():
        return []
    infos: list[LibraryInfo] = []
    for folder in sorted(p for p in root.iterdir() if (p / MANIFEST_FILE).is_file()):
        manifest = Manifest(folder / MANIFEST_FILE, read_only=True)
        try:
            records = manifest.files()
        finally:
            manifest.close()
        infos.append(_summarise(folder.name, folder, records))
    return infos


def remove_library(root: Path, name: str) -> None:
    """Delete a library's folder.

    Raises:
        LibraryError: no such library, or it is being indexed right now.
    """
    folder = Path(root) / validate_name(name)
    if not (folder / MANIFEST_FILE).is_file():
        raise LibraryError(f"There is no library named '{name}'.")
    with IndexLock(folder / LOCK_FILE, required=False) as held:
        if not held:
            raise LibraryError(
                f"The library '{name}' is being indexed right now.", "Stop that first."
            )
        # Rename first so a half-finished delete never looks like a library.
        doomed = folder.with_name(f".{folder.name}.removing-{os.getpid()}")
        os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _summarise(name: str, folder: Path, records: list[FileRecord]) -> LibraryInfo:
    return LibraryInfo(
        name=name,
        folder=str(folder),
        files=sum(1 for r in records if r.status == INDEXED),
        chunks=sum(r.chunks for r in records if r.status == INDEXED),
        pending=sum(1 for r in records if r.status in (PENDING, INDEXING)),
        failed=sum(1 for r in records if r.status not in (INDEXED, PENDING, INDEXING)),
    )


# Why a file is still pending after a run stopped on the disk, by StorageError.kind.
_UNREAD_CAUSES = {
    "full": "the disk was full",
    "read_only": "the library's folder could not be written to",
    "busy": "another Hearth was writing to the library",
    "io": "the disk reported an input/output error",
}


def unread_note(kind: str) -> str:
    """What a pending file left by a run that stopped on the disk says: why, and how it gets
    read ("not read: the disk was full; free some space, then Re-index ...")."""
    cause = _UNREAD_CAUSES.get(kind, _UNREAD_CAUSES["io"])
    fix = "free some space, then" if kind == "full" else "once that is fixed,"
    return (
        f"not read: {cause}; {fix} Re-index (in a terminal: hearth index) and it is read; "
        "a watched folder catches up by itself"
    )


def _remove_empty_folder(folder: Path) -> None:
    """Remove a library folder made for nothing (its manifest could not be made)."""
    with contextlib.suppress(OSError):  # something is in it after all: it stays
        folder.rmdir()


def _collection_name(name: str) -> str:
    # chromadb names: 3-63 chars of [a-zA-Z0-9._-], starting and ending alphanumeric.
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._") or "library"
    return f"lib-{slug}"[:63].rstrip("-._")


def _cancelled(path: Path) -> FileOutcome:
    return FileOutcome(str(path), CANCELLED, "indexing was stopped before this file was done")
