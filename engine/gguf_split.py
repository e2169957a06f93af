"""Split GGUF models: `name-00001-of-00003.gguf` and its siblings, named as llama.cpp's gguf-split
writes them (`llama_split_path`: "%s-%05d-of-%05d.gguf").

llama.cpp loads a split model from its first part when every part sits beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_SPLIT_NAME = re.compile(
    r"^(?P<prefix>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE
)


@dataclass(frozen=True)
class SplitName:
    """Where one file stands in a split model. `index` is 1-based, as in the file name."""

    prefix: str
    index: int
    count: int

    def part_name(self, index: int) -> str:
        return f"{self.prefix}-{index:05d}-of-{self.count:05d}.gguf"

    def part_names(self) -> list[str]:
        return [self.part_name(i) for i in range(1, self.count + 1)]


def split_name(name: str) -> SplitName | None:
    """The split position encoded in a file name (a path's last part), or None for a whole file."""
    match = _SPLIT_NAME.match(PurePosixPath(name).name)
    if not match or int(match["count"]) < 2 or not 1 <= int(match["index"]) <= int(match["count"]):
        return None
    folder = name[: len(name) - len(PurePosixPath(name).name)]
    return SplitName(folder + match["prefix"], int(match["index"]), int(match["count"]))


def local_parts(path: str | Path) -> list[Path]:
    """Every part of the model whose first part is `path`, in order; `[path]` for a whole file or
    when a part is missing (llama.cpp would then refuse the load itself)."""
    path = Path(path)
    split = split_name(path.name)
    if split is None or split.index != 1:
        return [path]
    parts = [path.with_name(name) for name in split.part_names()]
    return parts if all(part.is_file() for part in parts) else [path]
