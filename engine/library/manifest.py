"""The library's SQLite file: manifest of files, chunk texts, and the keyword index over them.

A file's chunk rows and its "indexed" status are committed in one transaction, after its vectors
are in the vector store. So a process killed mid-file leaves that file marked "indexing" with no
chunk rows; `interrupted()` finds it on the next open and the library cleans and re-queues it.
Searches only ever see chunks of files whose transaction committed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from engine.library.types import INDEXED, INDEXING, PENDING, Chunk, FileRecord, LibraryError
from engine.storage import is_damage, storage_problem

SCHEMA_VERSION = 1

_SCHEMA = """
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
    indexed_at REAL
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
    UNIQUE(file_id, ordinal)
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_after_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunk_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_after_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunk_fts(chunk_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""

_FILE_COLUMNS = "path, content_hash, size, mtime, pages, chunks, status, error, indexed_at"


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
        try:
            if not read_only:
                self.conn.executescript(_SCHEMA)
            stored = self.get_meta("schema_version")
            if stored is None and not read_only:
                self.set_meta("schema_version", str(SCHEMA_VERSION))
            elif stored is not None and int(stored) > SCHEMA_VERSION:
                raise LibraryError(
                    f"This library was made by a newer Hearth (format {stored}).",
                    "Update Hearth to open it.",
                )
        except sqlite3.DatabaseError as exc:
            self.close()
            problem = (
                None if is_damage(exc) else storage_problem(exc, self.path, "open the library")
            )
            if problem is not None:
                raise problem from exc
            raise LibraryError(
                f"The library file {self.path} is damaged: {exc}",
                "Remove the library and index its files again.",
            ) from exc

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
        the file is read as it stands (what the last writer committed and checkpointed)."""
        uri = self.path.absolute().as_uri()
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return conn
        except sqlite3.OperationalError as exc:
            if is_damage(exc) or storage_problem(exc, self.path, "read") is None:
                raise
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)

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
                "chunks = 0, pages = NULL WHERE id = ?",
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
            {(file_id, ordinal): (chunk_id, path, page, char_start, char_end, heading, text)}
        """
        if not keys:
            return {}
        values = ",".join("(?, ?)" for _ in keys)
        flat = [part for key in keys for part in key]
        rows = self.conn.execute(
            f"WITH wanted(file_id, ordinal) AS (VALUES {values}) "
            "SELECT c.file_id, c.ordinal, c.id, f.path, c.page, c.char_start, c.char_end, "
            "c.heading, c.text FROM wanted w "
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
        else:
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
        self.conn.executemany(
            "INSERT INTO chunks(file_id, ordinal, page, char_start, char_end, heading, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (self.file_id, c.ordinal, c.page, c.char_start, c.char_end, c.heading, c.text)
                for c in chunks
            ],
        )
        self.count += len(chunks)

    def finish(self, pages: int | None) -> None:
        self.conn.execute(
            "UPDATE files SET status = ?, error = NULL, pages = ?, chunks = ?, indexed_at = ? "
            "WHERE id = ?",
            (INDEXED, pages, self.count, time.time(), self.file_id),
        )
        self.conn.execute("COMMIT")
        self._open = False

    def abort(self) -> None:
        if self._open:
            self.conn.execute("ROLLBACK")
            self._open = False
