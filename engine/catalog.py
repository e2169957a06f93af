"""The models Hearth can run: the bundled ones, GGUF files the person imported, and models
downloaded from the Hub.

Imported models are remembered by path in a small JSON file (written atomically); the files
themselves stay where the person keeps them. Downloaded models are remembered with where they came
from (repository, revision, checksums); only those files does Hearth ever delete.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from engine.atomic_io import write_json_atomic
from engine.bundled import default_model_path, gemma_model_path
from engine.errors import HearthError, ModelFileError
from engine.gguf_info import ModelInfo, read_model_info
from engine.model_probe import ModelGuard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadRecord:
    """Where a downloaded model came from. `parts`: every file of it (one unless split)."""

    path: str
    parts: tuple[str, ...]
    repo_id: str
    revision: str
    file: str
    quant: str
    size: int
    sha256: tuple[str, ...]
    license: str = ""
    downloaded_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"], data["sha256"] = list(self.parts), list(self.sha256)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DownloadRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["parts"] = tuple(values.get("parts", [values["path"]]))
        values["sha256"] = tuple(values.get("sha256", []))
        return cls(**values)


@dataclass(frozen=True)
class CatalogEntry:
    path: Path
    bundled: bool
    info: ModelInfo | None  # None when the file can no longer be read
    problem: str = ""
    download: DownloadRecord | None = None  # set for models downloaded from the Hub
    made: bool = False  # a variant Hearth made (`hearth quantize`, the Benchmark window)

    @property
    def owned(self) -> bool:
        """Hearth downloaded or made the file: removing the model deletes it."""
        return self.download is not None or self.made


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

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.models_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable model list %s: %s", self.models_file, exc)
            return {}

    def imported_paths(self) -> list[Path]:
        return [Path(p) for p in self._read().get("imported", [])]

    def made_paths(self) -> list[Path]:
        """Variants Hearth made, oldest first."""
        return [Path(p) for p in self._read().get("made", [])]

    def downloads(self) -> list[DownloadRecord]:
        """Models downloaded from the Hub, oldest first."""
        records = []
        for item in self._read().get("downloaded", []):
            try:
                records.append(DownloadRecord.from_dict(item))
            except (KeyError, TypeError) as exc:
                log.warning("Ignoring a damaged download record %r: %s", item, exc)
        return records

    def entries(self) -> list[CatalogEntry]:
        result = []
        bundled = bundled_model_paths()
        downloads = {Path(record.path): record for record in self.downloads()}
        made = self.made_paths()
        listed = [(p, True) for p in bundled] + [
            (p, False)
            for p in self.imported_paths()
            if p not in bundled and p not in downloads and p not in made
        ]
        for path, is_bundled in listed + [(p, False) for p in [*made, *downloads]]:
            record = downloads.get(path)
            try:
                info, problem = read_model_info(path), ""
            except ModelFileError as exc:
                info, problem = None, str(exc)
            result.append(CatalogEntry(path, is_bundled, info, problem, record, path in made))
        return result

    def add_made(self, path: str | Path) -> ModelInfo:
        """Remember a variant Hearth made (after checking that it reads as GGUF); removing it
        from the catalog deletes its file.

        Raises:
            ModelFileError: the file is not a readable GGUF model.
        """
        path = Path(path).expanduser().resolve()
        info = read_model_info(path)
        data = self._read()
        kept = [p for p in data.get("made", []) if p != str(path)]
        self._write(data, made=[*kept, str(path)])
        return info

    def add_download(self, record: DownloadRecord) -> ModelInfo:
        """Remember a model downloaded from the Hub (after checking that it reads as GGUF).

        Raises:
            ModelFileError: the file is not a readable GGUF model.
        """
        info = read_model_info(record.path)
        data = self._read()
        kept = [d for d in data.get("downloaded", []) if d.get("path") != record.path]
        self._write(data, downloaded=[*kept, record.to_dict()])
        return info

    def remove(self, path: str | Path) -> str:
        """Take a model out of the catalog: "deleted" when Hearth downloaded or made it (its files
        are deleted), "forgotten" for an imported file (left where it is).

        Raises:
            HearthError: a bundled model, or a path the catalog does not list.
        """
        path = Path(path).expanduser().resolve()
        if path in [p.resolve() for p in bundled_model_paths()]:
            raise HearthError(f"{path.name} comes with Hearth and cannot be removed.")
        for record in self.downloads():
            if Path(record.path).resolve() == path:
                for part in record.parts:
                    Path(part).unlink(missing_ok=True)
                data = self._read()
                kept = [d for d in data.get("downloaded", []) if d.get("path") != record.path]
                self._write(data, downloaded=kept)
                return "deleted"
        if path in self.made_paths():
            path.unlink(missing_ok=True)
            data = self._read()
            self._write(data, made=[p for p in data.get("made", []) if p != str(path)])
            return "deleted"
        if path in self.imported_paths():
            self.forget(path)
            return "forgotten"
        raise HearthError(f"{path} is not in the model list.", "See `hearth models list`.")

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
        self._write(self._read(), imported=[str(p) for p in paths])

    def _write(self, data: dict[str, Any], **changes: Any) -> None:
        data = {**data, **changes, "version": 1}
        data.setdefault("imported", [])
        write_json_atomic(self.models_file, data)


def origin_words(entry: CatalogEntry, shared_name: bool) -> str:
    """Where a model file came from, to show after its name: always for a bundled one ("bundled");
    for others only when another file has the same name (a downloaded copy of the bundled model,
    say): "from owner/repo", "made by Hearth" or "in FOLDER"."""
    from engine.display import display_path

    if entry.bundled:
        return "bundled"
    if not shared_name:
        return ""
    if entry.download is not None:
        return f"from {entry.download.repo_id}"
    if entry.made:
        return "made by Hearth"
    return f"in {display_path(entry.path.parent)}"
