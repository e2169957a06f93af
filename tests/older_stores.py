"""Chat files as earlier versions of Hearth left them, for the migration tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# What each version of the chat store added, newest first: taken away to go back past it.
_ADDED_BY = {
    4: ("ALTER TABLE messages DROP COLUMN in_progress",),
    3: ("ALTER TABLE messages DROP COLUMN prompt",),
    2: ("DROP TABLE pinned_documents",),
}


def as_version(path: Path, version: int) -> None:
    """Turn the current chat file at `path` (closed) into one of schema `version` (1-3)."""
    db = sqlite3.connect(path)
    for added in sorted(_ADDED_BY, reverse=True):
        if added > version:
            for statement in _ADDED_BY[added]:
                db.execute(statement)
    db.execute(f"PRAGMA user_version={version}")
    db.commit()
    db.close()
