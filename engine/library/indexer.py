"""Index one file: hash, extract page by page, chunk, embed in batches, store, commit.

The order of writes is what makes a kill harmless: the manifest first says "indexing" (committed),
then the vectors go into the vector store batch by batch, and only then one SQLite transaction
adds the chunk rows and flips the status to "indexed". Memory stays bounded on huge files because
pages are streamed and only one batch of chunks is held at a time.
"""

from __future__ import annotations

import hashlib
import logging
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.cancel import CancelToken
from engine.display import counted
from engine.library import ocr
from engine.library.chunk import Chunker
from engine.library.document import PageText
from engine.library.embed import Embedder
from engine.library.extract import Extraction, open_document
from engine.library.manifest import ChunkWriter, Manifest
from engine.library.paged import BLANK, OUTLINES_PAGE, SCANNED_PAGE, UNREADABLE_PAGE
from engine.library.store import VectorStore
from engine.library.types import (
    DAMAGED,
    EMPTY,
    FAILED,
    INDEXED,
    NO_TEXT,
    NOT_REGULAR,
    PENDING,
    SCANNED,
    UNCHANGED,
    UNREADABLE,
    VANISHED,
    VECTOR_OUTLINES,
    Chunk,
    FileOutcome,
    FileProblem,
    FileRecord,
    IndexProgress,
)
from engine.storage import check_free_space, storage_problem

log = logging.getLogger(__name__)

EMBED_BATCH = 64  # chunks embedded and stored together
HASH_BLOCK = 1 << 20
# Free space a file needs before indexing starts: a fixed reserve, and for the file's text, its
# chunks' rows, keyword index and vectors (measured: about 6 bytes on disk per byte of plain text).
INDEX_RESERVE_BYTES = 8 * 2**20
INDEX_BYTES_PER_FILE_BYTE = 6
INDEX_FILE_BYTES_COUNTED = 32 * 2**20
# Why pages of a file cannot be read, in the words its status uses.
CUT_SHORT = "the file is cut short or damaged"


def space_needed(file_size: int) -> int:
    """Bytes of free disk to ask for before indexing a file of `file_size` bytes."""
    return INDEX_RESERVE_BYTES + INDEX_BYTES_PER_FILE_BYTE * min(
        file_size, INDEX_FILE_BYTES_COUNTED
    )


ProgressCallback = Callable[[IndexProgress], None]


def embedding_text(chunk: Chunk) -> str:
    """The text whose vector stands for a chunk: its heading first, when the chunk does not
    start with it, so a page deep in a section still carries what the section is about."""
    if chunk.heading and chunk.heading.lower() not in chunk.text[:200].lower():
        return f"{chunk.heading}\n{chunk.text}"
    return chunk.text


def no_text_problem(kind: str, blank: dict[str, int]) -> FileProblem:
    """Why a file gave no text at all, in the words its status shows."""
    if blank.get(SCANNED_PAGE):
        if kind == "image":
            what = "a picture with no text OCR could read"
        else:
            what = "scanned, no text OCR could read"
        if not ocr.available():
            what = "scanned, no text to index (OCR is not installed)"
        return FileProblem(SCANNED, what)
    if blank.get(OUTLINES_PAGE):
        return FileProblem(VECTOR_OUTLINES, "vector outlines, no text")
    if kind in {"pdf", "xps", "oxps", "epub"}:
        return FileProblem(NO_TEXT, "no text on any page")
    return FileProblem(EMPTY, "no text in this file")


def file_note(
    extraction: Extraction,
    pages: int,
    pages_without_text: int,
    blank: dict[str, int],
    ocr_pages: int,
) -> str | None:
    """What a person should know about a file that was indexed, or None."""
    notes: list[str] = []
    lost = blank.get(UNREADABLE_PAGE, 0)
    if extraction.paged and (lost or extraction.pages_found):
        notes.append(damage_note(pages, lost, pages - pages_without_text, extraction.pages_found))
    if ocr_pages:
        notes.append(f"{ocr_pages:,} of {counted(pages, 'page')} read by OCR")
    if extraction.paged and pages_without_text:
        scanned, outlines = blank.get(SCANNED_PAGE, 0), blank.get(OUTLINES_PAGE, 0)
        if scanned:
            notes.append(f"{counted(scanned, 'scanned page')} without readable text")
        if outlines:
            notes.append(f"{counted(outlines, 'page')} of vector outlines without text")
        empty = pages_without_text - scanned - outlines - lost
        if empty:
            notes.append(f"{empty:,} of {counted(pages, 'page')} {_are(empty)} blank")
    if extraction.note:
        notes.append(extraction.note)
    return "; ".join(notes) or None


