"""Atomic file writes: a crash or a full disk leaves either the old file or the new one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from engine.errors import HearthError
from engine.storage import storage_problem


def write_json_atomic(target: Path, data: object) -> None:
    """Write `data` as JSON to `target` through a temporary file and an atomic rename."""
    tmp = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        problem = storage_problem(exc, target.parent, f"save {target.name}")
        raise problem or HearthError(
            f"Could not save {target.name}: {exc.strerror}.", "Check that the disk is not full."
        ) from exc
