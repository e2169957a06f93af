"""A read-only copy of a library's vectors that a search can use without starting chromadb.

Importing chromadb takes about 0.8 s on two cores (its API, telemetry and gRPC modules), most of
what a cold `hearth search` or `hearth ask` spent before its first result. After each change to a
library its vectors are also written here, as plain arrays that a new process maps from disk:

    snapshot-<stamp>/vectors.npy   float32, (chunks, dimension), unit length (the store's vectors)
    snapshot-<stamp>/keys.npy      int64, (chunks, 2): (file id, ordinal) of each row

The stamp is a digest of what decides the vectors (the indexed files, their content hashes,
chunk counts and index times, and the embedding model). A search looks for the folder named by
the manifest's current stamp; when there is none it asks chromadb, which stays the store of
record. A folder is written whole under another name and renamed into place, and never changed
after, so a reader sees a complete copy for its own stamp or none, even while a writer replaces
it. The search over the copy is exact (every row is
scored), so its ranking equals the store's nearest neighbours (chromadb's HNSW index is
approximate); bench/ask.py measures both.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SNAPSHOT_PREFIX = "snapshot-"
_VECTORS = "vectors.npy"
_KEYS = "keys.npy"


def snapshot_folder(library_folder: Path, stamp: str) -> Path:
    """Where the snapshot for `stamp` lives."""
    return Path(library_folder) / f"{SNAPSHOT_PREFIX}{stamp[:32]}"


def manifest_stamp(conn, model_name: str) -> str:
    """A digest of what decides a library's vectors: each indexed file's id, content hash, chunk
    count and index time, and the embedding model's name. Any indexing or removal changes it."""
    digest = hashlib.sha256(model_name.encode())
    rows = conn.execute(
        "SELECT id, content_hash, chunks, indexed_at FROM files WHERE status = 'indexed' "
        "ORDER BY id"
    )
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


class VectorSnapshot:
    """Exact cosine search over a mapped copy of a library's vectors.

    Offers the two calls retrieval makes of a `VectorStore`: `query` and `vectors`.

    Args:
        keys: (file id, ordinal) per row, shape (n, 2).
        vectors: Unit-length vectors, shape (n, dimension), float32.
    """

    def __init__(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.keys = keys
        self.vectors_matrix = vectors
        self._row_of = {(int(f), int(o)): row for row, (f, o) in enumerate(keys)}

    @classmethod
    def load(cls, library_folder: Path, stamp: str) -> VectorSnapshot | None:
        """The library's snapshot if it matches `stamp`, else None (missing, stale or damaged:
        the caller then searches the store)."""
        folder = snapshot_folder(library_folder, stamp)
        try:
            vectors = np.load(folder / _VECTORS, mmap_mode="r", allow_pickle=False)
            keys = np.load(folder / _KEYS, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if vectors.ndim != 2 or vectors.dtype != np.float32 or keys.shape != (vectors.shape[0], 2):
            return None
        if not _unit_rows(vectors):
            return None
        return cls(keys, vectors)

    def query(
        self, vector: np.ndarray, limit: int, file_ids: list[int] | None = None
    ) -> list[tuple[int, int, float]]:
        """The `limit` rows nearest to `vector` (unit length), as the store's `query` gives them:
        (file id, ordinal, cosine similarity), best first."""
        if limit <= 0 or not len(self.keys):
            return []
        scores = self.vectors_matrix @ np.asarray(vector, dtype=np.float32)
        if file_ids is not None:
            allowed = np.isin(self.keys[:, 0], np.asarray(list(file_ids), dtype=np.int64))
            scores = np.where(allowed, scores, -np.inf)
            limit = min(limit, int(allowed.sum()))
        limit = min(limit, len(scores))
        if limit <= 0:
            return []
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.keys[i, 0]), int(self.keys[i, 1]), float(scores[i])) for i in top]

    def vectors(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        """The vectors of these (file id, ordinal) keys; unknown keys are left out."""
        rows = {key: self._row_of.get(key) for key in keys}
        return {
            key: np.array(self.vectors_matrix[row]) for key, row in rows.items() if row is not None
        }


def _unit_rows(vectors: np.ndarray) -> bool:
    """True when every row is a finite unit vector, as the store's are: bytes damaged on disk
    (same size, other contents) fail this rather than quietly spoiling every search. Reads the
    whole file once per load (about 5 ms for 10,000 rows here)."""
    with np.errstate(all="ignore"):
        norms = np.einsum("ij,ij->i", vectors, vectors)
        return bool(np.all(np.abs(norms - 1.0) < 1e-3))


def write_snapshot(library_folder: Path, stamp: str, keys: np.ndarray, vectors: np.ndarray) -> None:
    """Write the snapshot for `stamp`: into a scratch folder beside it, then renamed into place,
    so a reader sees the whole copy or none; older snapshots are removed after.

    Raises:
        OSError: the disk refused the write (nothing of it is left behind).
    """
    folder = Path(library_folder)
    target = snapshot_folder(folder, stamp)
    scratch = Path(tempfile.mkdtemp(prefix=".writing-snapshot-", dir=folder))
    try:
        np.save(scratch / _VECTORS, np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(scratch / _KEYS, np.ascontiguousarray(keys, dtype=np.int64))
        for name in (_VECTORS, _KEYS):
            with open(scratch / name, "rb") as written:
                os.fsync(written.fileno())
        shutil.rmtree(target, ignore_errors=True)  # a copy for this stamp that failed to load
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    remove_snapshot(folder, keep=target.name)


def remove_snapshot(library_folder: Path, keep: str | None = None) -> None:
    """Drop the library's snapshots but the folder named `keep` (a search then asks the store
    until the next one is written). A reader that has one mapped keeps its copy until done."""
    for path in Path(library_folder).glob(f"{SNAPSHOT_PREFIX}*"):
        if path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