def damage_note(pages: int, lost: int, searchable: int, pages_found: bool = False) -> str:
    """What a damaged or cut-short file that was read in part says about its pages.

    Args:
        pages: The pages it has (those found, when its list of pages was lost).
        lost: Those that cannot be read.
        searchable: Those with text to search.
        pages_found: Its list of pages was lost, so how many it had is unknown.

    Returns:
        E.g. "damaged: 13 of 30 pages cannot be read (the file is cut short or damaged); the
        other 17 are searchable".
    """
    if pages_found:
        found = f"the {counted(pages, 'page')} found"
        if searchable == pages:
            readable = f"{found} {_are(pages)} searchable"
        else:
            readable = f"{searchable:,} of {found} {_are(searchable)} searchable"
        return f"damaged: pages may be missing ({CUT_SHORT}); {readable}"
    others = pages - lost
    if searchable == others:
        readable = f"the other {'page' if others == 1 else f'{others:,}'} {_are(others)} searchable"
    else:
        readable = f"{searchable:,} of the other {others:,} {_are(searchable)} searchable"
    return f"{_pages_lost(pages, lost)}; {readable}"


def _pages_lost(pages: int, lost: int) -> str:
    return f"damaged: {lost:,} of {counted(pages, 'page')} cannot be read ({CUT_SHORT})"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


class Cancelled(Exception):
    """Raised inside the pipeline when the cancel token is set."""


def content_hash(path: Path, cancel: CancelToken | None = None) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            if cancel is not None and cancel.cancelled:
                raise Cancelled
            digest.update(block)
    return digest.hexdigest()


def _same_file(record: FileRecord | None, size: int, mtime: float) -> bool:
    """Indexed before with this size and modification time: no need to read it again."""
    return (
        record is not None
        and record.status == INDEXED
        and record.size == size
        and record.mtime == mtime
    )


@dataclass
class _PageTally:
    """What the pages of one file held: how many, how many without text and why, OCR'd."""

    pages: int = 0
    without_text: int = 0
    ocr_pages: int = 0
    blank: dict[str, int] = field(default_factory=dict)

    def add(self, page: PageText) -> None:
        self.pages += 1
        self.ocr_pages += page.ocr
        if not page.text.strip():
            self.without_text += 1
            reason = page.blank or BLANK
            self.blank[reason] = self.blank.get(reason, 0) + 1

    def check(self, extraction: Extraction, chunks: int) -> None:
        """Raise the FileProblem for a file none of whose pages could be read, or that held
        no text. A file that lost only some of its pages is indexed: its note says so."""
        lost = self.blank.get(UNREADABLE_PAGE, 0)
        if lost and lost == self.pages:
            raise FileProblem(DAMAGED, "damaged file, its pages cannot be read")
        if chunks == 0 and lost:
            raise FileProblem(
                DAMAGED, f"{_pages_lost(self.pages, lost)}, and the others hold no text"
            )
        if chunks == 0:
            raise no_text_problem(extraction.kind, self.blank)


