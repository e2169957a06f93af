"""Logging to a rotating file in the user's log folder, the same way in every Hearth process."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

# Libraries that log every request or file at INFO; their warnings still reach the log.
NOISY_LOGGERS = ("chromadb", "httpx", "urllib3", "sentence_transformers", "PIL")


def setup_logging(log_file: Path | None, level: int = logging.INFO) -> None:
    """Log to `log_file` (rotated at 2 MB, three old files kept); None logs nowhere.

    Calling it twice for the same file adds one handler, not two.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if log_file is not None:
        log_file = Path(log_file)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        if not any(getattr(h, "baseFilename", None) == str(log_file) for h in root.handlers):
            handler = RotatingFileHandler(
                log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
            )
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
            )
            root.addHandler(handler)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
