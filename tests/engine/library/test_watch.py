"""A watched folder keeps its library in step: new, changed, moved and deleted files."""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from pathlib import Path

import pytest

from engine.library.types import BROKEN_LINK, INDEXED, NOT_REGULAR, REMOVED
from engine.library.watch import FolderUnavailable, FolderWatcher
from engine.library.watched import MISSING


def test_watched_folder_follows_new_changed_moved_and_deleted_files(tmp_path, open_library):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "first.txt").write_text("Lighthouse lamps are cleaned every Monday.")
    library = open_library()
    reports: queue.Queue = queue.Queue()
    watcher = FolderWatcher(library, [folder], on_report=reports.put, debounce_ms=300)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()

    def next_report(timeout: float = 60.0) -> dict[str, str]:
        report = reports.get(timeout=timeout)
        return {Path(o.path).name: o.status for o in report.all_outcomes}

    try:
        assert next_report() == {"first.txt": INDEXED}
        assert watcher.ready.wait(10)
        (folder / "second.txt").write_text("Fog horns sound twice a minute in fog.")
        (folder / ".hidden.txt").write_text("never indexed")
        assert next_report() == {"second.txt": INDEXED}
        time.sleep(0.05)
        (folder / "first.txt").write_text("Lighthouse lamps are cleaned every Friday now.")
        assert next_report() == {"first.txt": INDEXED}
        assert "Friday" in library.search("when are the lamps cleaned", k=1)[0].text
        (folder / "second.txt").rename(folder / "moved.txt")
        got = next_report()
        assert got == {"second.txt": REMOVED, "moved.txt": INDEXED}
        (folder / "moved.txt").unlink()
        assert next_report() == {"moved.txt": REMOVED}
        assert sorted(Path(r.path).name for r in library.files()) == ["first.txt"]
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()


class RecordingLibrary:
    """Stands in for a library where only the batching is under test: records each index call."""

    name = "recorded"

    def __init__(self) -> None:
        self.batches: list[list[Path]] = []

    def index(self, paths, progress=None, cancel=None):
        from engine.library.types import IndexReport

        self.batches.append(list(paths))
        return IndexReport(self.name)

    def files(self):
        return []

    def remove_file(self, _path) -> bool:
        return False


def _watching(watcher: FolderWatcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    assert watcher.ready.wait(30), "the watcher never started"
    return thread


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_checkout_of_a_thousand_files_and_an_editors_save_are_one_batch_each(tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    library = RecordingLibrary()
    watcher = FolderWatcher(library, [folder], debounce_ms=500)
    thread = _watching(watcher)
    try:
        assert library.batches == [[folder]]  # the catch-up at the start
        for n in range(1000):  # a checkout: files appear in a burst, folders among them
            sub = folder / f"part{n // 100}"
            sub.mkdir(exist_ok=True)
            (sub / f"page{n}.txt").write_text(f"page {n}")
        _wait_for(lambda: len(library.batches) >= 2)
        time.sleep(1.5)  # a second batch would come within a debounce or two
        assert len(library.batches) == 2, [len(b) for b in library.batches]
        batch = library.batches[1]
        covered = {p for p in batch if p.is_file()} | {
            f for p in batch if p.is_dir() for f in p.rglob("*.txt")
        }
        assert len(covered) == 1000
        # An editor's save: write a temporary file, then rename it over the document.
        (folder / "notes.txt").write_text("first")
        _wait_for(lambda: len(library.batches) == 3)
        (folder / ".notes.txt.swp").write_text("swap")
        (folder / "notes.txt.tmp").write_text("second")
        os.replace(folder / "notes.txt.tmp", folder / "notes.txt")
        _wait_for(lambda: len(library.batches) == 4)
        time.sleep(1.0)
        assert len(library.batches) == 4
        assert library.batches[3] == [folder / "notes.txt"]
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_a_watched_folder_that_goes_away_stops_the_watch_and_keeps_its_documents(
    tmp_path, open_library
):
    folder = tmp_path / "usb-stick"
    (folder / "trip").mkdir(parents=True)
    (folder / "trip" / "plan.txt").write_text("The ferry leaves at nine from pier four.")
    library = open_library()
    errors: queue.Queue = queue.Queue()
    watcher = FolderWatcher(library, [folder], debounce_ms=300)

    def run() -> None:
        try:
            watcher.run()
        except FolderUnavailable as exc:
            errors.put(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert watcher.ready.wait(60)
        shutil.rmtree(folder)  # deleted, or its drive pulled out
        error = errors.get(timeout=30)
    finally:
        watcher.stop()
        thread.join(10)
    assert error.state == MISSING and "usb-stick is gone" in str(error)
    assert [Path(r.path).name for r in library.files()] == ["plan.txt"]  # nothing wiped

    # Back, but empty: a drive's mount point without the drive. Still nothing is removed.
    folder.mkdir()
    with pytest.raises(FolderUnavailable, match="empty now"):
        FolderWatcher(library, [folder]).run()
    assert [Path(r.path).name for r in library.files()] == ["plan.txt"]


def test_pipes_and_broken_links_in_a_watched_folder_are_reported_not_read(tmp_path, open_library):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "real.txt").write_text("Lanterns are lit at dusk along the canal.")
    library = open_library()
    reports: queue.Queue = queue.Queue()
    watcher = FolderWatcher(library, [folder], on_report=reports.put, debounce_ms=300)
    thread = _watching(watcher)
    try:
        assert {Path(o.path).name: o.status for o in reports.get(timeout=60).all_outcomes} == {
            "real.txt": INDEXED
        }
        os.mkfifo(folder / "pipe.txt")
        (folder / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
        statuses: dict[str, str] = {}
        while set(statuses) != {"pipe.txt", "gone.txt"}:
            report = reports.get(timeout=30)
            statuses.update({Path(o.path).name: o.status for o in report.all_outcomes})
    finally:
        watcher.stop()
        thread.join(10)
    assert statuses == {"pipe.txt": NOT_REGULAR, "gone.txt": BROKEN_LINK}
