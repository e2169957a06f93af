"""A library on a full disk: it is never called damaged, no half-made library is left behind, the
files a stopped run did not finish say why and how they get read, and the library takes writes
again once there is room. Faults a real disk cannot be made to do on cue are injected here;
tests/engine/test_disk_trouble.py has the same on a real small disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.library import Library, list_libraries
from engine.library.types import INDEXED, MANIFEST_FILE, PENDING, LibraryError
from engine.storage import StorageError

FULL = "database or disk is full"  # SQLite's words for SQLITE_FULL


class _FullConnection(sqlite3.Connection):
    """A connection on a disk with no room left: making the tables fails."""

    def executescript(self, script):  # type: ignore[override]
        raise sqlite3.OperationalError(FULL)


REAL_CONNECT = sqlite3.connect


def _connect_on_full_disk(*args, **kwargs):
    """Writers of files cannot make their tables; readers (opened by URI) and databases in
    memory are untouched."""
    if kwargs.get("uri") or args[0] == ":memory:":
        return REAL_CONNECT(*args, **kwargs)
    return REAL_CONNECT(*args, factory=_FullConnection, **kwargs)


@pytest.fixture
def full_disk(monkeypatch):
    monkeypatch.setattr(sqlite3, "connect", _connect_on_full_disk)


def write_docs(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i}.txt").write_text(f"Harbour note {i}: the tide turns at dawn. " * 40)
    return folder


def test_a_library_made_on_a_full_disk_says_the_disk_is_full_and_leaves_nothing(
    tmp_path, embedder, full_disk, monkeypatch
):
    root = tmp_path / "libraries"
    with pytest.raises(StorageError) as caught:
        Library.open(root, "chat-1", embedder)
    said = str(caught.value)
    assert caught.value.kind == "full" and "is full" in said and "Nothing was lost" in said
    assert "damaged" not in said and "Remove the library" not in said
    # Before: a 0-byte library.sqlite3 stayed, and every later open called it damaged.
    assert not (root / "chat-1").exists()
    assert list_libraries(root) == []

    monkeypatch.undo()  # space is back: the same library is made as if nothing happened
    with Library.open(root, "chat-1", embedder) as library:
        assert library.index([write_docs(tmp_path / "docs", 1)]).indexed == 1


def test_a_manifest_left_without_tables_reads_as_an_empty_library_not_a_damaged_one(
    tmp_path, embedder, full_disk, monkeypatch
):
    root = tmp_path / "libraries"
    (root / "chat-2").mkdir(parents=True)
    (root / "chat-2" / MANIFEST_FILE).write_bytes(b"")  # what an earlier full disk left
    assert [(info.name, info.files) for info in list_libraries(root)] == [("chat-2", 0)]
    with Library.open(root, "chat-2", embedder, create=False) as library:
        assert library.files() == []
        with pytest.raises(StorageError, match="is full"):
            library.index([write_docs(tmp_path / "docs", 1)])
    assert (root / "chat-2" / MANIFEST_FILE).exists(), "a file this open did not make stays"


def test_a_library_opened_on_a_full_disk_is_written_again_once_there_is_room(
    tmp_path, embedder, monkeypatch
):
    root = tmp_path / "libraries"
    docs = write_docs(tmp_path / "docs", 2)
    Library.open(root, "kept", embedder).close()
    monkeypatch.setattr(sqlite3, "connect", _connect_on_full_disk)
    with Library.open(root, "kept", embedder) as library:  # read-only while the disk is full
        with pytest.raises(StorageError, match="is full"):
            library.index([docs])
        monkeypatch.setattr(sqlite3, "connect", REAL_CONNECT)  # space freed, still open
        assert library.index([docs]).indexed == 2


def test_a_real_damaged_manifest_is_still_called_damaged(tmp_path, embedder):
    folder = tmp_path / "libraries" / "broken"
    folder.mkdir(parents=True)
    (folder / MANIFEST_FILE).write_bytes(b"a shopping list, not a database " * 200)
    with pytest.raises(LibraryError, match="is damaged"):
        Library.open(tmp_path / "libraries", "broken", embedder)
    assert (folder / MANIFEST_FILE).stat().st_size > 0, "a file holding data is never removed"


def test_files_a_run_stopped_by_a_full_disk_did_not_finish_say_why_and_are_read_later(
    tmp_path, open_library, monkeypatch
):
    from engine.library.manifest import ChunkWriter
    from engine.library.store import VectorStore

    docs = write_docs(tmp_path / "docs", 4)
    library = open_library()
    calls = {"n": 0}
    real_add, real_delete = ChunkWriter.add, VectorStore.delete_file

    def add(self, chunks):
        calls["n"] += 1
        if calls["n"] == 2:
            # As SQLite does on SQLITE_FULL: the transaction is rolled back, then the error.
            self.conn.execute("ROLLBACK")
            raise sqlite3.OperationalError(FULL)
        return real_add(self, chunks)

    def delete_file(self, file_id):
        if calls["n"] >= 2:  # chromadb cannot write either
            raise RuntimeError(f"Error executing plan: {FULL}")
        return real_delete(self, file_id)

    monkeypatch.setattr(ChunkWriter, "add", add)
    monkeypatch.setattr(VectorStore, "delete_file", delete_file)
    with pytest.raises(StorageError, match="is full"):
        library.index([docs])
    records = {Path(r.path).name: r for r in library.files()}
    assert records["note-0.txt"].status == INDEXED
    for name in ("note-1.txt", "note-2.txt", "note-3.txt"):
        # Before: the file being read stayed "indexing" for good, the others plain "pending".
        assert records[name].status == PENDING, name
        assert records[name].error is not None
        assert records[name].error.startswith("not read: the disk was full; free some space")
        assert "Re-index" in records[name].error and "hearth index" in records[name].error

    monkeypatch.undo()
    report = library.resume()
    assert report.indexed == 3
    assert {(r.status, r.error) for r in library.files()} == {(INDEXED, None)}
