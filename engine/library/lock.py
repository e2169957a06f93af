"""A lock file that keeps two processes from indexing one library at once.

It holds the owner's pid; a lock left behind by a killed process (its pid no longer runs, or runs
a process started after the lock was written) is taken over.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from engine.library.types import LibraryError


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
                handle.write(str(os.getpid()))
        except OSError as exc:
            # A full disk takes the lock file but not the pid in it: the lock still holds here,
            # and removing a library (which frees space) must not fail for want of four bytes.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
        return True
    return False


def _lock_owner(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


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
