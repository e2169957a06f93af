"""The library's SQLite file: manifest of files, chunk texts, and the keyword index over them.

A file's chunk rows and its "indexed" status are committed in one transaction, after its vectors
are in the vector store. So a process killed mid-file leaves that file marked "indexing" with no
chunk rows; `interrupted()` finds it on the next open and the library cleans and re-queues it.
Searches only ever see chunks of files whose transaction committed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.library import keyword
from engine.library.formats import RUNNING_HEADER_SUFFIXES
from engine.library.types import INDEXED, INDEXING, PENDING, Chunk, FileRecord, LibraryError
from engine.storage import is_damage, storage_problem

log = logging.getLogger(__name__)

# 2: keyword index of its own text (CJK split into bigrams, headings searchable), an index of
#    character n-grams of the words, chunk locations (slide, sheet and rows), pages read by OCR.
# 3: no table changes; PDF and XPS chunks without the pages' running headers and footers, so
#    those files are read again.
SCHEMA_VERSION = 3

_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT,
    size INTEGER,
    mtime REAL,
    pages INTEGER,
    chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    error TEXT,
    indexed_at REAL,
    ocr_pages INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    page INTEGER,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    heading TEXT,
    text TEXT NOT NULL,
    location TEXT,
    UNIQUE(file_id, ordinal)
);
"""
# The keyword indexes keep their own copy of each chunk's text as searched (see
# keyword.index_text and keyword.word_grams), rowid = chunk id; rows go when their chunk goes.
_KEYWORD_INDEX = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    text, heading, tokenize='{keyword.WORD_TOKENIZER}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_grams USING fts5(
    grams, tokenize="{keyword.GRAM_TOKENIZER}"
);
CREATE TRIGGER IF NOT EXISTS chunks_after_delete_fts AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_fts WHERE rowid = old.id;
    DELETE FROM chunk_grams WHERE rowid = old.id;
