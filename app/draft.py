"""The message box's text is kept on disk while it is typed, so a crash, a kill or a restart
loses no draft: it is back in the box at the next start."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from engine.atomic_io import write_text_atomic
from engine.errors import HearthError
from ui.composer import Composer

log = logging.getLogger(__name__)

# Saved this long after the last keystroke (one write per pause, not per key).
SAVE_AFTER_MS = 1500


class DraftKeeper(QObject):
    """Keeps `composer`'s text in `path` (removed when the box is empty)."""

    def __init__(self, composer: Composer, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.composer = composer
        self.path = Path(path)
        self._saved = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_AFTER_MS)
        self._timer.timeout.connect(self.save)
        composer.edit.textChanged.connect(self._timer.start)

    def restore(self) -> None:
        """Put the kept draft back, before anything typed since the window opened."""
        try:
            kept = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("The kept draft could not be read: %s", exc)
            return
        self._saved = kept
        if kept.strip() and kept != self.composer.text():
            typed = self.composer.text()
            self.composer.set_text(f"{kept}\n\n{typed}" if typed.strip() else kept)

    def save(self) -> None:
        """Write the box's text now (at exit, and a moment after typing stops)."""
        self._timer.stop()
        text = self.composer.text()
        if text == self._saved:
            return
        try:
            if text.strip():
                write_text_atomic(self.path, text)
            else:
                self.path.unlink(missing_ok=True)
        except (HearthError, OSError) as exc:  # a full disk: the text is still in the box
            log.warning("The draft could not be kept: %s", exc)
            return
        self._saved = text
