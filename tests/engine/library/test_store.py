"""The vector store writes in small pieces, so no single chromadb call holds the interpreter long."""

from __future__ import annotations

import numpy as np

from engine.library.store import UPSERT_BATCH, VectorStore


def test_add_writes_in_pieces_of_at_most_upsert_batch(tmp_path):
    store = VectorStore(tmp_path / "vectors", "lib-pieces")
    sizes: list[int] = []
    upsert = store._collection.upsert

    def counting_upsert(**kwargs):
        sizes.append(len(kwargs["ids"]))
        return upsert(**kwargs)

    store._collection.upsert = counting_upsert
    vectors = np.random.default_rng(1).standard_normal((64 + 5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.add(7, list(range(69)), vectors)

    assert max(sizes) <= UPSERT_BATCH and sum(sizes) == 69
    assert store.count() == 69
    hits = store.query(vectors[68], 1)
    assert hits[0][:2] == (7, 68) and hits[0][2] > 0.99  # the last piece went to the right ids
    store.close()
