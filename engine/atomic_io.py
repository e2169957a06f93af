"""Atomic file writes: a crash or a full disk leaves either the old file or the new one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from engine.errors import HearthError


def write_json_atomic(target: Path, data: object) -> None:
    """Write `data` as JSON to `target` through a temporary file and an atomic rename."""
    write_text_atomic(target, json.dumps(data, indent=2))


def write_text_atomic(target: Path, text: str) -> None:
    """Write `text` (UTF-8, line ends as given) to `target` through a temporary file and a rename.

    Raises:
        HearthError: the disk is full or the folder is not writable; `target` is unchanged.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise HearthError(
            f"Could not save {target.name}: {exc.strerror}.", "Check that the disk is not full."
        ) from exc