END;
"""
# Version 1 indexed the raw chunk text through an external-content table and triggers.
_DROP_V1_KEYWORD_INDEX = (
    "DROP TRIGGER IF EXISTS chunks_after_insert",
    "DROP TRIGGER IF EXISTS chunks_after_delete",
    "DROP TABLE IF EXISTS chunk_fts",
)
UPGRADE_BATCH = 2000

_FILE_COLUMNS = (
    "path, content_hash, size, mtime, pages, chunks, status, error, indexed_at, ocr_pages"
)


class Manifest:
    """Thread-aware access to one library's SQLite file (one connection per thread).

    Args:
        path: The SQLite file; created with its tables when missing.
        read_only: Only read (listing, showing): never creates or changes anything, and still
            opens when the disk is full or the folder read-only.

    Raises:
        LibraryError: the file is damaged, or made by a newer Hearth.
        StorageError: the disk is full, read-only or busy (nothing is damaged).
    """

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        creating = not read_only and not self.path.exists()
        try:
            if not read_only:
                self.conn.executescript(_TABLES)
            stored = self.get_meta("schema_version")
            if stored is None and not read_only:
                self.conn.executescript(_KEYWORD_INDEX)
                self.set_meta("schema_version", str(SCHEMA_VERSION))
            elif stored is not None and int(stored) > SCHEMA_VERSION:
                raise LibraryError(
                    f"This library was made by a newer Hearth (format {stored}).",
                    "Update Hearth to open it.",
                )
            self.stored_version = int(stored or SCHEMA_VERSION)
        except sqlite3.DatabaseError as exc:
            self.close()
            action = "create the library" if creating else "open the library"
            problem = None if is_damage(exc) else storage_problem(exc, self.path, action)
            if problem is not None:
                if creating:  # a file with no tables left behind would read as damaged later
                    self._remove_unmade()
                raise problem from exc
            raise LibraryError(
                f"The library file {self.path} is damaged: {exc}",
                "Remove the library and index its files again.",
            ) from exc

    @property
    def needs_upgrade(self) -> bool:
        return self.stored_version < SCHEMA_VERSION

    def upgrade(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Bring a library written by an older Hearth up to SCHEMA_VERSION, in place.

        From version 1, adds the new columns and rebuilds the keyword index from the stored
        chunk texts (no file is read again), committing every UPGRADE_BATCH chunks; a killed
        upgrade starts over on the next open. Files it indexed keep their chunks and are read
        again, with today's extraction, the next time they are indexed: every file from
        version 1, the PDF and XPS files (RUNNING_HEADER_SUFFIXES) from version 2.

        Args:
            progress: Called with (chunks done, chunks in all) before the keyword index is
                rebuilt and after each batch; not at all when it needs no rebuilding.
        """
        if not self.needs_upgrade:
            return
        conn = self.conn
        patterns: tuple[str, ...]
        if self.stored_version < 2:
            self._rebuild_keyword_index(progress)
            read_again, patterns = "", ()
        else:
            patterns = tuple(f"%{suffix}" for suffix in sorted(RUNNING_HEADER_SUFFIXES))
            read_again = " AND (" + " OR ".join(["path LIKE ?"] * len(patterns)) + ")"
        with self._transaction():
            # Forget the stamps, so the next index run reads these files again. (LIKE ignores
            # the case of ASCII letters: "REPORT.PDF" is read again too.)
            conn.execute(
                "UPDATE files SET content_hash = NULL, mtime = NULL WHERE status = ?" + read_again,
                (INDEXED, *patterns),
            )
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
        self.stored_version = SCHEMA_VERSION

    def _rebuild_keyword_index(self, progress: Callable[[int, int], None] | None) -> None:
        """Version 1 to 2: the new columns, and the keyword index built anew in batches."""
        conn = self.conn
        if progress is not None:
            progress(0, 0)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
        file_columns = {row[1] for row in conn.execute("PRAGMA table_info(files)")}
        with self._transaction():
            for statement in _DROP_V1_KEYWORD_INDEX:
                conn.execute(statement)
            if "location" not in columns:
                conn.execute("ALTER TABLE chunks ADD COLUMN location TEXT")
            if "ocr_pages" not in file_columns:
                conn.execute("ALTER TABLE files ADD COLUMN ocr_pages INTEGER NOT NULL DEFAULT 0")
        conn.executescript(_KEYWORD_INDEX)
        total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        done, last_id = 0, -1
        while True:
            rows = conn.execute(
                "SELECT id, text, heading FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, UPGRADE_BATCH),
            ).fetchall()
            if not rows:
                break
            with self._transaction():
                _add_to_keyword_indexes(conn, rows)
            done += len(rows)
            last_id = rows[-1][0]
            if progress is not None:
                progress(done, total)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._read_only_connection() if self.read_only else self._connection()
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        # Autocommit mode: every write below states its own transaction.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a killed process; only a power cut may lose the last commit.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _read_only_connection(self) -> sqlite3.Connection:
        """A reader; when the disk cannot take SQLite's shared-memory file (full, read-only),
        the file is read as it stands (what the last writer committed and checkpointed). A file
        that holds no table yet (its making was cut short by a full disk) reads as an empty
        library, not as a damaged one."""
        uri = self.path.absolute().as_uri()
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError as exc:
            if is_damage(exc) or storage_problem(exc, self.path, "read") is None:
                raise
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
        if _holds_tables(conn):
            return conn
        conn.close()
        empty = sqlite3.connect(":memory:", check_same_thread=False)
        empty.executescript(_TABLES)
        return empty

    def _remove_unmade(self) -> None:
        """Remove the file this open had just made when it holds no table: a full disk cut
        its making short. A file that holds anything stays."""
        try:
            probe = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True)
            try:
                made = _holds_tables(probe)
            finally:
                probe.close()
        except sqlite3.Error:
            return  # cannot tell: keep it
        if made:
            return
        for suffix in ("-wal", "-shm", ""):
            try:
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except OSError as exc:
                log.warning("Could not remove the unfinished %s: %s", self.path, exc)

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # --- meta -------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # --- files ------------------------------------------------------------------------------------

    def file(self, path: str) -> FileRecord | None:
        row = self.conn.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ?", (path,)
        ).fetchone()
        return FileRecord(*row) if row else None

    def file_id(self, path: str) -> int | None:
        row = self.conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def files(self) -> list[FileRecord]:
        rows = self.conn.execute(f"SELECT {_FILE_COLUMNS} FROM files ORDER BY path").fetchall()
        return [FileRecord(*row) for row in rows]

    def paths_with_status(self, *statuses: str) -> list[str]:
        marks = ",".join("?" * len(statuses))
        rows = self.conn.execute(
            f"SELECT path FROM files WHERE status IN ({marks}) ORDER BY path", statuses
        ).fetchall()
        return [row[0] for row in rows]

    def interrupted(self) -> list[tuple[int, str]]:
        """Files whose indexing was cut off by a crash or kill: (file id, path)."""
        return self.conn.execute(
            "SELECT id, path FROM files WHERE status = ?", (INDEXING,)
        ).fetchall()

    def add_pending(self, paths: Iterable[str]) -> None:
        """Record files about to be indexed, so a killed run knows what it still had to do."""
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO files(path, status) VALUES (?, ?)",
                ((path, PENDING) for path in paths),
            )

    def note_pending(self, paths: Iterable[str], note: str) -> None:
        """Say why files of a run that stopped are still pending (those not pending or being
        indexed are left as they are); the note goes when the file is next indexed."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE files SET error = ? WHERE path = ? AND status IN (?, ?)",
                ((note, path, PENDING, INDEXING) for path in paths),
            )

    def begin_file(self, path: str, content_hash: str, size: int, mtime: float) -> int:
        """Mark `path` as being indexed and drop its old chunks; committed at once.

        Returns:
            The file id, which tags its vectors in the vector store.
        """
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO files(path, content_hash, size, mtime, status) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET content_hash = excluded.content_hash, "
                "size = excluded.size, mtime = excluded.mtime, status = excluded.status, "
                "error = NULL, chunks = 0",
                (path, content_hash, size, mtime, INDEXING),
            )
            file_id = conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()[0]
            conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        return file_id

    def set_outcome(
        self,
        path: str,
        status: str,
        error: str | None = None,
        content_hash: str | None = None,
        size: int | None = None,
        mtime: float | None = None,
    ) -> int:
        """Record a file that ended without chunks (failed, cancelled, pending), dropping old ones."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO files(path, status) VALUES (?, ?) ON CONFLICT(path) DO NOTHING",
                (path, status),
            )
            file_id = conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()[0]
            conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            conn.execute(
                "UPDATE files SET status = ?, error = ?, content_hash = ?, size = ?, mtime = ?, "
                "chunks = 0, pages = NULL, ocr_pages = 0 WHERE id = ?",
                (status, error, content_hash, size, mtime, file_id),
            )
        return file_id

    def touch(self, path: str, mtime: float) -> None:
        """Same content under a new modification time: remember the time, keep the chunks."""
        self.conn.execute("UPDATE files SET mtime = ? WHERE path = ?", (mtime, path))

    def remove(self, path: str) -> int | None:
        """Forget a file and its chunks. Returns its id, or None if it was not in the library."""
        with self._transaction() as conn:
            row = conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM chunks WHERE file_id = ?", (row[0],))
            conn.execute("DELETE FROM files WHERE id = ?", (row[0],))
        return row[0]

    def write_file_chunks(self, file_id: int) -> ChunkWriter:
        return ChunkWriter(self.conn, file_id)

    # --- chunks -----------------------------------------------------------------------------------

    def chunk_rows(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], tuple]:
        """Rows of indexed chunks by (file id, ordinal); keys of unfinished files are left out.

        Returns:
            {(file_id, ordinal): (chunk_id, path, page, char_start, char_end, heading, text,
            location)}
        """
        if not keys:
            return {}
        values = ",".join("(?, ?)" for _ in keys)
        flat = [part for key in keys for part in key]
        rows = self.conn.execute(
            f"WITH wanted(file_id, ordinal) AS (VALUES {values}) "
            "SELECT c.file_id, c.ordinal, c.id, f.path, c.page, c.char_start, c.char_end, "
            "c.heading, c.text, c.location FROM wanted w "
            "JOIN chunks c ON c.file_id = w.file_id AND c.ordinal = w.ordinal "
            "JOIN files f ON f.id = c.file_id WHERE f.status = ?",
            [*flat, INDEXED],
        ).fetchall()
        return {(row[0], row[1]): row[2:] for row in rows}

    def neighbours(self, file_id: int, ordinal: int, radius: int) -> list[tuple[int, str]]:
        """(ordinal, text) of the chunks within `radius` of one chunk, itself left out."""
        return self.conn.execute(
            "SELECT ordinal, text FROM chunks WHERE file_id = ? AND ordinal BETWEEN ? AND ? "
            "AND ordinal != ? ORDER BY ordinal",
            (file_id, ordinal - radius, ordinal + radius, ordinal),
        ).fetchall()

    def has_chunks(self) -> bool:
        return self.conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is not None

    def counts(self) -> tuple[int, int]:
        """(indexed files, chunks)."""
        files = self.conn.execute(
            "SELECT COUNT(*) FROM files WHERE status = ?", (INDEXED,)
        ).fetchone()[0]
        chunks = self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return files, chunks

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)


