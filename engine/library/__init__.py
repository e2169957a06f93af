"""The document library: index files on disk and retrieve chunks with page-exact citations.

Qt-free; the app runs it in a library process of its own (app/library/service.py).
The exports below import their module on first use (engine/lazy_exports.py).
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "DEFAULT_LIBRARY": "library",
    "Library": "library",
    "LibraryInfo": "library",
    "list_libraries": "library",
    "remove_library": "library",
    "validate_name": "library",
    "FileOutcome": "types",
    "FileProblem": "types",
    "FileRecord": "types",
    "Hit": "types",
    "IndexProgress": "types",
    "IndexReport": "types",
    "LibraryError": "types",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
