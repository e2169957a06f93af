"""Reading a text file the person chose (a sample text, questions, saved results), with errors in
words."""

from __future__ import annotations

from pathlib import Path

from engine.errors import HearthError


def read_text_file(path: str | Path, what: str = "a text file") -> str:
    """The file's text, decoded as UTF-8.

    Args:
        what: What the file should be, for the message ("a benchmark result file").

    Raises:
        HearthError: missing, unreadable, or not UTF-8 text.
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HearthError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise HearthError(f"{path.name} is not {what}.", "Choose a UTF-8 text file.") from exc
