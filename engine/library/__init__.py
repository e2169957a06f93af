"""The document library: index files on disk and retrieve chunks with page-exact citations.

Qt-free; the app runs `Library.index` on its indexing thread and wraps the progress callback.
"""

from engine.library.library import (
    DEFAULT_LIBRARY,
    Library,
    LibraryInfo,
    list_libraries,
    remove_library,
    validate_name,
)
from engine.library.types import (
    FileOutcome,
    FileProblem,
    FileRecord,
    Hit,
    IndexProgress,
    IndexReport,
    LibraryError,
)

__all__ = [
    "DEFAULT_LIBRARY",
    "FileOutcome",
    "FileProblem",
    "FileRecord",
    "Hit",
    "IndexProgress",
    "IndexReport",
    "Library",
    "LibraryError",
    "LibraryInfo",
    "list_libraries",
    "remove_library",
    "validate_name",
]
