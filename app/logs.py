"""Hearth's log file: one rotating file per data folder, for the window and the command line.

Kept free of Qt so the `hearth` command can log without importing it. Details of errors go here;
a person sees one line in words (the CLI) or a notice (the window).
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

NOISY_LOGGERS = ("chromadb", "httpx", "urllib3", "sentence_transformers", "PIL")


def setup_logging(log_file: Path | None, level: int = logging.INFO) -> None:
    """Log to a rotating file (2 MB, three old files kept), replacing a file set up earlier in
    this process; None logs nowhere. Quiets the chattiest libraries. Nothing goes to the terminal."""
    root = logging.getLogger()
    root.setLevel(level)
    if log_file is None:
        return
    # A log line that cannot be written (a full disk) is dropped, not printed to the terminal.
    logging.raiseExceptions = False
    for old in [h for h in root.handlers if getattr(h, "hearth_log", False)]:
        if getattr(old, "baseFilename", None) == str(Path(log_file).absolute()):
            return
        root.removeHandler(old)
        old.close()
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:  # a full or read-only disk: no log file, and still nothing on the terminal
        handler = logging.NullHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    handler.hearth_log = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