class FileIndexer:
    """Indexes single files into one library's manifest and vector store."""

    def __init__(
        self, manifest: Manifest, store: VectorStore, embedder: Embedder, chunker: Chunker
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.embedder = embedder
        self.chunker = chunker

    def index_file(
        self,
        path: Path,
        position: tuple[int, int],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> FileOutcome:
        """Bring one file's entry up to date; never raises for a bad file.

        Args:
            path: The file (absolute).
            position: (index of this file in the batch, files in the batch), for progress.

        Raises:
            Cancelled: The token was set; the file is left pending, with no chunks.
            StorageError: The disk is full or read-only; the file is left pending.
        """
        started = time.perf_counter()
        key = str(path)
        checked = self._changed_stamp(path, cancel)
        if isinstance(checked, FileOutcome):
            return checked
        stamp = checked
        check_free_space(self.manifest.path, space_needed(stamp[1]), f"index {path.name}")
        try:
            extraction = open_document(path)
        except FileProblem as problem:
            return self._fail(key, problem, stamp, started)
        file_id = self.manifest.begin_file(key, *stamp)
        self.store.delete_file(file_id)
        writer = self.manifest.write_file_chunks(file_id)
        try:
            tally = self._index_pages(extraction, file_id, writer, key, position, progress, cancel)
            tally.check(extraction, writer.count)
            note = file_note(extraction, tally.pages, tally.without_text, tally.blank,
                             tally.ocr_pages)  # fmt: skip
            writer.finish(tally.pages if extraction.paged else None, note, tally.ocr_pages)
        except Cancelled:
            self._undo(file_id, writer)
            self.manifest.set_outcome(key, PENDING)
            raise
        except FileProblem as problem:
            self._undo(file_id, writer)
            return self._fail(key, problem, stamp, started)
        except Exception as exc:
            disk = storage_problem(exc, self.manifest.path, f"index {path.name}")
            if disk is not None:  # the disk, not the file: stop, keep the file pending
                log.warning("indexing %s stopped: %s", key, disk)
                self._undo_quietly(file_id, writer, key)
                raise disk from exc
            # An unexpected bug or resource error: this file fails, not the whole batch.
            log.exception("indexing %s failed", key)
            self._undo(file_id, writer)
            failure = FileProblem(FAILED, f"indexing failed: {exc}")
            return self._fail(key, failure, stamp, started)
        return FileOutcome(
            key,
            INDEXED,
            note,
            pages=tally.pages if extraction.paged else 0,
            chunks=writer.count,
            pages_without_text=tally.without_text if extraction.paged else 0,
            seconds=time.perf_counter() - started,
            ocr_pages=tally.ocr_pages,
        )

    def _changed_stamp(
        self, path: Path, cancel: CancelToken | None
    ) -> tuple[str, int, float] | FileOutcome:
        """(content hash, size, mtime) of a file that needs indexing, or the outcome that says
        why it does not (unchanged, vanished, unreadable, not a regular file)."""
        key = str(path)
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                # A pipe or device: opening it to hash it could wait forever.
                return FileOutcome(key, NOT_REGULAR, "not a regular file")
            record = self.manifest.file(key)
            if _same_file(record, info.st_size, info.st_mtime):
                assert record is not None
                return FileOutcome(key, UNCHANGED, pages=record.pages or 0, chunks=record.chunks)
            digest = content_hash(path, cancel)
        except FileNotFoundError:
            self.forget(key)
            return FileOutcome(key, VANISHED, "the file vanished before it could be indexed")
        except OSError as exc:
            problem = FileProblem(UNREADABLE, f"cannot read this file ({exc.strerror or exc})")
            return self._fail(key, problem)
        if record is not None and record.status == INDEXED and record.content_hash == digest:
            self.manifest.touch(key, info.st_mtime)
            return FileOutcome(key, UNCHANGED, pages=record.pages or 0, chunks=record.chunks)
        return digest, info.st_size, info.st_mtime

    def _index_pages(
        self,
        extraction: Extraction,
        file_id: int,
        writer: ChunkWriter,
        key: str,
        position: tuple[int, int],
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> _PageTally:
        """Chunk, embed and store every page, reporting progress after each; counts the pages."""
        tally = _PageTally()
        batch: list[Chunk] = []
        for page in extraction.pages():
            if cancel is not None and cancel.cancelled:
                raise Cancelled
            tally.add(page)
            for chunk in self.chunker.chunk_page(page, writer.count + len(batch)):
                batch.append(chunk)
                if len(batch) >= EMBED_BATCH:
                    self._store(file_id, writer, batch)
                    batch = []
            if progress is not None:
                progress(
                    IndexProgress(
                        "page",
                        key,
                        position[0],
                        position[1],
                        page=page.page or tally.pages,
                        page_count=extraction.page_count or 0,
                        chunks=writer.count + len(batch),
                        fraction=extraction.read_fraction() if extraction.read_fraction else None,
                    )
                )
        self._store(file_id, writer, batch)
        return tally

    def _store(self, file_id: int, writer: ChunkWriter, batch: list[Chunk]) -> None:
        if not batch:
            return
        vectors = self.embedder.embed([embedding_text(chunk) for chunk in batch])
        self.store.add(file_id, [chunk.ordinal for chunk in batch], vectors)
        writer.add(batch)

    def _undo(self, file_id: int, writer: ChunkWriter) -> None:
        writer.abort()
        self.store.delete_file(file_id)

    def _undo_quietly(self, file_id: int, writer, key: str) -> None:
        """Undo what can be undone on a disk that refuses writes, each step on its own: the
        file is pending again even when its vectors cannot be dropped now (they are dropped
        before it is next indexed, and a search never shows a pending file's). It stays
        "indexing" only if even that fails; the next run cleans it up (`Library._recover`)."""
        steps = (writer.abort, lambda: self.store.delete_file(file_id),
                 lambda: self.manifest.set_outcome(key, PENDING))  # fmt: skip
        for step in steps:
            try:
                step()
            except Exception as exc:  # the disk is still refusing: cleaned up later
                log.warning("could not roll back %s now: %s", key, exc)

    def _fail(
        self,
        key: str,
        problem: FileProblem,
        stamp: tuple[str, int, float] | None = None,
        started: float | None = None,
    ) -> FileOutcome:
        digest, size, mtime = stamp or (None, None, None)
        file_id = self.manifest.set_outcome(
            key, problem.status, problem.message, digest, size, mtime
        )
        # A file that was indexed before and is now unreadable loses its old vectors too.
        self.store.delete_file(file_id)
        seconds = time.perf_counter() - started if started else 0.0
        return FileOutcome(key, problem.status, problem.message, seconds=seconds)

    def forget(self, key: str) -> bool:
        """Drop a file from the library. Returns False when it was not there."""
        file_id = self.manifest.remove(key)
        if file_id is None:
            return False
        self.store.delete_file(file_id)
        return True
