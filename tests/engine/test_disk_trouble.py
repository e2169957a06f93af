"""A full or read-only disk while indexing, saving a chat or saving settings: one message in words
that names the disk, the previous state intact, nothing called damaged, and the same action works
once there is room again. Real small disks (tmpfs) where they can be mounted; fault injection for
what a real disk cannot be made to do on cue."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from engine.chat_store import ChatStore, ChatStoreError
from engine.library import Library, list_libraries, remove_library
from engine.library.types import LibraryError
from engine.storage import StorageError, storage_problem
from tests.engine.disks import fill, read_only, small_disk


@pytest.fixture(scope="module")
def embedder(embedding_model_dir):
    from engine.library.embed import Embedder

    shared = Embedder(embedding_model_dir)
    shared.load()
    return shared


def write_docs(folder, count, size, word):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sentence = f"The {word} number {i} is described in plain words, line by line. "
        (folder / f"{word}-{i}.txt").write_text(sentence * (size // len(sentence) + 1))
    return folder


def index(root, name, docs, embedder):
    with Library.open(root, name, embedder) as library:
        return library.index([docs])


@pytest.mark.slow
def test_indexing_on_a_full_disk_stops_in_words_and_the_first_library_stays_whole(
    tmp_path, embedder, monkeypatch
):
    with small_disk(tmp_path / "disk", 12) as disk:
        root = disk / "libraries"
        first = write_docs(tmp_path / "first", 3, 2_000, "lantern")
        second = write_docs(tmp_path / "second", 3, 30_000, "harbour")
        assert index(root, "first", first, embedder).indexed == 3

        # Before: the disk filled to the last byte, then "damaged: disk I/O error" for `first`.
        filler = fill(disk, leave_bytes=4 * 2**20)
        with pytest.raises(StorageError) as caught:
            index(root, "second", second, embedder)
        assert caught.value.kind == "full"
        assert f"mounted at {disk}" in caught.value.message and "MB free" in caught.value.message
        assert "damaged" not in str(caught.value) and "Nothing was lost" in caught.value.hint

        # The estimate can be wrong: let the disk fill up during a file.
        monkeypatch.setattr("engine.library.indexer.space_needed", lambda size: 0)
        filler.unlink()
        filler = fill(disk, leave_bytes=150_000)
        with pytest.raises(StorageError, match="is full"):
            index(root, "second", second, embedder)
        infos = {info.name: info for info in list_libraries(root)}  # works on a full disk
        assert infos["first"].files == 3 and infos["first"].failed == 0
        assert infos["second"].failed == 0, "a full disk is not the files' fault"

        filler.unlink()  # space is back: the same actions work
        with Library.open(root, "first", embedder) as library:
            assert library.search("lantern", k=1)
        assert index(root, "second", second, embedder).indexed == 3
        remove_library(root, "second")


@pytest.mark.slow
def test_a_library_can_be_removed_and_read_on_a_full_disk(tmp_path, embedder):
    with small_disk(tmp_path / "disk", 12) as disk:
        root = disk / "libraries"
        index(root, "keep", write_docs(tmp_path / "a", 2, 2_000, "kettle"), embedder)
        index(root, "drop", write_docs(tmp_path / "b", 2, 2_000, "anchor"), embedder)
        fill(disk)
        assert [info.files for info in list_libraries(root)] == [2, 2]
        remove_library(root, "drop")  # removing is how space comes back
        assert [info.name for info in list_libraries(root)] == ["keep"]


def test_saving_a_chat_on_a_full_disk_loses_nothing(tmp_path):
    with small_disk(tmp_path / "disk", 4) as disk:
        store = ChatStore(disk / "chats.sqlite3")
        chat = store.create_conversation("Groceries")
        store.add_message(chat.id, "user", "Apples and bread.")
        filler = fill(disk)
        with pytest.raises(ChatStoreError) as caught:
            store.add_message(chat.id, "assistant", "A long answer. " * 50_000)
        assert "is full" in caught.value.message and f"mounted at {disk}" in caught.value.message
        assert [m.content for m in store.messages(chat.id)] == ["Apples and bread."]
        filler.unlink()
        store.add_message(chat.id, "assistant", "Noted.")
        assert len(store.messages(chat.id)) == 2
        store.close()


def test_settings_on_a_full_and_a_read_only_disk_keep_their_values(tmp_path):
    from app.settings import Settings
    from engine.settings_schema import SettingError

    with small_disk(tmp_path / "disk", 2) as disk:
        settings = Settings(disk / "config" / "settings.json")
        settings.set("sampling.temperature", 0.3)
        saved = (disk / "config" / "settings.json").read_text()
        filler = fill(disk)
        with pytest.raises(SettingError, match="is full"):
            settings.set("sampling.temperature", 0.9)
        assert settings.get("sampling.temperature") == 0.3
        assert (disk / "config" / "settings.json").read_text() == saved
        filler.unlink()
        read_only(disk)
        try:
            with pytest.raises(SettingError, match="cannot be written to"):
                settings.set("sampling.top_k", 10)
            assert settings.get("sampling.top_k") == 40
        finally:
            read_only(disk, False)
        settings.set("sampling.top_k", 10)
        assert Settings(disk / "config" / "settings.json").get("sampling.top_k") == 10


@pytest.mark.slow
def test_a_read_only_data_folder_is_named_and_nothing_is_damaged(tmp_path, embedder):
    with small_disk(tmp_path / "disk", 12) as disk:
        root = disk / "libraries"
        docs = write_docs(tmp_path / "docs", 1, 2_000, "lamp")
        index(root, "notes", docs, embedder)
        store = ChatStore(disk / "chats.sqlite3")
        chat = store.create_conversation("Lamps")
        store.add_message(chat.id, "user", "How bright is the lamp?")
        # As a Hearth that was killed leaves it: its WAL and shared-memory files still there.
        (disk / "killed").mkdir()
        for part in ("", "-wal", "-shm"):
            shutil.copy(disk / f"chats.sqlite3{part}", disk / "killed" / f"chats.sqlite3{part}")
        store.close()
        write_docs(docs, 2, 2_000, "wick")
        read_only(disk)
        try:
            assert list_libraries(root)[0].files == 1
            with pytest.raises(StorageError) as caught:
                index(root, "notes", docs, embedder)
            assert caught.value.kind == "read_only" and "damaged" not in str(caught.value)
            store = ChatStore(disk / "chats.sqlite3")  # opened for reading, and says why
            assert store.read_only is not None and "read-only" in str(store.read_only)
            assert [c.title for c in store.conversations()] == ["Lamps"]
            assert store.messages(chat.id)[0].content == "How bright is the lamp?"
            with pytest.raises(ChatStoreError, match="cannot be written to"):
                store.add_message(chat.id, "user", "hi")
            store.close()
            killed = ChatStore(disk / "killed" / "chats.sqlite3")
            assert killed.read_only is not None
            assert killed.messages(chat.id)[0].content == "How bright is the lamp?"
            killed.close()
        finally:
            read_only(disk, False)
        assert index(root, "notes", docs, embedder).indexed == 2


@pytest.mark.parametrize("state", ["read_only", "full"])
def test_a_library_on_a_read_only_or_full_disk_is_still_searched_and_shown(
    tmp_path, embedder, state
):
    """chromadb writes to its database whenever it opens one: before, `hearth search` and
    `hearth library show` stopped with "Could not open the library's vector index". Now the
    vectors' snapshot serves searches in full; without one, words alone do, and say so."""
    from engine.library.snapshot import remove_snapshot

    word = "full" if state == "full" else "read-only"
    with small_disk(tmp_path / "disk", 12) as disk:
        root = disk / "libraries"
        docs = write_docs(tmp_path / "docs", 2, 2_000, "lighthouse")
        index(root, "notes", docs, embedder)
        for snapshot in (True, False):
            if not snapshot:
                remove_snapshot(root / "notes")
            filler = fill(disk) if state == "full" else read_only(disk)
            try:
                with Library.open(root, "notes", embedder, create=False) as library:
                    assert len(library.files()) == 2 and library.info().chunks > 0
                    hits = library.search("lighthouse number 1", k=2)
                    assert hits and "lighthouse" in hits[0].text
                    if snapshot:  # meaning and words, from the snapshot: nothing to say
                        assert library.search_note == ""
                        assert all(hit.similarity is not None for hit in hits)
                    else:
                        note = f"disk is {word}, so searches match words only"
                        assert note in library.search_note
                    with pytest.raises(StorageError) as caught:
                        library.remove_file(next(iter(library.files())).path)
                    assert caught.value.kind == state and "damaged" not in str(caught.value)
            finally:
                if filler is not None:
                    filler.unlink()
                else:
                    read_only(disk, False)
        with Library.open(root, "notes", embedder, create=False) as library:
            assert library.search_note == "" and len(library.search("lighthouse", k=2)) == 2
            assert library.remove_file(next(iter(library.files())).path)


