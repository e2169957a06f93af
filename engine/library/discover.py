"""Turn the paths a person dropped into the list of files to index.

Folders are walked recursively (symlinked folders are not followed, so a loop cannot trap the
walk); hidden files and folders, unsupported types, broken links and entries that are not
regular files (pipes, sockets, devices: opening one can wait forever) are skipped and each is
reported with its reason, not indexed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from engine.library.formats import is_supported
from engine.library.types import (
    BROKEN_LINK,
    HIDDEN,
    LINKED_FOLDER,
    NOT_REGULAR,
    UNREADABLE,
    UNSUPPORTED,
    FileOutcome,
)


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    skipped: list[FileOutcome] = field(default_factory=list)
    folders: list[Path] = field(
        default_factory=list
    )  # walked folders: files gone from them are removed
    missing: list[Path] = field(default_factory=list)  # named paths that do not exist


def is_hidden(path: Path) -> bool:
    if path.name.startswith("."):
        return True
    try:
        attributes = getattr(path.lstat(), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


def discover(paths: list[Path]) -> Discovery:
    """Files to index under `paths`, in a stable order, each once."""
    found = Discovery()
    seen: set[Path] = set()

    def add(file: Path) -> None:
        if not _name_is_text(file):
            found.skipped.append(FileOutcome(str(file), UNREADABLE, "the file name is not valid "
                                             "text; rename the file to index it"))  # fmt: skip
        elif file not in seen:
            seen.add(file)
            found.files.append(file)

    for raw in paths:
        path = Path(os.path.abspath(os.path.expanduser(str(raw))))
        if not path.exists():
            if path.is_symlink():
                found.skipped.append(FileOutcome(str(path), BROKEN_LINK, "broken link"))
            else:
                found.missing.append(path)
        elif path.is_dir():
            found.folders.append(path)
            _walk(path, found, add)
        elif not path.is_file():
            found.skipped.append(_not_regular(path))
        elif is_supported(path):
            # A file named on purpose is indexed even if hidden.
            add(path)
        else:
            found.skipped.append(_unsupported(path))
    return found


def _walk(root: Path, found: Discovery, add) -> None:
    def on_error(error: OSError) -> None:
        where = error.filename or str(root)
        found.skipped.append(
            FileOutcome(str(where), UNREADABLE, f"cannot read this folder ({error.strerror})")
        )

    for folder, dirs, names in os.walk(root, onerror=on_error, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs):
            if is_hidden(base / name):
                found.skipped.append(FileOutcome(str(base / name), HIDDEN, "hidden folder"))
            elif (base / name).is_symlink():
                found.skipped.append(
                    FileOutcome(str(base / name), LINKED_FOLDER, "link to a folder, not followed")
                )
        dirs[:] = sorted(d for d in dirs if not is_hidden(base / d))
        for name in sorted(names):
            file = base / name
            skipped = skip_reason(file)
            if skipped is not None:
                found.skipped.append(skipped)
            else:
                add(file)


def skip_reason(file: Path) -> FileOutcome | None:
    """Why a file found in a folder is not indexed, or None when it should be."""
    if is_hidden(file):
        return FileOutcome(str(file), HIDDEN, "hidden file")
    if file.is_symlink() and not file.exists():
        return FileOutcome(str(file), BROKEN_LINK, "broken link")
    if not file.is_file():
        return _not_regular(file)
    if not is_supported(file):
        return _unsupported(file)
    return None


def _not_regular(path: Path) -> FileOutcome:
    return FileOutcome(str(path), NOT_REGULAR, "not a regular file")


def _name_is_text(path: Path) -> bool:
    """False for names holding bytes that are not UTF-8 (the library stores paths as text)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unsupported(path: Path) -> FileOutcome:
    kind = path.suffix.lower() or "no extension"
    return FileOutcome(str(path), UNSUPPORTED, f"unsupported file type ({kind})")
