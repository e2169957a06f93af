"""A read-only copy of a library's vectors that a search can use without starting chromadb.

Importing chromadb takes about 0.8 s on two cores (its API, telemetry and gRPC modules), most of
what a cold `hearth search` or `hearth ask` spent before its first result. After each change to a
library its vectors are also written here, as plain arrays that a new process maps from disk:

    snapshot/vectors.npy   float32, shape (chunks, dimension), unit length (the store's vectors)
    snapshot/keys.npy      int64, shape (chunks, 2): (file id, ordinal) of each row
    snapshot/stamp.txt     what the manifest looked like when the copy was made

A search uses the copy only when the stamp still matches the manifest (the indexed files, their
content hashes, chunk counts and index times, and the embedding model); otherwise it asks
chromadb, which stays the store of record. The search over the copy is exact (every row is
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

SNAPSHOT_DIR = "snapshot"
_VECTORS = "vectors.npy"
_KEYS = "keys.npy"
_STAMP = "stamp.txt"


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
        folder = Path(library_folder) / SNAPSHOT_DIR
        try:
            if (folder / _STAMP).read_text(encoding="ascii").strip() != stamp:
                return None
            vectors = np.load(folder / _VECTORS, mmap_mode="r", allow_pickle=False)
            keys = np.load(folder / _KEYS, allow_pickle=False)
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        if vectors.ndim != 2 or vectors.dtype != np.float32 or keys.shape != (vectors.shape[0], 2):
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


def write_snapshot(library_folder: Path, stamp: str, keys: np.ndarray, vectors: np.ndarray) -> None:
    """Replace the library's snapshot in one step: written to a scratch folder beside it, then
    renamed into place, so a reader sees the old copy, the new one, or none (never half).

    Raises:
        OSError: the disk refused the write (the old copy, if any, was removed first, so a
            search falls back to the store rather than to stale vectors).
    """
    folder = Path(library_folder)
    target = folder / SNAPSHOT_DIR
    scratch = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=folder))
    try:
        np.save(scratch / _VECTORS, np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(scratch / _KEYS, np.ascontiguousarray(keys, dtype=np.int64))
        (scratch / _STAMP).write_text(stamp, encoding="ascii")
        for name in (_VECTORS, _KEYS, _STAMP):
            with open(scratch / name, "rb") as written:
                os.fsync(written.fileno())
        remove_snapshot(folder)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def remove_snapshot(library_folder: Path) -> None:
    """Drop the snapshot (a search then asks the store until the next one is written)."""
    shutil.rmtree(Path(library_folder) / SNAPSHOT_DIR, ignore_errors=True)
