"""Watched folders in the real library process: a folder dropped once is followed, its changes
reach the window as events, and changes made while Hearth was closed are caught up at the next
start. Each test starts real library processes with the real embedding model."""

from __future__ import annotations

import queue
import shutil
import threading
import time
from pathlib import Path

import pytest

from app.library.client import LibraryClient
from app.library.protocol import (
    FolderState,
    FollowFolders,
    IndexFiles,
    ListFiles,
    StopWatching,
    WatchedFolders,
    WatchFolder,
    WatchProgress,
    WatchReport,
)
from engine.library.types import INDEXED, REMOVED
from engine.library.watched import MISSING, WATCHING

pytestmark = pytest.mark.slow

TIMEOUT_S = 60.0  # a busy two-core machine, and a process that imports torch first


class Following:
    """A `FollowFolders` call waiting on its own thread, as the window's follower does."""

    def __init__(self, client: LibraryClient) -> None:
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(
            target=lambda: client.call(FollowFolders(), on_event=self.events.put), daemon=True
        )
        self.thread.start()

    def next(self, kind: type, where=lambda _event: True):
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(event, kind) and where(event):
                return event

    def report(self) -> dict[str, str]:
        event = self.next(WatchReport, lambda e: any(o.status != "unchanged"
                                                     for o in e.report.all_outcomes))  # fmt: skip
        return {Path(o.path).name: o.status for o in event.report.all_outcomes
                if o.status != "unchanged"}  # fmt: skip


def _names(client: LibraryClient, library: str) -> list[str]:
    return sorted(Path(r.path).name for r in client.call(ListFiles(library)))


def test_a_watched_folder_is_followed_and_caught_up_after_a_restart(tmp_path):
    root = tmp_path / "libraries"
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "tides.txt").write_text("High tide comes twice a day at the harbour.")
    (folder / "old.txt").write_text("The old pier was closed in the winter of 1987.")

    client = LibraryClient(root, root / "library.log")
    try:
        client.call(IndexFiles("chat-1", (str(folder),)))  # the drop
        following = Following(client)
        watched = client.call(WatchFolder("chat-1", str(folder)))
        assert watched.path == str(folder)
        state = following.next(FolderState, lambda e: e.folder.state == WATCHING)
        assert state.folder.library == "chat-1"

        (folder / "boats.txt").write_text("Boats leave the harbour before dawn.")
        progress = following.next(WatchProgress)
        assert (progress.library, Path(progress.progress.path).name) == ("chat-1", "boats.txt")
        assert following.report() == {"boats.txt": INDEXED}
        assert _names(client, "chat-1") == ["boats.txt", "old.txt", "tides.txt"]
    finally:
        client.close()
    following.thread.join(TIMEOUT_S)
    assert not following.thread.is_alive()  # the long call ends when the process stops

    # While Hearth is closed: one file changes, one is deleted, one is added.
    (folder / "tides.txt").write_text("High tide comes three times on spring days, they say.")
    (folder / "old.txt").unlink()
    (folder / "market.txt").write_text("The fish market opens every Saturday on the quay.")

    client = LibraryClient(root, root / "library.log")
    try:
        following = Following(client)  # the window does this at start
        assert following.report() == {
            "old.txt": REMOVED,
            "tides.txt": INDEXED,
            "market.txt": INDEXED,
        }
        assert _names(client, "chat-1") == ["boats.txt", "market.txt", "tides.txt"]
        [folder_state] = client.call(WatchedFolders("chat-1"))
        assert (folder_state.path, folder_state.state) == (str(folder), WATCHING)

        # The folder goes away (its drive unplugged): said in words, the documents stay.
        away = tmp_path / "elsewhere"
        folder.rename(away)
        gone = following.next(FolderState, lambda e: e.folder.state == MISSING)
        assert "notes is gone" in gone.folder.message
        assert _names(client, "chat-1") == ["boats.txt", "market.txt", "tides.txt"]
        # Back, with a file added meanwhile: followed again after catching up.
        (away / "ferry.txt").write_text("The ferry to the island leaves at nine.")
        away.rename(folder)
        assert following.report() == {"ferry.txt": INDEXED}
        assert client.call(WatchedFolders("chat-1"))[0].state == WATCHING
        shutil.rmtree(folder)
        following.next(FolderState, lambda e: e.folder.state == MISSING)
        assert len(_names(client, "chat-1")) == 4  # deleting the folder removes nothing

        # Stopping watching forgets the folder and keeps its documents.
        assert client.call(StopWatching("chat-1", str(folder))) is True
        assert client.call(WatchedFolders("chat-1")) == ()
        assert _names(client, "chat-1") == ["boats.txt", "ferry.txt", "market.txt", "tides.txt"]
    finally:
        client.close()
    assert not (root / "chat-1" / "watched.json").exists()
