"""A watched folder whose library's disk fills up: its state names the disk, not the folder, and
following starts again by itself once there is room, reading the files left pending."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from app.library.libraries import Libraries
from app.library.protocol import FolderState, WatchReport
from app.library.watchers import FolderWatchers
from engine.library import Library
from engine.library.types import INDEXED
from engine.library.watched import DISK_FULL, SYNCING, WATCHING
from engine.storage import StorageError


@pytest.fixture(scope="module")
def embedder(embedding_model_dir):
    from engine.library.embed import Embedder

    model = Embedder(embedding_model_dir)
    model.load()
    return model


def test_a_full_disk_pauses_the_watch_in_its_own_words_and_it_resumes_with_room(
    tmp_path, embedder, monkeypatch
):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "gnuplot.txt").write_text("Plots are drawn with gnuplot. " * 50)
    room = threading.Event()
    real_index = Library.index

    def index(self, paths, progress=None, cancel=None):
        if not room.is_set():
            raise StorageError(f"Could not index into the library: the disk holding {tmp_path} "
                               "is full (0 B free).", "Free some space.", "full", str(tmp_path))  # fmt: skip
        return real_index(self, paths, progress, cancel)

    monkeypatch.setattr(Library, "index", index)
    monkeypatch.setattr("app.library.watchers.RETRY_S", 0.05)
    monkeypatch.setattr("engine.library.watch.FolderWatcher.library_writable",
                        lambda _self: room.is_set())  # fmt: skip
    watchers = FolderWatchers(Libraries(tmp_path / "libraries", embedder), debounce_ms=200)
    events: queue.Queue = queue.Queue()
    follower = threading.Thread(target=watchers.follow, args=(events.put,), daemon=True)
    follower.start()

    def next_state(*states: str) -> FolderState:
        while True:
            event = events.get(timeout=60)
            if isinstance(event, FolderState) and event.folder.state in states:
                return event

    try:
        watchers.watch("chat-1", str(folder))
        paused = next_state(DISK_FULL, "unreadable", "stopped").folder
        # Before: "unreadable" ("big — cannot be read"), and never followed again.
        assert paused.state == DISK_FULL and not paused.followed
        assert "is full" in paused.message and "Hearth paused following big" in paused.message
        assert "catches up by itself once there is free space" in paused.message
        assert "may not read" not in paused.message and "permission" not in paused.message

        room.set()  # space freed
        assert next_state(SYNCING, WATCHING).folder.followed
        while not isinstance(report := events.get(timeout=60), WatchReport):
            pass
        assert {Path(o.path).name: o.status for o in report.report.outcomes} == {
            "gnuplot.txt": INDEXED
        }
    finally:
        watchers.close()
        follower.join(10)
