"""A deleted chat's documents never turn up again: purging it removes its library (and the
folders it watched) from disk, a start removes the libraries of chats that no longer exist, and a
new chat never gets the id, and so the library, of one that was."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from app.library import protocol
from app.paths import app_paths
from engine.chat_store import ChatStore
from engine.library import remove_library
from engine.library.types import MANIFEST_FILE
from engine.library.watched import all_watched_folders, save_watched_folders
from tests.conftest import FakeApp
from tests.fakes import FakeEngine, FakeLibraryClient


class DiskLibraries(FakeLibraryClient):
    """The fake library client, but libraries are folders under `root` and removing one removes
    its folder as the library process does (engine.library.remove_library)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def exists(self, name: str) -> bool:
        return (self.root / name / MANIFEST_FILE).is_file()

    def call(self, request, on_event=None, cancel=None):
        if isinstance(request, protocol.RemoveLibrary):
            self.calls.append(request)
            if self.exists(request.library):
                remove_library(self.root, request.library)
            return None
        return super().call(request, on_event, cancel)


def make_library(root: Path, name: str, watched: Path | None = None) -> Path:
    """A library folder as one with documents looks on disk: manifest, data, watched folders."""
    folder = root / name
    (folder / "chroma").mkdir(parents=True)
    (folder / MANIFEST_FILE).write_bytes(b"manifest")
    (folder / "chroma" / "data.bin").write_bytes(b"\0" * 100_000)
    if watched is not None:
        save_watched_folders(folder, [str(watched)])
    return folder


def dead_pid() -> int:
    pid = 4_000_000
    while psutil.pid_exists(pid):
        pid += 1
    return pid


def test_purging_a_chat_removes_its_library_before_any_folder_is_followed(qtbot, tmp_path):
    paths = app_paths().ensure()
    docs = tmp_path / "docs"
    docs.mkdir()
    store = ChatStore(paths.chats_db)
    deleted = store.create_conversation("Private")
    store.add_message(deleted.id, "user", "About my documents")
    store.pin_document(deleted.id, str(docs / "a.txt"), "secret text", 3)
    kept = store.create_conversation("Kept")
    store.add_message(kept.id, "user", "Hello")
    store.delete(deleted.id)
    store.close()
    root = paths.libraries_dir
    make_library(root, f"chat-{deleted.id}", watched=docs)
    make_library(root, f"chat-{kept.id}", watched=docs)
    make_library(root, "guide")  # made with `hearth index`: not a chat's
    half = root / f".chat-7.removing-{dead_pid()}"  # an earlier removal that was cut short
    half.mkdir()
    (half / "data.bin").write_bytes(b"\0" * 1000)

    libraries = DiskLibraries(root)
    app = FakeApp(qtbot, FakeEngine(reply="Hi."), libraries).start()
    try:
        qtbot.wait_until(lambda: protocol.FollowFolders() in libraries.calls, timeout=10000)
        assert not (root / f"chat-{deleted.id}").exists()
        assert not half.exists()
        assert (root / f"chat-{kept.id}").is_dir() and (root / "guide").is_dir()
        assert set(all_watched_folders(root)) == {f"chat-{kept.id}"}
        # Its folders were no longer on the list when the watched folders were followed.
        removed = libraries.calls.index(protocol.RemoveLibrary(f"chat-{deleted.id}"))
        assert removed < libraries.calls.index(protocol.FollowFolders())

        app.controller.conversations.on_new()
        app.send("A new question.")
        app.wait_reply()
        new = app.conversation
        assert new.id > 7  # above every id a library on disk was named after
        assert app.controller.store.pinned_documents(new.id) == []
        assert app.controller.documents.library_for(new) == ""
        assert "Following" not in app.window.notice.text()
    finally:
        app.stop()


def test_a_library_left_by_a_chat_history_moved_away_is_not_inherited(qtbot, tmp_path):
    """The chats file was moved away (or lost), its chats' libraries stayed: the new file would
    number its first chat 1, and that chat would have chat 1's documents and folders."""
    paths = app_paths().ensure()
    docs = tmp_path / "docs"
    docs.mkdir()
    old = make_library(paths.libraries_dir, "chat-1", watched=docs)
    bare = paths.libraries_dir / "chat-2"  # made, never written to: no manifest
    bare.mkdir()

    libraries = DiskLibraries(paths.libraries_dir)
    app = FakeApp(qtbot, FakeEngine(reply="Hi."), libraries).start()
    try:
        app.send("Hello.")
        app.wait_reply()
        assert app.conversation.id == 3
        assert app.controller.documents.library_for(app.conversation) == ""
        qtbot.wait_until(lambda: not old.exists() and not bare.exists(), timeout=10000)
        assert all_watched_folders(paths.libraries_dir) == {}
    finally:
        app.stop()


def test_a_start_with_nothing_deleted_writes_nothing(qtbot):
    """Most starts: no folder to remove and no id to skip, so the store is only read."""
    paths = app_paths().ensure()
    store = ChatStore(paths.chats_db)
    chat = store.create_conversation("Kept")
    store.close()
    make_library(paths.libraries_dir, f"chat-{chat.id}")
    before = os.stat(paths.chats_db).st_mtime_ns, _wal_size(paths.chats_db)

    libraries = DiskLibraries(paths.libraries_dir)
    app = FakeApp(qtbot, FakeEngine(), libraries).start()
    try:
        assert (os.stat(paths.chats_db).st_mtime_ns, _wal_size(paths.chats_db)) == before
        assert not any(isinstance(c, protocol.RemoveLibrary) for c in libraries.calls)
        assert (paths.libraries_dir / f"chat-{chat.id}").is_dir()
    finally:
        app.stop()


def _wal_size(db: Path) -> int:
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0
