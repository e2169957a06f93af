"""A watched folder keeps its library in step: new, changed, moved and deleted files."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from engine.library.types import INDEXED, REMOVED
from engine.library.watch import FolderWatcher


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
