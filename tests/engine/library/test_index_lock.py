"""The index lock: a lock held by the library process of a window that was killed is waited for;
one held by a process that still has its parent is refused at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from engine.library.lock import IndexLock
from engine.library.types import LibraryError


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_lock_held_by_a_killed_windows_library_process_is_waited_for(tmp_path):
    owner = _sleeper()  # the library process, still ending its run
    lock = tmp_path / "index.lock"
    lock.write_text(f"{owner.pid}\n{_dead_pid()}")  # its window is gone
    threading.Timer(1.0, owner.kill).start()
    try:
        started = time.monotonic()
        with IndexLock(lock, required=True) as held:
            assert held
            assert lock.read_text().split()[0] == str(os.getpid())
        assert time.monotonic() - started >= 0.9
    finally:
        owner.kill()
        owner.wait()


def test_a_lock_held_by_a_process_whose_parent_runs_is_refused_at_once(tmp_path):
    owner = _sleeper()  # `hearth index` in a terminal that is still open
    lock = tmp_path / "index.lock"
    lock.write_text(f"{owner.pid}\n{os.getppid()}")
    try:
        started = time.monotonic()
        refused = pytest.raises(LibraryError, match=f"another Hearth process \\(pid {owner.pid}\\)")
        with refused, IndexLock(lock, required=True):
            pass
        assert time.monotonic() - started < 1.0
    finally:
        owner.kill()
        owner.wait()


def test_a_lock_an_earlier_version_wrote_names_its_owner_alone(tmp_path):
    owner = _sleeper()
    lock = tmp_path / "index.lock"
    lock.write_text(str(owner.pid))
    try:
        with pytest.raises(LibraryError, match=f"pid {owner.pid}"), IndexLock(lock, required=True):
            pass
    finally:
        owner.kill()
        owner.wait()
