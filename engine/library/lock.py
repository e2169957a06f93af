"""A lock file that keeps two processes from indexing one library at once.

It holds the owner's pid and its parent's; a lock left behind by a killed process (its pid no
longer runs, or runs a process started after the lock was written) is taken over. A lock held by
the library process of a window that was killed is waited for: that process is stopping (it sees
its window gone and ends its indexing run at the next page), and the window started next would
otherwise refuse the files handed to it meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path

from engine.library.types import LibraryError

# How long a lock held by an orphaned process is waited for: it is ending an indexing run, which
# stops at its next page or block of text (seconds; a 200,000-character block of a big text file
# takes up to about half a minute on two cores).
ORPHAN_WAIT_S = 45.0
ORPHAN_POLL_S = 0.2


class IndexLock:
    """`with IndexLock(path, required) as held:` takes the lock if it is free.

    Args:
        path: The lock file.
        required: Raise LibraryError when another process holds it (else `held` is False).
    """

    def __init__(self, path: Path, required: bool) -> None:
        self.path = path
        self.required = required
        self.held = False

    def __enter__(self) -> bool:
        self.held = _try_lock(self.path)
        if not self.held and self.required:
            deadline = time.monotonic() + ORPHAN_WAIT_S
            while not self.held and _orphaned(self.path) and time.monotonic() < deadline:
                time.sleep(ORPHAN_POLL_S)
                self.held = _try_lock(self.path)
        if not self.held and self.required:
            owner = _lock_owner(self.path)
            raise LibraryError(
                f"This library is being indexed by another Hearth process (pid {owner}).",
                "Wait for it to finish or stop it, then try again.",
            )
        return self.held

    def __exit__(self, *exc) -> None:
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _try_lock(path: Path) -> bool:
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            owner = _lock_owner(path)
            if owner == os.getpid() or (owner is not None and _pid_alive(owner, path)):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its process is gone
            continue
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()}\n{os.getppid()}")
        except OSError as exc:
            # A full disk takes the lock file but not the pid in it: the lock still holds here,
            # and removing a library (which frees space) must not fail for want of four bytes.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
        return True
    return False


def _lock_owner(path: Path) -> int | None:
    return _lock_pids(path)[0]


def _lock_pids(path: Path) -> tuple[int | None, int | None]:
    """The lock's owner and the owner's parent as the lock recorded them (None: not recorded;
    earlier versions wrote the owner alone)."""
    try:
        pids = [int(word) for word in path.read_text().split()[:2]]
    except (OSError, ValueError):
        return None, None
    pids += [0] * (2 - len(pids))
    return pids[0] or None, pids[1] or None


def _orphaned(path: Path) -> bool:
    """Whether the lock's owner still runs but the parent it had when it took the lock is gone
    (the window of a library process was killed): it is on its way out."""
    owner, parent = _lock_pids(path)
    if owner is None or parent is None or parent == os.getpid():
        return False
    return _pid_alive(owner, path) and not _pid_alive(parent, path)


def _pid_alive(pid: int, lock: Path) -> bool:
    """True when `pid` runs and started before the lock was written (so it is not a reused pid)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return process.create_time() <= lock.stat().st_mtime + 1.0
    except (psutil.Error, OSError):
        return False
