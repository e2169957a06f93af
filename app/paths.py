"""Where Hearth keeps its files: per-user folders, never next to the program.

Setting HEARTH_HOME puts everything under one folder (tests, portable installs).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from engine.errors import HearthError

APP_NAME = "Hearth"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def chats_db(self) -> Path:
        return self.data_dir / "chats.sqlite3"

    @property
    def libraries_dir(self) -> Path:
        return self.data_dir / "libraries"

    @property
    def models_file(self) -> Path:
        return self.data_dir / "models.json"

    @property
    def models_dir(self) -> Path:
        """Models downloaded from the Hub."""
        return self.data_dir / "models"

    @property
    def downloads_dir(self) -> Path:
        """Partial downloads (`.part` files), resumable."""
        return self.cache_dir / "downloads"

    @property
    def remotes_file(self) -> Path:
        """Remembered remote engines (keys are in the system keyring, not here)."""
        return self.data_dir / "remotes.json"

    @property
    def checked_models_file(self) -> Path:
        """Model files that opened safely in a trial load (engine.model_probe)."""
        return self.cache_dir / "checked-models.json"

    @property
    def prompt_cache_dir(self) -> Path:
        """Saved KV caches of system prompts (engine.prefix_cache)."""
        return self.cache_dir / "prompt-cache"

    @property
    def draft_file(self) -> Path:
        """The message box's text, kept while it is typed (app.draft)."""
        return self.data_dir / "draft.txt"

    @property
    def language_model_dir(self) -> Path:
        """The unpacked language-identification model (engine.library.language)."""
        return self.cache_dir / "language-model"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "hearth.log"

    def ensure(self) -> AppPaths:
        """Create the folders where they are missing.

        Raises:
            DataFolderError: one cannot be created (a file in its place, no permission, a full
                or read-only disk), in words naming the folder and HEARTH_HOME.
        """
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataFolderError(
                    f"Hearth cannot keep its data in {folder}: {exc.strerror or exc}.",
                    "Set HEARTH_HOME to a folder you can write to, or free space on that disk.",
                ) from exc
        return self


class DataFolderError(HearthError):
    """Hearth's config, data, cache or log folder cannot be created."""


def app_paths() -> AppPaths:
    home = os.environ.get("HEARTH_HOME")
    if home:
        root = Path(home)
        return AppPaths(root / "config", root / "data", root / "cache", root / "logs")
    return AppPaths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


def styles_dir() -> Path:
    """The light and dark style sheets."""
    return resources_dir() / "styles"


def resources_dir() -> Path:
    """Hearth's data files (styles, icons, samples): beside the packages, in a checkout or a bundle."""
    candidates = [Path(__file__).resolve().parent.parent / "resources"]
    spec = importlib.util.find_spec("resources")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) for p in spec.submodule_search_locations]
    for candidate in candidates:
        if (candidate / "styles").is_dir():
            return candidate
    return candidates[0]


def new_model_session(paths: AppPaths | None = None):
    """A `ModelSession` with this user's safety record of checked model files and prompt cache
    (see engine/model_probe.py and engine/prefix_cache.py); the one way the app makes one."""
    from engine.model_probe import ModelGuard
    from engine.prefix_cache import PrefixCache
    from engine.session import ModelSession

    paths = paths or app_paths()
    return ModelSession(ModelGuard(paths.checked_models_file), PrefixCache(paths.prompt_cache_dir))
