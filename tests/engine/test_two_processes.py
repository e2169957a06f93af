"""Two Hearth windows (two processes) on the same data: chats and libraries stay consistent, one
waits or says the other is busy, and "database is locked" never reaches a person."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from engine.chat_store import ChatStore, ChatStoreError
from engine.library import Library, list_libraries
from engine.library.types import LibraryError

MESSAGES = 150


def _chat_writer(path: str, tag: str) -> None:
    store = ChatStore(path)
    chat = store.create_conversation(tag)
    for i in range(MESSAGES):
        store.add_message(chat.id, "user", f"{tag} {i}")
        store.rename(chat.id, f"{tag} after {i}")
    store.close()


def _hold_a_write(path: str, held, release) -> None:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE conversations SET title = 'held'")
    held.set()
    release.wait(30)
    db.execute("ROLLBACK")
    db.close()


def spawn(target, *args):
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    return process


def test_three_windows_writing_chats_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "chats.sqlite3")
    ChatStore(path).close()
    writers = [spawn(_chat_writer, path, f"window {n}") for n in range(3)]
    for process in writers:
        process.join(120)
    assert [process.exitcode for process in writers] == [0, 0, 0]
    store = ChatStore(path)
    chats = store.conversations()
    assert len(chats) == 3
    for chat in chats:
        assert [m.content for m in store.messages(chat.id)] == [
            f"{chat.title.split(' after ')[0]} {i}" for i in range(MESSAGES)
        ]


def test_a_window_that_cannot_get_its_turn_says_so_in_words(tmp_path, monkeypatch):
    path = str(tmp_path / "chats.sqlite3")
    store = ChatStore(path)
    chat = store.create_conversation("Mine")
    store.close()
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    other = spawn(_hold_a_write, path, held, release)
    try:
        assert held.wait(60)
        monkeypatch.setattr("engine.chat_store.BUSY_TIMEOUT_S", 0.3)
        store = ChatStore(path)
        started = time.monotonic()
        with pytest.raises(ChatStoreError) as caught:
            store.add_message(chat.id, "user", "hello")
        assert time.monotonic() - started >= 0.25, "it waited for its turn first"
        assert "another Hearth window is writing" in caught.value.message
        assert "locked" not in str(caught.value)
    finally:
        release.set()
        other.join(30)
    store.add_message(chat.id, "user", "hello")  # once the other is done, the write goes through
    assert [m.content for m in store.messages(chat.id)] == ["hello"]
    store.close()


def _index(root: str, docs: str, started) -> None:
    with Library.open(root, "shared") as library:
        started.set()
        library.index([docs])


@pytest.mark.slow
def test_a_second_window_reads_a_library_the_first_is_indexing_and_waits_to_index_it(
    tmp_path, embedding_model_dir
):
    from engine.library.embed import Embedder

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"note-{i}.txt").write_text(f"Note {i}: the harbour crane lifts boxes. " * 300)
    root = tmp_path / "libraries"
    embedder = Embedder(embedding_model_dir)
    with Library.open(root, "shared", embedder) as library:
        library.index([docs / "note-0.txt"])
    started = multiprocessing.get_context("spawn").Event()
    indexing = spawn(_index, str(root), str(docs), started)
    try:
        assert started.wait(120)
        refused = seen = 0
        while indexing.is_alive() and seen < 20:
            info = next(i for i in list_libraries(root) if i.name == "shared")
            assert info.failed == 0
            with Library.open(root, "shared", embedder) as library:
                assert library.search("harbour crane", k=1)
                try:
                    library.index([docs / "note-0.txt"])
                except LibraryError as exc:
                    assert "being indexed by another Hearth process" in exc.message
                    refused += 1
            seen += 1
        assert refused, "the second window was told the first is indexing"
    finally:
        indexing.join(600)
    assert indexing.exitcode == 0
    assert next(i for i in list_libraries(root) if i.name == "shared").files == 12
