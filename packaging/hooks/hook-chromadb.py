"""PyInstaller hook: chromadb picks its components by dotted name at run time, so collect them all.

Its tests, server and command line are not part of a desktop app and are left out, as is the
distributed (Kubernetes) segment code.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

_SKIP = (
    "chromadb.test",
    "chromadb.server",
    "chromadb.cli",
    "chromadb.segment.impl.distributed",
)


def _wanted(name: str) -> bool:
    return not any(name == prefix or name.startswith(prefix + ".") for prefix in _SKIP)


hiddenimports = collect_submodules("chromadb", filter=_wanted)
datas = collect_data_files("chromadb", excludes=["test/**", "**/test/**"]) + copy_metadata(
    "chromadb"
)
warn_on_missing_hiddenimports = False
