"""Hybrid retrieval: vector similarity and BM25 keyword hits, fused by reciprocal rank.

Reciprocal rank fusion needs no score calibration between the lists: a chunk's fused score is
the sum of 1 / (RRF_K + rank) over the lists it appears in, so a chunk both searches like wins.
When the query holds exact terms (a part number, "v1.2.3", a quoted phrase) a third list, the
chunks holding those terms verbatim, joins the fusion: otherwise a chunk that both searches find
vaguely similar would outrank the one chunk that has the exact number asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

from engine.library import keyword
from engine.library.manifest import Manifest
from engine.library.store import VectorStore
from engine.library.types import Hit

RRF_K = 60


def fuse(
    vector_hits: list[tuple[int, int, float]],
    keyword_hits: list[tuple[int, int, float]],
    exact_hits: list[tuple[int, int, float]] | None = None,
) -> list[tuple[tuple[int, int], float, int | None, int | None]]:
    """Reciprocal rank fusion of ranked lists of (file id, ordinal, score).

    Returns:
        ((file id, ordinal), fused score, vector rank, keyword rank), best first; ranks are 1-based.
    """
    scores: dict[tuple[int, int], float] = {}
    vector_rank: dict[tuple[int, int], int] = {}
    keyword_rank: dict[tuple[int, int], int] = {}
    for hits, ranks in (
        (vector_hits, vector_rank),
        (keyword_hits, keyword_rank),
        (exact_hits or [], {}),
    ):
        for rank, (file_id, ordinal, _score) in enumerate(hits, start=1):
            key = (file_id, ordinal)
            ranks[key] = rank
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    order = sorted(scores, key=lambda key: (-scores[key], vector_rank.get(key, 1 << 30)))
    return [(key, scores[key], vector_rank.get(key), keyword_rank.get(key)) for key in order]


def hybrid_search(
    manifest: Manifest,
    store: VectorStore,
    embed_query: Callable[[str], np.ndarray],
    query: str,
    k: int,
    file_ids: list[int] | None = None,
    neighbours: int = 0,
    executor: Executor | None = None,
) -> list[Hit]:
    """The `k` best chunks for `query` from finished files.

    Args:
        manifest: Chunk rows and the keyword index.
        store: The vectors.
        embed_query: Turns the query into its vector.
        query: The query text (for keywords).
        k: How many hits.
        file_ids: Only these files, when given.
        neighbours: How many chunks before and after each hit to attach as context.
        executor: Runs the keyword half beside the vector half (SQLite, torch and chromadb all
            release the GIL); both run on this thread when None.
    """
    candidates = max(4 * k, 20)

    def keyword_lists() -> tuple[list, list]:
        # On the executor's thread the manifest hands out that thread's own connection.
        conn = manifest.conn
        return (
            keyword.search(conn, query, candidates, file_ids),
            keyword.search(conn, query, candidates, file_ids, exact=True),
        )

    pending = executor.submit(keyword_lists) if executor is not None else None
    query_vector = embed_query(query)
    vector_hits = store.query(query_vector, candidates, file_ids)
    keyword_hits, exact_hits = pending.result() if pending is not None else keyword_lists()
    fused = fuse(vector_hits, keyword_hits, exact_hits)
    similarity = {(f, o): s for f, o, s in vector_hits}
    exact = {(f, o) for f, o, _ in exact_hits}
    # Rows only exist for files whose indexing committed: half-indexed files drop out here.
    rows = manifest.chunk_rows([key for key, *_ in fused[: 2 * candidates]])
    hits: list[Hit] = []
    for key, score, v_rank, k_rank in fused:
        row = rows.get(key)
        if row is None:
            continue
        chunk_id, path, page, char_start, char_end, heading, text, location = row
        hits.append(
            Hit(
                chunk_id=chunk_id,
                file=path,
                page=page,
                text=text,
                score=score,
                file_id=key[0],
                similarity=similarity.get(key),
                heading=heading,
                char_start=char_start,
                char_end=char_end,
                ordinal=key[1],
                vector_rank=v_rank,
                keyword_rank=k_rank,
                exact_match=key in exact,
                location=location,
            )
        )
        if len(hits) == k:
            break
    _fill_missing_similarity(store, hits, query_vector)
    if neighbours > 0:
        for hit in hits:
            for ordinal, text in manifest.neighbours(hit.file_id, hit.ordinal, neighbours):
                (hit.before if ordinal < hit.ordinal else hit.after).append(text)
    return hits


def _fill_missing_similarity(store: VectorStore, hits: list[Hit], query_vector: np.ndarray) -> None:
    """Keyword-only hits get their cosine to the query too, so every hit can be judged alike."""
    missing = [(h.file_id, h.ordinal) for h in hits if h.similarity is None]
    if not missing:
        return
    vectors = store.vectors(missing)
    for hit in hits:
        if hit.similarity is None:
            vector = vectors.get((hit.file_id, hit.ordinal))
            if vector is not None:
                hit.similarity = float(np.dot(vector, query_vector))