def _holds_tables(conn: sqlite3.Connection) -> bool:
    """True when the database behind `conn` has any table (a file SQLite made but never wrote
    a schema to has none)."""
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def _add_to_keyword_indexes(
    conn: sqlite3.Connection, rows: list[tuple[int, str, str | None]]
) -> None:
    """Index (chunk id, text, heading) rows for words and for n-grams (replacing old rows)."""
    conn.executemany(
        "INSERT OR REPLACE INTO chunk_fts(rowid, text, heading) VALUES (?, ?, ?)",
        [
            (row_id, keyword.index_text(text), keyword.index_text(heading or ""))
            for row_id, text, heading in rows
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO chunk_grams(rowid, grams) VALUES (?, ?)",
        [
            (row_id, keyword.word_grams(f"{heading}\n{text}" if heading else text))
            for row_id, text, heading in rows
        ],
    )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite rolls back by itself on a full disk
            self.conn.execute("ROLLBACK")


class ChunkWriter:
    """Adds one file's chunks inside a single open transaction; `finish()` commits them.

    Anything short of `finish()` (an exception, `abort()`, a killed process) leaves no chunk row.
    """

    def __init__(self, conn: sqlite3.Connection, file_id: int) -> None:
        self.conn = conn
        self.file_id = file_id
        self.count = 0
        conn.execute("BEGIN IMMEDIATE")
        self._open = True

    def add(self, chunks: list[Chunk]) -> None:
        if not chunks:
            return
        self.conn.executemany(
            "INSERT INTO chunks(file_id, ordinal, page, char_start, char_end, heading, text, "
            "location) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    self.file_id,
                    c.ordinal,
                    c.page,
                    c.char_start,
                    c.char_end,
                    c.heading,
                    c.text,
                    c.location,
                )
                for c in chunks
            ],
        )
        ids = dict(
            self.conn.execute(
                "SELECT ordinal, id FROM chunks WHERE file_id = ? AND ordinal BETWEEN ? AND ?",
                (self.file_id, chunks[0].ordinal, chunks[-1].ordinal),
            ).fetchall()
        )
        _add_to_keyword_indexes(self.conn, [(ids[c.ordinal], c.text, c.heading) for c in chunks])
        self.count += len(chunks)

    def finish(self, pages: int | None, note: str | None = None, ocr_pages: int = 0) -> None:
        """Commit the chunks and mark the file indexed.

        Args:
            pages: Pages in the file, None for formats without pages.
            note: What a person should know about the indexed file (pages read by OCR, bytes
                that could not be decoded); kept in the `error` column.
            ocr_pages: Pages whose text was read by OCR.
        """
        self.conn.execute(
            "UPDATE files SET status = ?, error = ?, pages = ?, chunks = ?, indexed_at = ?, "
            "ocr_pages = ? WHERE id = ?",
            (INDEXED, note, pages, self.count, time.time(), ocr_pages, self.file_id),
        )
        self.conn.execute("COMMIT")
        self._open = False

    def abort(self) -> None:
        """Drop the chunks added so far (SQLite may have rolled them back itself already, as
        it does when the disk is full)."""
        if self._open:
            self._open = False
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
