"""Plain records shared by the library modules: statuses, chunks, hits, progress and reports.

Everything here is a small dataclass so progress can cross threads cheaply and results can be
printed as JSON by the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engine.errors import HearthError

# The manifest that marks a folder as a library (SQLite: files, chunks, keyword index).
MANIFEST_FILE = "library.sqlite3"

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
SCANNED = "scanned"  # pages are pictures and OCR found no text in them (or OCR is unavailable)
VECTOR_OUTLINES = "vector_outlines"  # letters drawn as shapes: no text layer, no picture to read
NOT_REGULAR = "not_regular"  # a pipe, socket or device in a dropped folder: never opened
BROKEN_LINK = "broken_link"  # a symbolic link whose target is gone
LINKED_FOLDER = "linked_folder"  # a link to a folder inside a dropped folder: not followed

SKIPPED_STATUSES = frozenset(
    {UNCHANGED, HIDDEN, UNSUPPORTED, NOT_REGULAR, BROKEN_LINK, LINKED_FOLDER}
)
FAILED_STATUSES = frozenset(
    {ENCRYPTED, DAMAGED, NO_TEXT, EMPTY, UNREADABLE, VANISHED, FAILED, SCANNED, VECTOR_OUTLINES}
)
# Not an engine outcome: a file the window listed that the indexer has not reached yet.
QUEUED = "queued"

# The word a person sees for each status, in the documents panel and wherever else it is shown:
# a file is indexed, failed or skipped (each with its reason), or on its way.
DISPLAY_STATUS: dict[str, str] = {
    INDEXED: "indexed",
    UNCHANGED: "indexed",
    **{status: "skipped" for status in SKIPPED_STATUSES - {UNCHANGED}},
    **{status: "failed" for status in FAILED_STATUSES},
    QUEUED: "queued",
    PENDING: "pending",
    INDEXING: "indexing",
    CANCELLED: "cancelled",
    REMOVED: "removed",
}


def display_status(status: str) -> str:
    """The word shown for an engine status ("damaged" -> "failed", "unchanged" -> "indexed")."""
    return DISPLAY_STATUS.get(status, status)


def in_library(status: str) -> bool:
    """True for a file the library holds (indexed, pending, failed...), False for an entry
    passed over (hidden, unsupported, a pipe, a link to a folder: "skipped"), which is listed
    but is not counted among the files. `status` is an engine status or its shown word."""
    return display_status(status) != "skipped"


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

    `page` is 1-based as a viewer shows it (a PDF page, a slide), or None for formats without
    pages (TXT, HTML, DOCX, spreadsheets). `char_start`/`char_end` index the page's text (paged
    formats) or the whole text (others). `location` is what a citation shows where a page number
    says too little or nothing ("slide 3", "sheet Budget, rows 2-14"); None for plain pages.
    """

    ordinal: int
    page: int | None
    char_start: int
    char_end: int
    heading: str | None
    text: str
    token_count: int
    location: str | None = None


@dataclass
class Hit:
    """One search result. `score` is the fused rank score; `similarity` the cosine to the query;
    `rerank_score` the reranker's mean log probability of the question (engine/rerank.py), when
    the hit was reranked."""

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
    location: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    rerank_score: float | None = None
    # False when the query is in a language the embedding model does not know: `similarity`
    # then says nothing about meaning (see retrieve.embedder_knows).
    meaning_known: bool = True

    @property
    def where(self) -> str:
        """The place a citation names: "page 4", "slide 3", "sheet Budget, rows 2-14" or ""."""
        return place_label(self.page, self.location)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def place_label(page: int | None, location: str | None) -> str:
    """Where a passage is, in the words a citation uses."""
    if location:
        return location
    return f"page {page}" if page else ""


def with_place(name: str, page: int | None, location: str | None, separator: str = ", ") -> str:
    """A file's shown `name` and where in it a passage is: "deck.pptx, slide 4",
    "report.pdf, page 7", "inventory.xlsx, sheet Inventory, rows 1-28", or the name alone.

    Every list of hits, sources and citations (window, terminal, exports) words a place this
    way, so a slide is never called a page in one of them and a slide in another.
    """
    where = place_label(page, location)
    return f"{name}{separator}{where}" if where else name


@dataclass(frozen=True)
class Evidence:
    """The few sentences of a source that best support an answer, for a person to check.

    Attributes:
        file: The document's path.
        page: 1-based page (or slide) number, None for formats without pages.
        text: The sentences, as they read in the document.
        marks: (start, end) character spans of `text` holding the matched terms.
        location: "slide 3", "sheet Budget, row 7"... when a page number says too little.
        source: The number of the source it comes from in an answer ([n]); 0 in a bare search.
        char_start, char_end: Where `text` lies in the page's text (to highlight it on the page).
    """

    file: str
    page: int | None
    text: str
    marks: list[tuple[int, int]] = field(default_factory=list)
    location: str | None = None
    source: int = 0
    char_start: int = 0
    char_end: int = 0

    @property
    def where(self) -> str:
        return place_label(self.page, self.location)

    def marked(self, left: str = "**", right: str = "**") -> str:
        """`text` with each matched term wrapped in `left`/`right` (Markdown bold by default)."""
        out, last = [], 0
        for start, end in self.marks:
            out.append(self.text[last:start] + left + self.text[start:end] + right)
            last = end
        return "".join(out) + self.text[last:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "page": self.page,
            "location": self.where or None,
            "text": self.text,
            "marked": self.marked(),
            "marks": [list(m) for m in self.marks],
            "source": self.source,
        }


@dataclass(frozen=True)
class FileRecord:
    """One row of the manifest. `error` says why a file failed, or (for an indexed file) what
    a person should know about it: pages read by OCR, bytes that could not be decoded."""

    path: str
    content_hash: str | None
    size: int | None
    mtime: float | None
    pages: int | None
    chunks: int
    status: str
    error: str | None
    indexed_at: float | None
    ocr_pages: int = 0

    @property
    def read_again(self) -> bool:
        """Indexed by an older Hearth that read it worse: an upgrade forgot its stamp, so the
        next index run reads it again (manifest.upgrade)."""
        return self.status == INDEXED and self.content_hash is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexProgress:
    """Sent to the progress callback; cheap to build, carries no references to engine objects.

    `stage` is "scan", "file", "page", "done" (one file finished) or "finished" (whole batch).
    `fraction` says how far into the file a "page" is where its pages are not counted ahead
    (a text file's blocks: bytes read of its size); `file_fraction` gives it for either kind.
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
    fraction: float | None = None

    @property
    def file_fraction(self) -> float:
        """How far into its file this progress is (0..1; 0 when that cannot be told)."""
        if self.page_count:
            return self.page / self.page_count
        return self.fraction or 0.0


@dataclass(frozen=True)
class FileProgress:
    """One file's progress as the documents panel shows it, a few times per file.

    Attributes:
        path: The file.
        status: The shown word (see `display_status`): "indexing" while it is read, then
            "indexed", "failed" or "skipped".
        fraction: How far indexing got (0..1) while the status is "indexing", else None.
        error: Why a file failed or was skipped, in plain words ("" otherwise).
        pages, chunks: Known once the file is done (None before).
        file_index, file_count: Its place in the batch (0-based) and the batch's size.
    """

    path: str
    status: str
    fraction: float | None = None
    error: str = ""
    pages: int | None = None
    chunks: int | None = None
    file_index: int = 0
    file_count: int = 1


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str
    message: str | None = None
    pages: int = 0
    chunks: int = 0
    pages_without_text: int = 0
    seconds: float = 0.0
    ocr_pages: int = 0


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