# --- what a real disk cannot be made to do on cue -----------------------------------------------


def test_a_vector_store_that_fills_up_mid_file_stops_the_run_and_keeps_the_file_pending(
    tmp_path, embedder, monkeypatch
):
    from engine.library.store import VectorStore

    docs = write_docs(tmp_path / "docs", 3, 2_000, "bell")
    calls = {"n": 0}
    original = VectorStore.add

    def add(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:  # chromadb's words for SQLite's SQLITE_FULL
            raise RuntimeError("Error executing plan: database or disk is full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VectorStore, "add", add)
    with Library.open(tmp_path / "libs", "bells", embedder) as library:
        with pytest.raises(StorageError, match="is full") as caught:
            library.index([docs])
        assert "index again to finish" in caught.value.hint
        statuses = sorted(record.status for record in library.files())
    assert statuses == ["indexed", "pending", "pending"]


def test_an_io_error_is_not_called_damage_but_a_broken_file_is(tmp_path):
    io = storage_problem(sqlite3.OperationalError("disk I/O error"), tmp_path, "open the library")
    assert io is not None and io.kind == "io" and "input/output error" in io.message
    broken = tmp_path / "lib" / "library.sqlite3"
    broken.parent.mkdir()
    broken.write_bytes(b"this is not a database, it is a shopping list" * 100)
    from engine.library.manifest import Manifest

    with pytest.raises(LibraryError, match="is damaged"):
        Manifest(broken)


def test_a_failed_atomic_write_names_the_disk_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno
    import os

    from engine.atomic_io import write_json_atomic

    target = tmp_path / "models.json"
    write_json_atomic(target, {"version": 1})

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError, match="is full"):
        write_json_atomic(target, {"version": 2})
    assert '"version": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["models.json"], "no temporary file is left"


def test_an_output_on_a_read_only_disk_is_refused_before_any_work(tmp_path, capsys):
    """A variant or benchmark results aimed at a folder nothing can be written to: one line
    naming the folder, exit 2, before quantizing or measuring (not an unexpected error after)."""
    from app.cli import main
    from tests.engine.context.tiny_gguf import write_tiny_model

    source = write_tiny_model(tmp_path / "tiny.gguf")
    with small_disk(tmp_path / "disk", 2) as disk:
        read_only(disk)
        try:
            for args in (
                ["quantize", str(source), "--type", "Q8_0", "--out", str(disk / "v.gguf")],
                ["bench", "run", str(source), "--save", str(disk / "out" / "r.json")],
            ):
                code = main(args)
                err = capsys.readouterr().err
                assert code == 2 and err.count("\n") == 1, err
                assert f"{disk} cannot be written to" in err and "unexpected" not in err
            assert list(disk.iterdir()) == []
        finally:
            read_only(disk, False)
