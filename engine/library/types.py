"""Plain records shared by the library modules: statuses, chunks, hits, progress and reports.

Everything here is a small dataclass so progress can cross threads cheaply and results can be
printed as JSON by the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engine.errors import HearthError

# Per-file outcomes. None of them aborts a batch; each is reported for its file.
INDEXED = "indexed"
UNCHANGED = "unchanged"
HIDDEN = "hidden"
REMOVED = "removed"
CANCELLED = "cancelled"
PENDING = "pending"
INDEXING = "indexing"  # written before a file's vectors; found on open only after a crash
ENCRYPTED = "encrypted"
DAMAGED = "damaged"
NO_TEXT = "no_text"
EMPTY = "empty"
UNSUPPORTED = "unsupported"
UNREADABLE = "unreadable"
VANISHED = "vanished"
FAILED = "failed"

SKIPPED_STATUSES = frozenset({UNCHANGED, HIDDEN, UNSUPPORTED})
FAILED_STATUSES = frozenset({ENCRYPTED, DAMAGED, NO_TEXT, EMPTY, UNREADABLE, VANISHED, FAILED})


class LibraryError(HearthError):
    """A library that cannot be opened, named, found or used as asked."""


class FileProblem(HearthError):
    """One file that cannot be indexed; carries the per-file status shown to the person.

    Args:
        status: One of FAILED_STATUSES.
        message: Plain words, e.g. "scanned, no text to index".
    """

    def __init__(self, status: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.status = status


@dataclass(frozen=True)
class Chunk:
    """A piece of one file's text, small enough for the embedding model to read whole.

    `page` is 1-based as a viewer shows it, or None for formats without pages (TXT, HTML, DOCX).
    `char_start`/`char_end` index the page's text (paged formats) or the whole text (others).
    """

    ordinal: int
    page: int | None
    char_start: int
    char_end: int
    heading: str | None
    text: str
    token_count: int


@dataclass
class Hit:
    """One search result. `score` is the fused rank score; `similarity` the cosine to the query."""

    chunk_id: int
    file: str
    page: int | None
    text: str
    score: float
    file_id: int = 0
    similarity: float | None = None
    heading: str | None = None
    char_start: int = 0
    char_end: int = 0
    ordinal: int = 0
    vector_rank: int | None = None
    keyword_rank: int | None = None
    exact_match: bool = False  # holds the query's exact terms (part numbers, quoted phrases)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FileRecord:
    """One row of the manifest."""

    path: str
    content_hash: str | None
    size: int | None
    mtime: float | None
    pages: int | None
    chunks: int
    status: str
    error: str | None
    indexed_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexProgress:
    """Sent to the progress callback; cheap to build, carries no references to engine objects.

    `stage` is "scan", "file", "page", "done" (one file finished) or "finished" (whole batch).
    """

    stage: str
    file: str | None
    file_index: int
    file_count: int
    page: int = 0
    page_count: int = 0
    chunks: int = 0
    status: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str
    message: str | None = None
    pages: int = 0
    chunks: int = 0
    pages_without_text: int = 0
    seconds: float = 0.0


@dataclass
class IndexReport:
    """What one index() call did, file by file, with totals."""

    library: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    skipped: list[FileOutcome] = field(default_factory=list)  # hidden / unsupported, from the walk
    seconds: float = 0.0
    cancelled: bool = False

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.all_outcomes if o.status in statuses)

    @property
    def all_outcomes(self) -> list[FileOutcome]:
        return self.outcomes + self.skipped

    @property
    def indexed(self) -> int:
        return self.count(INDEXED)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def skipped_count(self) -> int:
        """Files passed over (hidden, unsupported); unchanged files are counted apart."""
        return self.count(*(SKIPPED_STATUSES - {UNCHANGED}))

    @property
    def removed(self) -> int:
        return self.count(REMOVED)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.all_outcomes if o.status in FAILED_STATUSES]

    @property
    def pages(self) -> int:
        return sum(o.pages for o in self.outcomes if o.status == INDEXED)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status == INDEXED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "skipped": self.skipped_count,
            "removed": self.removed,
            "failed": len(self.failed),
            "cancelled": self.cancelled,
            "pages": self.pages,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "files": [asdict(o) for o in self.all_outcomes],
        }
