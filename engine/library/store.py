"""The vector half of a library: a chromadb persistent collection of chunk embeddings.

Vectors are always computed by Hearth's own embedder and passed in; the collection is created
with no embedding function, so chromadb never loads (or downloads) one of its own. Each vector's
id is "<file id>:<ordinal>" and its metadata holds the file id, so a file's vectors can be dropped
in one call and a hit can be matched to its chunk row in the manifest.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.library.types import LibraryError
from engine.storage import StorageError, disk_state_problem

# chromadb's opt-out must be set before it is imported anywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# Vectors per chromadb upsert call. chromadb's bindings keep Python's lock for the whole call, so one
# big upsert freezes every other Python thread, the GUI's included: 64 vectors measured 25-110 ms
# per call, 16 measured 8-16 ms typical. A short sleep between pieces makes sure a waiting thread
# gets the lock. (A few calls still take 55-90 ms whatever their size: chromadb's own upkeep.)
UPSERT_BATCH = 16
UPSERT_PAUSE_S = 0.002


def vector_id(file_id: int, ordinal: int) -> str:
    return f"{file_id}:{ordinal}"


def parse_vector_id(value: str) -> tuple[int, int]:
    file_id, ordinal = value.split(":")
    return int(file_id), int(ordinal)


class VectorStore:
    """One chromadb collection in its own persistent folder.

    Args:
        folder: The chromadb folder (created when missing).
        collection: The collection's name.
    """

    def __init__(self, folder: Path, collection: str) -> None:
        import chromadb
        from chromadb.config import Settings

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._client = chromadb.PersistentClient(
                path=str(self.folder),
                settings=Settings(anonymized_telemetry=False, allow_reset=False),
            )
            self._collection = self._client.get_or_create_collection(
                collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": 100}},
            )
            self._max_batch = max(1, int(self._client.get_max_batch_size()))
        except Exception as exc:
            _forget_failed_client(self.folder)
            # chromadb's errors do not always say why; a full or read-only disk is then the cause.
            problem = disk_state_problem(exc, self.folder, "open the library's vector index")
            if problem is not None:
                raise problem from exc
            raise LibraryError(
                f"The vector index in {self.folder} cannot be opened: {exc}",
                "Remove the library and index its files again.",
            ) from exc

    def count(self) -> int:
        return self._collection.count()

    def add(self, file_id: int, ordinals: list[int], vectors: np.ndarray) -> None:
        """Store one file's vectors (upsert, so a retried batch never duplicates).

        Written in pieces of at most UPSERT_BATCH so other threads get the interpreter in between.
        """
        step = min(UPSERT_BATCH, self._max_batch)
        for start in range(0, len(ordinals), step):
            if start:
                time.sleep(UPSERT_PAUSE_S)  # hand the interpreter lock over between pieces
            part = ordinals[start : start + step]
            self._collection.upsert(
                ids=[vector_id(file_id, ordinal) for ordinal in part],
                embeddings=vectors[start : start + len(part)],
                metadatas=[{"file_id": file_id} for _ in part],
            )

    def delete_file(self, file_id: int) -> None:
        self._collection.delete(where={"file_id": file_id})

    def query(
        self, vector: np.ndarray, limit: int, file_ids: list[int] | None = None
    ) -> list[tuple[int, int, float]]:
        """Nearest chunks to `vector`.

        Returns:
            (file id, ordinal, cosine similarity) best first.
        """
        count = self.count()
        if count == 0 or limit <= 0:
            return []
        where: Any = None
        if file_ids is not None:
            where = (
                {"file_id": {"$in": list(file_ids)}}
                if len(file_ids) != 1
                else {"file_id": file_ids[0]}
            )
        result = self._collection.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=min(limit, count),
            where=where,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(*parse_vector_id(i), 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def vectors(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        if not keys:
            return {}
        result = self._collection.get(
            ids=[vector_id(f, o) for f, o in keys], include=["embeddings"]
        )
        embeddings: Any = result["embeddings"]
        return {
            parse_vector_id(i): np.asarray(e, dtype=np.float32)
            for i, e in zip(result["ids"], embeddings, strict=True)
        }

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every vector with its key: ((n, 2) int64 (file id, ordinal), (n, dimension) float32),
        read in pieces of the client's largest batch."""
        keys: list[tuple[int, int]] = []
        parts: list[np.ndarray] = []
        offset = 0
        while True:
            result = self._collection.get(
                include=["embeddings"], limit=self._max_batch, offset=offset
            )
            ids = result["ids"]
            if not ids:
                break
            keys.extend(parse_vector_id(i) for i in ids)
            parts.append(np.asarray(result["embeddings"], dtype=np.float32))
            offset += len(ids)
        if not parts:
            return np.zeros((0, 2), dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.asarray(keys, dtype=np.int64), np.concatenate(parts)

    def file_ids(self) -> set[int]:
        """Every file id with vectors (for consistency checks; reads all metadata)."""
        result = self._collection.get(include=["metadatas"])
        return {int(str(m["file_id"])) for m in result["metadatas"] or [] if m}

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            close()


class UnwritableVectorStore(VectorStore):
    """Stands in for a `VectorStore` that cannot be opened because its disk is full or
    read-only (chromadb writes to its database on every open): searches then go by words
    alone, and anything that would change the library raises `problem`.

    Args:
        problem: Why the vector index cannot be opened, in words.
    """

    def __init__(self, problem: StorageError) -> None:  # no chromadb client to start
        self.problem = problem

    def count(self) -> int:
        return 0

    def query(
        self, vector: np.ndarray, limit: int, file_ids: list[int] | None = None
    ) -> list[tuple[int, int, float]]:
        """No nearest chunks: the keyword half of the search stands alone."""
        return []

    def vectors(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        return {}

    def add(self, file_id: int, ordinals: list[int], vectors: np.ndarray) -> None:
        raise self.problem

    def delete_file(self, file_id: int) -> None:
        raise self.problem

    def file_ids(self) -> set[int]:
        raise self.problem

    def close(self) -> None:
        pass


def _forget_failed_client(folder: Path) -> None:
    """chromadb caches one client per folder for the whole process and keeps it even when it
    failed to start (a full or read-only disk); drop it, so the next open once the disk is back
    starts afresh instead of reusing the broken one."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:
        return
    with SharedSystemClient._refcount_lock:
        for cache in (SharedSystemClient._identifier_to_system,
                      SharedSystemClient._identifier_to_refcount):  # fmt: skip
            cache.pop(str(folder), None)
