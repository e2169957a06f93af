"""The models Hearth can run: the bundled ones plus GGUF files the person imported.

Imported models are remembered by path in a small JSON file (written atomically); the files
themselves stay where the person keeps them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.atomic_io import write_json_atomic
from engine.bundled import default_model_path, gemma_model_path
from engine.errors import ModelFileError
from engine.gguf_info import ModelInfo, read_model_info
from engine.model_probe import ModelGuard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogEntry:
    path: Path
    bundled: bool
    info: ModelInfo | None  # None when the file can no longer be read
    problem: str = ""


def bundled_model_paths() -> list[Path]:
    """The default chat model first, then the others that ship with Hearth."""
    paths = [default_model_path()]
    try:
        paths.append(gemma_model_path())
    except (ModelFileError, OSError) as exc:
        log.warning("Gemma 3 270M is not available: %s", exc)
    return paths


class ModelCatalog:
    """Bundled models and imported files; `models_file` is where the imports are remembered."""

    def __init__(self, models_file: Path) -> None:
        self.models_file = Path(models_file)

    def imported_paths(self) -> list[Path]:
        try:
            data = json.loads(self.models_file.read_text(encoding="utf-8"))
            return [Path(p) for p in data.get("imported", [])]
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable model list %s: %s", self.models_file, exc)
            return []

    def entries(self) -> list[CatalogEntry]:
        result = []
        bundled = bundled_model_paths()
        for path, is_bundled in [(p, True) for p in bundled] + [
            (p, False) for p in self.imported_paths() if p not in bundled
        ]:
            try:
                result.append(CatalogEntry(path, is_bundled, read_model_info(path)))
            except ModelFileError as exc:
                result.append(CatalogEntry(path, is_bundled, None, str(exc)))
        return result

    def import_model(self, path: str | Path, guard: ModelGuard | None = None) -> ModelInfo:
        """Check that `path` is a readable GGUF model and remember it.

        Args:
            guard: When given, the file is also opened once in a child process (see
                engine/model_probe.py), so a file llama.cpp cannot open is refused here, with
                its reason, rather than listed as loadable. Takes seconds: call off the GUI thread.

        Raises:
            ModelFileError: not a GGUF model, truncated, inconsistent, or refused by llama.cpp.
            ModelLoadError: llama.cpp could not open it for another reason.
        """
        path = Path(path).expanduser().resolve()
        info = read_model_info(path)
        if guard is not None:
            guard.check(path)
        paths = self.imported_paths()
        if path not in paths:
            paths.append(path)
            self._save(paths)
        return info

    def forget(self, path: str | Path) -> None:
        path = Path(path).expanduser().resolve()
        self._save([p for p in self.imported_paths() if p != path])

    def _save(self, paths: list[Path]) -> None:
        write_json_atomic(self.models_file, {"version": 1, "imported": [str(p) for p in paths]})
