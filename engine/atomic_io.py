"""Atomic file writes: a crash or a full disk leaves either the old file or the new one.

Every file Hearth writes whole (settings, the model list, an exported chat) goes through
`write_text_atomic`: the text goes to a temporary file in the same folder, is flushed to disk,
and replaces the target with one rename. A temporary file that a killed process left behind
(".chat.md.partial-k2x8d0qz") is removed by the next write in its folder once it is
`STALE_PARTIAL_S` old.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from engine.errors import HearthError
from engine.storage import storage_problem

# The temporary file's name: the target's, hidden, with this and mkstemp's 8 random characters.
PARTIAL = "partial-"
_PARTIAL_NAME = re.compile(r"\..+\." + PARTIAL + r"[a-z0-9_]{8}")
# No whole-file write takes this long: an older temporary file is a killed writer's.
STALE_PARTIAL_S = 600.0

log = logging.getLogger(__name__)


class SaveError(HearthError):
    """A file could not be written (full disk, read-only folder, no permission)."""


def write_text_atomic(target: Path, text: str, make_folder: bool = True) -> None:
    """Write `text` (UTF-8, line ends as given) to `target` via a temporary file and a rename.

    The folder is created when missing, unless `make_folder` is False (a place the person
    chose: a mistyped folder is said, not made). Nothing is left behind when writing fails.

    Raises:
        StorageError: The disk is full or read-only (named, see engine/storage.py); the old file,
            if any, is unchanged.
        SaveError: The folder does not exist and `make_folder` is False, or the file could not
            be written for another reason; the old file is unchanged.
    """
    write_atomic(target, lambda handle: handle.write(text.encode("utf-8")), make_folder)


def write_atomic(
    target: Path, fill: Callable[[BinaryIO], object], make_folder: bool = True
) -> None:
    """Write `target` by calling `fill` with a binary file open for writing, via a temporary
    file in the same folder and a rename; raises as `write_text_atomic` does, and whatever
    `fill` raises (the old file unchanged, nothing left behind, either way)."""
    target = Path(target)
    if not make_folder and not target.parent.is_dir():
        raise SaveError(
            f"Could not save {target.name}: the folder {target.parent} does not exist.",
            "Choose a folder that exists, or create it first.",
        )
    tmp = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{PARTIAL}", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        problem = storage_problem(exc, target.parent, f"save {target.name}")
        raise problem or SaveError(
            f"Could not save {target.name}: {exc.strerror or exc}.",
            "Check that the disk is not full and that the folder can be written.",
        ) from exc
    except BaseException:  # interrupted: never leave the temporary file
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_partials(folder: Path) -> None:
    """Remove the temporary files of writes in `folder` that were killed before their rename."""
    now = time.time()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not _PARTIAL_NAME.fullmatch(entry.name):
                    continue
                try:
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_PARTIAL_S:
                        os.unlink(entry.path)
                        log.info("Removed %s, left by a write that never finished", entry.path)
                except OSError:  # gone meanwhile, or not ours to remove: the write goes on
                    continue
    except OSError:  # an unlistable folder: the write itself will say what is wrong
        return


def write_json_atomic(target: Path, data: object) -> None:
    """Write `data` as indented JSON (non-ASCII kept as is) with `write_text_atomic`."""
    write_text_atomic(target, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
