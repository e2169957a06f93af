"""Chats on disk: conversations and their messages (with stats and sources) in one SQLite file.

WAL mode and a commit per change mean a killed process loses at most the write in flight. A reply
is marked in progress from its first write until it ends, so one cut short by a crash says so after
a restart. Deleting a conversation only marks it, so the window can offer Undo; `purge_deleted`
removes marked ones for good. A conversation id is never given twice (AUTOINCREMENT, and
`skip_ids_through` for ids whose leftovers outlived their row), so nothing kept under one, such as
its document library, can turn up in another chat.

Two Hearth windows may share the file: a write waits up to BUSY_TIMEOUT_S for the other's to end,
and every failure arrives as a `ChatStoreError` in words (a full or read-only disk, a file another
window holds), never as SQLite's own "database is locked". A failed write changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engine.context.budget import TYPED
from engine.errors import HearthError
from engine.storage import is_damage, storage_problem

T = TypeVar("T")

SCHEMA_VERSION = 4
DEFAULT_TITLE = "New chat"
# How long a write waits for another window's write to finish before giving up.
BUSY_TIMEOUT_S = 15.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    stats TEXT,
    sources TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
"""

# Version 2: documents small enough to go into every prompt of their conversation whole.
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS pinned_documents (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    added_at REAL NOT NULL,
    PRIMARY KEY (conversation_id, path)
);
"""

# Version 3: a question as the model read it (with the excerpts found for it), for later prompts.
_SCHEMA_V3 = "ALTER TABLE messages ADD COLUMN prompt TEXT"

# Version 4: a reply being written is marked until it ends, so a restart can tell one cut off by a
# crash from one that finished. Every earlier version wrote a reply's stats when it ended (done,
# stopped, failed, or Hearth closing), so its replies without stats are the ones that never ended.
_SCHEMA_V4 = """
ALTER TABLE messages ADD COLUMN in_progress INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET in_progress = 1 WHERE role = 'assistant' AND stats IS NULL
"""


class ChatStoreError(HearthError):
    """The chat database cannot be opened or written. `kind`: how the disk refused ("full",
    "read_only", "busy", "io"; see engine.storage), or "" for the file itself (damaged)."""

    def __init__(self, message: str, hint: str = "", kind: str = "") -> None:
        super().__init__(message, hint)
        self.kind = kind


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Turn SQLite errors inside a ChatStore method into a ChatStoreError in words."""

    @functools.wraps(method)
    def guarded(self: ChatStore, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._error(exc, _ACTIONS.get(method.__name__, "save the chat")) from exc

    return guarded


_ACTIONS = {"conversations": "read the chats", "conversation": "read the chat",
            "messages": "read the chat", "search": "search the chats",
            "pinned_documents": "read the chat's documents"}  # fmt: skip


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float

    @property
    def library_name(self) -> str:
        """Each conversation owns one document library, named after it."""
        return f"chat-{self.id}"


@dataclass(frozen=True)
class PinnedDocument:
    """A dropped document whose whole text goes into every prompt of its conversation."""

    conversation_id: int
    path: str
    text: str
    tokens: int


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    content: str
    created_at: float
    stats: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    prompt: str | None = None
    # A reply still being written, or one whose writing never ended (Hearth closed or crashed).
    in_progress: bool = False

    def as_prompt(self) -> dict[str, str]:
        """The message as the model's chat format expects it: as the model read it when that
        differs (a question with its excerpts, and then its words as typed under `TYPED`, for
        when the excerpts must leave the window), so a later turn's prompt starts with the
        tokens the KV cache holds and only the new turn is evaluated."""
        if self.prompt:
            return {"role": self.role, "content": self.prompt, TYPED: self.content}
        return {"role": self.role, "content": self.content}


class ChatStore:
    """All chat reads and writes. Used from one thread (the GUI thread); every call is short.

    A file on a disk that refuses writes (read-only, full) is opened for reading: the chats
    can be read, and every write raises a `ChatStoreError` in words, as any refused write does.
    `read_only` then says why.

    Args:
        path: The SQLite file; its folder is created if missing.

    Raises:
        ChatStoreError: The file exists but is not a usable database, or it cannot be read.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.read_only: ChatStoreError | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._check_writable()
        except (sqlite3.Error, OSError) as exc:
            error = self._error(exc, "open the chat history for writing")
            if error.kind not in ("read_only", "full") or not self._open_for_reading():
                raise self._error(exc, "open the chat history") from exc
            self.read_only = error

    def _check_writable(self) -> None:
        """Raise what a write would, without writing: a read-only file whose WAL files are
        already there opens for writing all the same. Another window writing right now means
        the file can be written: that is not waited for."""
        self._db.execute("PRAGMA busy_timeout = 0")
        try:
            self._db.execute("UPDATE conversations SET title = title WHERE 0")
        except sqlite3.OperationalError as exc:
            if self._error(exc, "write").kind != "busy":
                raise
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def _open_for_reading(self) -> bool:
        """Open an existing, current file read-only. Plain read-only mode reads a WAL left by a
        Hearth that was killed (its shared-memory file is there); `immutable` opens one closed
        cleanly, whose shared-memory file cannot be made on a read-only disk."""
        if not self.path.is_file():
            return False
        opened = getattr(self, "_db", None)
        if opened is not None:
            with contextlib.suppress(sqlite3.Error):
                opened.close()
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            try:
                self._db = sqlite3.connect(f"{self.path.as_uri()}?{flags}", uri=True,
                                           isolation_level=None)  # fmt: skip
                self._db.row_factory = sqlite3.Row
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.Error:
                self._db.close()
                continue
            return bool(version == SCHEMA_VERSION)
        return False

    def _error(self, exc: BaseException, action: str) -> ChatStoreError:
        """A disk problem in words, or (for a file that is truly broken) where it is."""
        problem = None if is_damage(exc) else storage_problem(exc, self.path, action)
        if problem is not None:
            return ChatStoreError(problem.message, problem.hint, kind=problem.kind)
        return ChatStoreError(
            f"The chat history file cannot be used: {self.path} ({exc}).",
            "Move the file away to start with an empty history.",
        )

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        # executescript() would commit on its own; run the statements inside one transaction.
        with self._transaction():
            scripts = [_SCHEMA] if version < 1 else []
            scripts += [_SCHEMA_V2] if version < 2 else []
            scripts += [_SCHEMA_V3] if version < 3 else []
            scripts += [_SCHEMA_V4] if version < 4 else []
            for statement in ";".join(scripts).split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # Conversations

    @_guarded
    def create_conversation(self, title: str = DEFAULT_TITLE) -> Conversation:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
            (title, now, now),
        )
        return Conversation(int(cursor.lastrowid or 0), title, now, now)

    @_guarded
    def conversation(self, conversation_id: int) -> Conversation | None:
        row = self._db.execute(
            "SELECT * FROM conversations WHERE id = ? AND deleted_at IS NULL", (conversation_id,)
        ).fetchone()
        return _conversation(row) if row else None

    @_guarded
    def conversations(self) -> list[Conversation]:
        """Live conversations, most recently active first."""
        rows = self._db.execute(
            "SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC"
        ).fetchall()
        return [_conversation(row) for row in rows]

    @_guarded
    def rename(self, conversation_id: int, title: str) -> None:
        title = " ".join(title.split()) or DEFAULT_TITLE
        self._db.execute(
            "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
        )

    @_guarded
    def delete(self, conversation_id: int) -> None:
        """Hide a conversation; `undelete` brings it back until `purge_deleted` runs."""
        self._db.execute(
            "UPDATE conversations SET deleted_at = ? WHERE id = ?", (time.time(), conversation_id)
        )

    @_guarded
    def undelete(self, conversation_id: int) -> None:
        self._db.execute(
            "UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,)
        )

    @_guarded
    def conversation_ids(self) -> set[int]:
        """The id of every conversation in the file, deleted ones not yet purged included."""
        return {int(row[0]) for row in self._db.execute("SELECT id FROM conversations")}

    @_guarded
    def skip_ids_through(self, highest: int) -> None:
        """Never give a new conversation an id up to `highest`: ids used before this file knew
        of them (a chat history moved away, whose chats' libraries stayed)."""
        row = self._db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'conversations'"
        ).fetchone()
        if row is not None and int(row[0]) >= highest:
            return  # the usual case: a read, no write at start
        with self._transaction():
            if row is None:
                self._db.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('conversations', ?)",
                    (highest,),
                )
            else:
                self._db.execute(
                    "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'conversations'",
                    (highest,),
                )

    @_guarded
    def purge_deleted(self) -> list[int]:
        """Remove hidden conversations for good. Returns their ids (to drop their libraries)."""
        # Most starts have nothing to purge: a read, not a write transaction and its fsync
        # (~15 ms on the GUI thread as the window starts).
        if not self._db.execute(
            "SELECT 1 FROM conversations WHERE deleted_at IS NOT NULL LIMIT 1"
        ).fetchone():
            return []
        with self._transaction():
            ids = [
                int(row[0])
                for row in self._db.execute(
                    "SELECT id FROM conversations WHERE deleted_at IS NOT NULL"
                ).fetchall()
            ]
            self._db.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL")
        return ids

    @_guarded
    def search(self, text: str) -> list[Conversation]:
        """Conversations whose title or any message contains `text` (case-insensitive)."""
        text = text.strip()
        if not text:
            return self.conversations()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db.execute(
            """
            SELECT * FROM conversations c WHERE deleted_at IS NULL AND (
                c.title LIKE :p ESCAPE '\\' OR EXISTS (
                    SELECT 1 FROM messages m
                    WHERE m.conversation_id = c.id AND m.content LIKE :p ESCAPE '\\'))
            ORDER BY updated_at DESC, id DESC
            """,
            {"p": pattern},
        ).fetchall()
        return [_conversation(row) for row in rows]

    # Messages

    @_guarded
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        stats: dict[str, Any] | None = None,
        sources: list[dict[str, Any]] | None = None,
        in_progress: bool = False,
    ) -> StoredMessage:
        """Add a message; `in_progress` for a reply about to be written (see `update_message`)."""
        now = time.time()
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at, stats, sources,"
                " in_progress) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, now, _dump(stats), _dump(sources or []),
                 int(in_progress)),
            )  # fmt: skip
            self._touch(conversation_id, now)
        return StoredMessage(int(cursor.lastrowid or 0), conversation_id, role, content, now, stats,
                             sources or [], in_progress=in_progress)  # fmt: skip

    @_guarded
    def update_message(
        self,
        message_id: int,
        content: str,
        stats: dict[str, Any] | None = None,
        sources: list[dict[str, Any]] | None = None,
        in_progress: bool = False,
    ) -> None:
        """Replace a message's text (and, when given, its stats and sources).

        Stats end a reply in progress: the reply is done, stopped or failed, and the stats say
        which. With `in_progress` they are its numbers so far, and it stays in progress. Text
        alone leaves the mark as it is.
        """
        stored = _dump(stats)
        self._db.execute(
            "UPDATE messages SET content = ?, stats = COALESCE(?, stats),"
            " sources = COALESCE(?, sources),"
            " in_progress = CASE WHEN ? IS NULL THEN in_progress ELSE ? END WHERE id = ?",
            (content, stored, _dump(sources), stored, int(in_progress), message_id),
        )

    @_guarded
    def set_prompt(self, message_id: int, prompt: str | None) -> None:
        """Keep `prompt`, the message as the model read it, for the prompts of later turns
        (None: send the message as typed)."""
        self._db.execute("UPDATE messages SET prompt = ? WHERE id = ?", (prompt, message_id))

    @_guarded
    def forget_prompts(self, conversation_id: int) -> None:
        """Send every question of the conversation as typed from now on: its documents changed,
        and the excerpts its questions were read with must not reach the model again."""
        self._db.execute(
            "UPDATE messages SET prompt = NULL WHERE conversation_id = ? AND prompt IS NOT NULL",
            (conversation_id,),
        )

    @_guarded
    def messages(self, conversation_id: int) -> list[StoredMessage]:
        rows = self._db.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        ).fetchall()
        return [_message(row) for row in rows]

    @_guarded
    def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Drop a message and everything after it (regenerate, edit-and-resend)."""
        self._db.execute(
            "DELETE FROM messages WHERE conversation_id = ? AND id >= ?",
            (conversation_id, message_id),
        )

    # Documents in the prompt whole

    @_guarded
    def pin_document(self, conversation_id: int, path: str, text: str, tokens: int) -> None:
        """Keep `text` (the whole of the file at `path`) in every prompt of the conversation."""
        self._db.execute(
            "INSERT OR REPLACE INTO pinned_documents"
            " (conversation_id, path, text, tokens, added_at) VALUES (?, ?, ?, ?, ?)",
            (conversation_id, path, text, int(tokens), time.time()),
        )

    @_guarded
    def unpin_document(self, conversation_id: int, path: str) -> None:
        self._db.execute(
            "DELETE FROM pinned_documents WHERE conversation_id = ? AND path = ?",
            (conversation_id, path),
        )

    @_guarded
    def pinned_documents(self, conversation_id: int) -> list[PinnedDocument]:
        """The conversation's whole documents, in the order they were added."""
        rows = self._db.execute(
            "SELECT * FROM pinned_documents WHERE conversation_id = ? ORDER BY added_at, path",
            (conversation_id,),
        ).fetchall()
        return [
            PinnedDocument(int(r["conversation_id"]), r["path"], r["text"], int(r["tokens"]))
            for r in rows
        ]

    def _touch(self, conversation_id: int, when: float) -> None:
        self._db.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ?", (when, conversation_id)
        )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _load(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(int(row["id"]), row["title"], row["created_at"], row["updated_at"])


def _message(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=int(row["id"]),
        conversation_id=int(row["conversation_id"]),
        role=row["role"],
        content=row["content"],
        created_at=row["created_at"],
        stats=_load(row["stats"], None),
        sources=_load(row["sources"], []),
        prompt=row["prompt"],
        in_progress=bool(row["in_progress"]),
    )
