"""Disk trouble in plain words: a full disk, a read-only folder, a database another Hearth holds.

`storage_problem` turns an OSError or SQLite error into a `StorageError` that names the disk (the
folder and where it is mounted) and says what to do, or returns None when the error is something
else (real damage, a bug). None of these errors call anything damaged: a full or read-only disk
loses nothing, and the same action works again once there is room. `check_free_space` refuses a
large write before it starts, so the disk is not filled to the last byte in the first place.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from engine.errors import HearthError

MB = 2**20

# SQLite primary result codes (https://sqlite.org/rescode.html).
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 10, 11, 13, 14, 26

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# How other libraries (chromadb, its Rust core) word the same conditions.
_FULL_WORDS = ("disk is full", "no space left", "quota exceeded")
_READ_ONLY_WORDS = ("readonly database", "read-only file system", "permission denied")
_BUSY_WORDS = ("database is locked", "database table is locked")
_IO_WORDS = ("disk i/o error", "unable to open database file")


class StorageError(HearthError, OSError):
    """Data could not be written (or opened) because of the disk, not because of the data.

    Also an OSError, so code that already handles failed writes as OSError keeps doing so.

    Attributes:
        kind: "full", "read_only", "busy" or "io".
        folder: The folder Hearth was writing to.
    """

    def __init__(self, message: str, hint: str, kind: str, folder: str) -> None:
        super().__init__(message, hint)
        self.kind = kind
        self.folder = folder


def disk_of(path: str | Path) -> str:
    """Where `path` lives, in words: 'the disk holding /home/ana (mounted at /home)'."""
    folder = nearest_existing(Path(path))
    mount = mount_point(folder)
    if mount == folder:
        return f"the disk mounted at {folder}"
    return f"the disk holding {folder} (mounted at {mount})"


def mount_point(path: str | Path) -> Path:
    """The mount point of the file system that holds `path`."""
    mount = nearest_existing(Path(path))
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    return mount


def size_text(num_bytes: float) -> str:
    """A size in decimal units, as the Hub and disk tools print them: '950 B', '12.3 MB',
    '1.4 GB'."""
    value = float(num_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def free_bytes(path: str | Path) -> int:
    """Bytes free for this user on the disk that holds `path` (an existing parent is used)."""
    return shutil.disk_usage(nearest_existing(Path(path))).free


def check_free_space(path: str | Path, needed: int, action: str) -> None:
    """Refuse `action` ("index report.pdf") when the disk holding `path` has under `needed` bytes.

    Raises:
        StorageError: kind "full", naming the disk and what is free.
    """
    free = free_bytes(path)
    if free < needed:
        raise _full(path, action, free, needed)


def check_writable(folder: str | Path, action: str, chosen: bool = False) -> None:
    """Refuse `action` now when nothing can be written in `folder` (read-only, no permission,
    a system folder such as /proc), rather than after the work it would save.

    Args:
        chosen: The person named the folder (an --out or --save path): the way out is another
            folder, not moving Hearth's own data with HEARTH_HOME.

    Raises:
        StorageError: naming the folder and why, kind "read_only" (or "full"/"io").
    """
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        problem = storage_problem(exc, folder, action)
        if problem is not None and problem.kind != "read_only":
            raise problem from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            why = "you do not have permission to write there"
        elif problem is not None:
            why = f"it is read-only, on the disk mounted at {mount_point(folder)}"
        elif exc.errno == errno.ENOTDIR:
            why = "it is a file, not a folder"
        else:  # /proc and the like: the kernel's own folders take no new files
            why = "it does not take new files"
        hint = (
            "Choose another folder you can write to."
            if chosen
            else "Make the folder writable, or set HEARTH_HOME to a folder you can write to."
        )
        raise StorageError(
            f"Could not {action}: {folder} cannot be written to ({why}).",
            hint,
            "read_only",
            str(folder),
        ) from exc


def storage_problem(exc: BaseException, path: str | Path, action: str) -> StorageError | None:
    """The `StorageError` for `exc` raised while trying to `action` in `path`; None when `exc` is
    not about the disk (damage, a bug): the caller then reports it as it would have."""
    kind = _kind(exc, path)
    if kind is None:
        return None
    folder = str(nearest_existing(Path(path)))
    disk = disk_of(path)
    if kind == "full":
        return _full(path, action, free_bytes(path))
    if kind == "read_only":
        return StorageError(
            f"Could not {action}: {folder} cannot be written to (it is read-only, on the disk "
            f"mounted at {mount_point(folder)}).",
            "Make the folder writable, or set HEARTH_HOME to a folder you can write to. "
            "Nothing was lost.",
            kind,
            folder,
        )
    if kind == "busy":
        return StorageError(
            f"Could not {action} right now: another Hearth window is writing to the same file.",
            "Try again in a moment.",
            kind,
            folder,
        )
    return StorageError(
        f"Could not {action}: {disk} reported an input/output error.",
        "Check that the disk is connected and has free space, then try again. Nothing was lost.",
        kind,
        folder,
    )


def disk_state_problem(exc: BaseException, path: str | Path, action: str) -> StorageError | None:
    """For an error whose words say nothing (a library's own exception): the disk's state, if
    the disk is full or read-only right now, is the likelier cause than damage."""
    problem = storage_problem(exc, path, action)
    if problem is not None or is_damage(exc):
        return problem
    kind = _io_kind(path)
    if kind == "io":
        return None
    return storage_problem(StorageError("", "", kind, str(path)), path, action)


def is_damage(exc: BaseException) -> bool:
    """True for SQLite errors that mean the file itself is broken (not the disk around it)."""
    code = _sqlite_code(exc)
    if code is not None:
        return code in (SQLITE_CORRUPT, SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _full(path: str | Path, action: str, free: int, needed: int = 0) -> StorageError:
    disk = disk_of(path)
    if needed:
        message = (
            f"Not enough free disk space to {action}: {disk} has {size_text(free)} free and "
            f"this needs about {size_text(needed)}."
        )
    else:
        message = f"Could not {action}: {disk} is full ({size_text(free)} free)."
    return StorageError(
        message,
        "Free some space on that disk, then try again. Nothing was lost.",
        "full",
        str(nearest_existing(Path(path))),
    )


def _kind(exc: BaseException, path: str | Path) -> str | None:
    if isinstance(exc, StorageError):
        return exc.kind
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in _FULL_ERRNOS:
            return "full"
        if exc.errno in _READ_ONLY_ERRNOS:
            return "read_only"
        if exc.errno == errno.EIO:
            return "io"
    code = _sqlite_code(exc)
    if code is not None:
        if code == SQLITE_FULL:
            return "full"
        if code in (SQLITE_READONLY, SQLITE_PERM):
            return "read_only"
        if code in (SQLITE_BUSY, SQLITE_LOCKED):
            return "busy"
        if code in (SQLITE_IOERR, SQLITE_CANTOPEN):
            return _io_kind(path)
        return None
    text = str(exc).lower()
    if any(words in text for words in _FULL_WORDS):
        return "full"
    if any(words in text for words in _READ_ONLY_WORDS):
        return "read_only"
    if any(words in text for words in _BUSY_WORDS):
        return "busy"
    if any(words in text for words in _IO_WORDS):
        return _io_kind(path)
    return None


def _io_kind(path: str | Path) -> str:
    """SQLite reports a full or read-only disk as an I/O error when it cannot grow its side files
    (-wal, -shm): look at the disk to say which."""
    folder = nearest_existing(Path(path))
    try:
        if free_bytes(folder) < MB:
            return "full"
    except OSError:
        return "io"
    if not os.access(folder, os.W_OK) or _mounted_read_only(folder):
        return "read_only"
    return "io"


def _mounted_read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code for `exc` (Python 3.11+), or None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def nearest_existing(path: Path) -> Path:
    """`path`'s folder, or its nearest parent that exists (a folder is made on first use)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path if path.is_dir() else path.parent
