"""The folders a library follows: kept in the library's own folder (`watched.json`, written
atomically), so a restart watches them again and deleting the library forgets them.

A folder stays on the list until the person stops watching it, even while it is missing (a
drive that is not plugged in): it is followed again once it is back.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from engine.atomic_io import write_json_atomic
from engine.errors import as_sentence
from engine.storage import StorageError

log = logging.getLogger(__name__)

WATCHED_FILE = "watched.json"
FORMAT_VERSION = 1

# What a watched folder is doing, as `WatchedFolder.state` says it.
SYNCING = "syncing"  # catching up with changes made while nobody watched
WATCHING = "watching"
MISSING = "missing"  # deleted, moved, or on a drive that is not there now
UNREADABLE = "unreadable"  # no permission, or the system refused to watch it
DISK_FULL = "disk_full"  # the library's disk is full: paused until there is room again
CANNOT_WRITE = "cannot_write"  # the library's disk refuses writes: paused until it takes them
STOPPED = "stopped"  # not followed in this run (the watcher ended)


@dataclass(frozen=True)
class WatchedFolder:
    """One folder a library follows, and how following it goes.

    Attributes:
        library: The library's name.
        path: The folder (absolute).
        state: SYNCING, WATCHING, MISSING, UNREADABLE, DISK_FULL, CANNOT_WRITE or STOPPED.
        message: Plain words for a folder that is not followed now ("" otherwise).
    """

    library: str
    path: str
    state: str = WATCHING
    message: str = ""

    @property
    def followed(self) -> bool:
        """True while changes in the folder reach the library."""
        return self.state in (SYNCING, WATCHING)


def normalise(folder: Path | str) -> str:
    """The absolute form a folder is remembered by."""
    return os.path.abspath(os.path.expanduser(str(folder)))


def watched_folders(library_folder: Path) -> list[str]:
    """The folders the library in `library_folder` follows (none when the file is missing or
    cannot be read: a damaged list must not stop the library from opening)."""
    path = Path(library_folder) / WATCHED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("The list of watched folders in %s cannot be read: %s", path, exc)
        return []
    folders = data.get("folders", []) if isinstance(data, dict) else []
    return [str(f) for f in folders if isinstance(f, str)]


def save_watched_folders(library_folder: Path, folders: list[str]) -> None:
    """Replace the list (atomically; the file goes when the list is empty).

    Raises:
        StorageError, SaveError: The list could not be written; the old one is unchanged.
    """
    path = Path(library_folder) / WATCHED_FILE
    unique = list(dict.fromkeys(normalise(f) for f in folders))
    if not unique:
        path.unlink(missing_ok=True)
        return
    write_json_atomic(path, {"version": FORMAT_VERSION, "folders": unique})


def add_watched_folder(library_folder: Path, folder: Path | str) -> bool:
    """Remember `folder`; False when it was already on the list."""
    folders = watched_folders(library_folder)
    key = normalise(folder)
    if key in folders:
        return False
    save_watched_folders(library_folder, [*folders, key])
    return True


def remove_watched_folder(library_folder: Path, folder: Path | str) -> bool:
    """Forget `folder`; False when it was not on the list."""
    folders = watched_folders(library_folder)
    key = normalise(folder)
    if key not in folders:
        return False
    save_watched_folders(library_folder, [f for f in folders if f != key])
    return True


def all_watched_folders(root: Path) -> dict[str, list[str]]:
    """Every library under `root` that follows folders, with its folders."""
    found: dict[str, list[str]] = {}
    try:
        candidates = sorted(Path(root).glob(f"*/{WATCHED_FILE}"))
    except OSError:
        return found
    for path in candidates:
        folders = watched_folders(path.parent)
        if folders:
            found[path.parent.name] = folders
    return found


def paused_by_disk(folder: Path, problem: StorageError, resumes: bool = True) -> tuple[str, str]:
    """(state, plain words) for a watched folder whose library's disk stopped taking writes:
    the folder itself is fine, so the words name the disk and say how following resumes.

    Args:
        resumes: Following starts again by itself once the disk takes writes (else at the
            next start of Hearth).
    """
    name = folder.name or str(folder)
    full = problem.kind == "full"
    when = "there is free space" if full else "the library can be written again"
    if resumes:
        after = (f"Hearth paused following {name} and catches up by itself once {when}; the "
                 "files not read yet stay pending, and nothing was lost.")  # fmt: skip
    else:
        after = f"Hearth follows {name} again at its next start once {when}; nothing was lost."
    return DISK_FULL if full else CANNOT_WRITE, f"{as_sentence(problem.message)} {after}"


def folder_problem(folder: Path, known_files: int = 0) -> tuple[str, str] | None:
    """Why `folder` cannot be followed now, as (state, plain words), or None when it can.

    An empty folder whose files the library holds is taken for a drive that is not mounted
    (its mount point stays behind, empty): following it would remove every document.

    Args:
        known_files: How many files the library holds from inside the folder.
    """
    name = folder.name or str(folder)
    if not folder.is_dir():
        return MISSING, (
            f"The folder {name} is gone (deleted, moved, or on a drive that is not connected). "
            "Its documents stay; Hearth follows it again once it is back."
        )
    try:
        with os.scandir(folder) as entries:
            empty = next(entries, None) is None
    except OSError as exc:
        return UNREADABLE, (
            f"Hearth may not read the folder {name} ({exc.strerror or exc}). "
            "Check its permissions; its documents stay."
        )
    if empty and known_files:
        return MISSING, (
            f"The folder {name} is empty now: if it is on a drive, the drive may not be "
            "connected. Its documents stay until the folder is back."
        )
    return None
