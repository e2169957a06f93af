"""Atomic file writes: a crash or a full disk leaves either the old file or the new one.

Every file Hearth writes whole (settings, the model list, an exported chat) goes through
`write_text_atomic`: the text goes to a temporary file in the same folder, is flushed to disk,
and replaces the target with one rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from engine.errors import HearthError
from engine.storage import storage_problem


class SaveError(HearthError):
    """A file could not be written (full disk, read-only folder, no permission)."""


def write_text_atomic(target: Path, text: str) -> None:
    """Write `text` (UTF-8, line ends as given) to `target` via a temporary file and a rename.

    The folder is created when missing. Nothing is left behind when writing fails.

    Raises:
        StorageError: The disk is full or read-only (named, see engine/storage.py); the old file,
            if any, is unchanged.
        SaveError: The file could not be written for another reason; the old file is unchanged.
    """
    write_atomic(target, lambda handle: handle.write(text.encode("utf-8")))


def write_atomic(target: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Write `target` by calling `fill` with a binary file open for writing, via a temporary
    file in the same folder and a rename; raises as `write_text_atomic` does, and whatever
    `fill` raises (the old file unchanged, nothing left behind, either way)."""
    target = Path(target)
    tmp = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
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


def write_json_atomic(target: Path, data: object) -> None:
    """Write `data` as indented JSON (non-ASCII kept as is) with `write_text_atomic`."""
    write_text_atomic(target, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
