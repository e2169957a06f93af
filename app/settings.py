"""The settings file: loaded and migrated at start, validated on every change, written atomically.

A damaged file is kept aside as settings.json.bad and Hearth starts with defaults, so a bad file never
stops the app from opening.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.atomic_io import write_json_atomic
from engine.errors import HearthError
from engine.settings_schema import (
    OPTIONS_BY_KEY,
    SCHEMA_VERSION,
    SettingError,
    defaults,
    read_settings_file,
)

log = logging.getLogger(__name__)


class Settings(QObject):
    """Current settings, with a `changed(key, value)` signal for every value that changed.

    Args:
        path: The JSON file (usually app_paths().settings_file).
    """

    changed = Signal(str, object)

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self._values = defaults()
        self.problems: list[str] = []
        self._load()

    def get(self, key: str) -> Any:
        return self._values[key]

    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def set(self, key: str, value: Any) -> None:
        """Set one value and save.

        Raises:
            SettingError: Unknown key or a value the schema refuses; nothing is changed.
        """
        self.update({key: value})

    def update(self, values: dict[str, Any]) -> list[str]:
        """Validate all `values` first, then apply them together and save once.

        Returns:
            The keys whose value changed.

        Raises:
            SettingError: Any value is refused; nothing is changed.
        """
        checked = {}
        for key, value in values.items():
            option = OPTIONS_BY_KEY.get(key)
            if option is None:
                raise SettingError(f"There is no setting called '{key}'.")
            checked[key] = option.validate(value)
        changed = [key for key, value in checked.items() if self._values[key] != value]
        if not changed:
            return []
        previous = dict(self._values)
        self._values.update(checked)
        try:
            self.save()
        except HearthError as exc:  # a full or read-only disk: keep what was there, say why
            self._values = previous
            raise SettingError(exc.message, exc.hint) from exc
        for key in changed:
            self.changed.emit(key, self._values[key])
        return changed

    def save(self) -> None:
        """Write the file atomically.

        Raises:
            SaveError: The disk is full or the folder cannot be written; the old file stays.
        """
        write_json_atomic(self.path, {"version": SCHEMA_VERSION, "values": self._values})

    def _load(self) -> None:
        try:
            self._values, self.problems = read_settings_file(self.path)
        except (OSError, ValueError) as exc:
            log.warning("settings file unreadable: %s", exc)  # the parser's words, for the log
            why = "cannot be read" if isinstance(exc, OSError) else "is damaged (not valid JSON)"
            backup = self.path.with_suffix(".json.bad")
            self.path.replace(backup)
            self.problems = [
                f"The settings file {why}; defaults are used and the old file was kept as "
                f"{backup.name}."
            ]
            return
        for problem in self.problems:
            log.warning("settings: %s", problem)
