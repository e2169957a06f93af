"""Where downloads live: finished models in the data folder, partial ones in the cache folder.

`models_dir/<owner>/<name>/<file>` holds each verified file. A download in progress is
`cache_dir/<key>.<part>.part` plus `cache_dir/<key>.json`, which records what the parts belong to
(repository, revision, sizes, checksums, the server's ETag), so a download interrupted by a crash
or a kill resumes where it stopped, and unfinished downloads can be listed without the network.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.atomic_io import write_json_atomic
from engine.hub.listing import RemoteFile, RemoteModel

log = logging.getLogger(__name__)


class DownloadStore:
    """The two folders a download uses.

    Args:
        models_dir: Finished models (in the data folder).
        cache_dir: Partial downloads (in the cache folder).
    """

    def __init__(self, models_dir: Path, cache_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self.cache_dir = Path(cache_dir)

    def final_path(self, model: RemoteModel, index: int) -> Path:
        """Where part `index` (0-based) of `model` goes once verified."""
        owner, name = model.repo_id.split("/", 1)
        relative = Path(
            *(p for p in model.parts[index].path.split("/") if p not in ("", ".", ".."))
        )
        return self.models_dir / _safe(owner) / _safe(name) / relative

    def part_path(self, model: RemoteModel, index: int) -> Path:
        return self.cache_dir / f"{_key(model)}.{index + 1}.part"

    def record_path(self, model: RemoteModel) -> Path:
        return self.cache_dir / f"{_key(model)}.json"

    def load_record(self, model: RemoteModel) -> dict[str, Any]:
        """The saved record of an earlier run of this download, or {} when there is none or it
        was for another revision or other files (then its parts are stale)."""
        try:
            record = json.loads(self.record_path(model).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if record.get("model") != _model_dict(model):
            return {}
        return dict(record)

    def save_record(self, model: RemoteModel, etags: dict[str, str]) -> None:
        write_json_atomic(self.record_path(model), {"model": _model_dict(model), "etags": etags})

    def discard(self, model: RemoteModel) -> None:
        """Delete the partial download of `model` (its parts and record)."""
        for index in range(len(model.parts)):
            self.part_path(model, index).unlink(missing_ok=True)
        self.record_path(model).unlink(missing_ok=True)

    def unfinished(self) -> list[tuple[RemoteModel, int]]:
        """Downloads that were started and not finished, with the bytes already on disk."""
        found = []
        for record_file in sorted(self.cache_dir.glob("*.json")):
            try:
                record = json.loads(record_file.read_text(encoding="utf-8"))
                model = _model_from_dict(record["model"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("Ignoring unreadable download record %s: %s", record_file, exc)
                continue
            done = sum(
                path.stat().st_size
                for path in (self.part_path(model, i) for i in range(len(model.parts)))
                if path.is_file()
            )
            found.append((model, done))
        return found


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name).lstrip(".") or "_"


def _key(model: RemoteModel) -> str:
    return _safe(f"{model.repo_id.replace('/', '--')}--{model.name.replace('/', '--')}")


def _model_dict(model: RemoteModel) -> dict[str, Any]:
    data = asdict(model)
    data["parts"] = [asdict(part) for part in model.parts]
    return data


def _model_from_dict(data: dict[str, Any]) -> RemoteModel:
    parts = tuple(RemoteFile(**part) for part in data["parts"])
    return RemoteModel(**{**data, "parts": parts})
