"""Hybrid retrieval: vector similarity and BM25 keyword hits, fused by reciprocal rank.

Three lists are fused: the vector search, BM25 over stemmed words, and BM25 over character
n-grams of the words (compounds, inflections a stemmer misses; see keyword.py). Reciprocal rank
fusion needs no score calibration between the lists: a chunk's fused score is the sum of
weight / (k + rank) over the lists it appears in, so a chunk several searches like wins. The
vector list counts only for queries in a language the embedding model was trained on
(language.py): for others its ranking is noise, and so is its cosine as a measure of
relevance (hits say so in `meaning_known`; see answer.is_relevant).
When the query holds exact terms (a part number, "v1.2.3", a quoted phrase) a third list, the
chunks holding those terms verbatim, joins the fusion: otherwise a chunk that both searches find
vaguely similar would outrank the one chunk that has the exact number asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from engine.library import keyword, language
from engine.library.evidence import LEADERS, PAGE_NO, select_evidence
from engine.library.manifest import Manifest
from engine.library.snapshot import VectorSnapshot
from engine.library.store import VectorStore
from engine.library.types import Hit

RRF_K = 60

# A line of a table of contents or an index: a title, leaders, a page number (evidence.py's).
_LEADER_LINE = re.compile(rf"{LEADERS}\s*{PAGE_NO}\s*$", re.MULTILINE)
CONTENTS_MIN_LINES = 3


@dataclass(frozen=True)
class RankingSettings:
    """How the keyword and vector lists are fused into one ranking (bench/retrieval.py measures
    each choice on the evaluation set; see the note of each field).

    Attributes:
        rrf_k: The k of reciprocal rank fusion, 1 / (k + rank) (Cormack et al. 2009 use 60;
            20 lets the first few places of each list count for more).
        keyword_weight, gram_weight, vector_weight, exact_weight: Multipliers of each list's
            RRF terms (words, character n-grams, vectors, exact terms).
        foreign_vector_weight: The vector list's weight for a query in a language the
            embedding model does not know (all-MiniLM-L6-v2: English only).
        page_weight: Share of the other chunks' scores on the same page added to a chunk's,
            so a page that several chunks match beats one lucky chunk (0 turns it off).
        contents_factor: Score multiplier for chunks of a table of contents or an index,
            which hold every heading's words and so match every question (1 turns it off).
        candidates: Chunks taken from each list, at least.
    """

    rrf_k: float = 20
    keyword_weight: float = 1.5
    gram_weight: float = 1.0
    vector_weight: float = 1.0
    foreign_vector_weight: float = 0.0
    exact_weight: float = 1.0
    page_weight: float = 0.0
    contents_factor: float = 0.3
    candidates: int = 20


DEFAULT_RANKING = RankingSettings()


def is_contents(text: str) -> bool:
    """True for a chunk of a table of contents or an index (lines of dot leaders and numbers)."""
    return len(_LEADER_LINE.findall(text)) >= CONTENTS_MIN_LINES


def fuse(
    vector_hits: list[tuple[int, int, float]],
    keyword_hits: list[tuple[int, int, float]],
    exact_hits: list[tuple[int, int, float]] | None = None,
    settings: RankingSettings = DEFAULT_RANKING,
    gram_hits: list[tuple[int, int, float]] | None = None,
    vector_weight: float | None = None,
) -> list[tuple[tuple[int, int], float, int | None, int | None]]:
    """Weighted reciprocal rank fusion of ranked lists of (file id, ordinal, score).

    Args:
        vector_weight: The vector list's weight for this query (default: the settings').

    Returns:
        ((file id, ordinal), fused score, vector rank, keyword rank), best first; ranks are
        1-based, the keyword rank the better of the word and n-gram lists'.
    """
    scores: dict[tuple[int, int], float] = {}
    vector_rank: dict[tuple[int, int], int] = {}
    keyword_rank: dict[tuple[int, int], int] = {}
    if vector_weight is None:
        vector_weight = settings.vector_weight
    gram_rank: dict[tuple[int, int], int] = {}
    for hits, ranks, weight in (
        (vector_hits, vector_rank, vector_weight),
        (keyword_hits, keyword_rank, settings.keyword_weight),
        (gram_hits or [], gram_rank, settings.gram_weight),
        (exact_hits or [], {}, settings.exact_weight),
    ):
        for rank, (file_id, ordinal, _score) in enumerate(hits, start=1):
            key = (file_id, ordinal)
            ranks[key] = rank
            if weight:  # a list that does not count brings no chunk of its own
                scores[key] = scores.get(key, 0.0) + weight / (settings.rrf_k + rank)
    # Both keyword lists (words, n-grams) are keyword evidence: a hit keeps its better rank.
    for key, rank in gram_rank.items():
        keyword_rank[key] = min(rank, keyword_rank.get(key, rank))
    order = sorted(scores, key=lambda key: (-scores[key], vector_rank.get(key, 1 << 30)))
    return [(key, scores[key], vector_rank.get(key), keyword_rank.get(key)) for key in order]


def hybrid_search(
    manifest: Manifest,
    store: VectorStore | VectorSnapshot,
    embed_query: Callable[[str], np.ndarray],
    query: str,
    k: int,
    file_ids: list[int] | None = None,
    neighbours: int = 0,
    executor: Executor | None = None,
    settings: RankingSettings | None = None,
    embedder_languages: Collection[str] | None = None,
) -> list[Hit]:
    """The `k` best chunks for `query` from finished files.

    Args:
        manifest: Chunk rows and the keyword index.
        store: The vectors: the store, or its snapshot when that is current.
        embed_query: Turns the query into its vector.
        query: The query text (for keywords).
        k: How many hits.
        file_ids: Only these files, when given.
        neighbours: How many chunks before and after each hit to attach as context.
        executor: Runs the keyword half beside the vector half (SQLite, torch and chromadb all
            release the GIL); both run on this thread when None.
        settings: How the lists are fused; DEFAULT_RANKING when None.
        embedder_languages: ISO 639-1 codes of the languages the embedding model was trained
            on; a query in another language gets `settings.foreign_vector_weight` for its
            vector list. None: every language.
    """
    settings = settings or DEFAULT_RANKING
    candidates = max(4 * k, settings.candidates)

    def keyword_lists() -> tuple[list, list, list]:
        # On the executor's thread the manifest hands out that thread's own connection.
        conn = manifest.conn
        return (
            keyword.search(conn, query, candidates, file_ids),
            keyword.search(conn, query, candidates, file_ids, exact=True),
            keyword.gram_search(conn, query, candidates, file_ids) if settings.gram_weight else [],
        )

    pending = executor.submit(keyword_lists) if executor is not None else None
    meaning_known = embedder_knows(query, embedder_languages)
    vector_weight = settings.vector_weight if meaning_known else settings.foreign_vector_weight
    query_vector = embed_query(query)
    vector_hits = store.query(query_vector, candidates, file_ids)
    keyword_hits, exact_hits, gram_hits = (
        pending.result() if pending is not None else keyword_lists()
    )
    fused = fuse(vector_hits, keyword_hits, exact_hits, settings, gram_hits, vector_weight)
    similarity = {(f, o): s for f, o, s in vector_hits}
    exact = {(f, o) for f, o, _ in exact_hits}
    # Rows only exist for files whose indexing committed: half-indexed files drop out here.
    rows = manifest.chunk_rows([key for key, *_ in fused[: 3 * candidates]])
    fused = _rerank(fused, rows, settings)
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
                meaning_known=meaning_known,
            )
        )
        if len(hits) == k:
            break
    _fill_missing_similarity(store, hits, query_vector)
    for hit in hits:
        hit.evidence = select_evidence(query, [hit], max_items=1)
    if neighbours > 0:
        for hit in hits:
            for ordinal, text in manifest.neighbours(hit.file_id, hit.ordinal, neighbours):
                (hit.before if ordinal < hit.ordinal else hit.after).append(text)
    return hits


def embedder_knows(query: str, embedder_languages: Collection[str] | None) -> bool:
    """False when `query` is surely in a language outside `embedder_languages` (None: the
    model knows every language); its cosine similarities then say nothing about meaning."""
    if embedder_languages is None:
        return True
    spoken = language.language_of(query)
    return spoken is None or spoken in embedder_languages


def _rerank(fused: list, rows: dict, settings: RankingSettings) -> list:
    """Apply the page-level and table-of-contents adjustments to the fused ranking."""
    if settings.page_weight == 0 and settings.contents_factor == 1:
        return fused
    scores = {key: score for key, score, *_ in fused if key in rows}
    if settings.contents_factor != 1:
        for key in scores:
            if is_contents(rows[key][6]):
                scores[key] *= settings.contents_factor
    adjusted = dict(scores)
    if settings.page_weight:
        by_page: dict[tuple, float] = {}
        for key, score in scores.items():
            page = (key[0], rows[key][2])
            by_page[page] = by_page.get(page, 0.0) + score
        for key, score in scores.items():
            page_total = by_page[(key[0], rows[key][2])]
            adjusted[key] = score + settings.page_weight * (page_total - score)
    rest = [entry for entry in fused if entry[0] in adjusted]
    rest.sort(key=lambda entry: -adjusted[entry[0]])
    return [(key, adjusted[key], v_rank, k_rank) for key, _score, v_rank, k_rank in rest]


def _fill_missing_similarity(
    store: VectorStore | VectorSnapshot, hits: list[Hit], query_vector: np.ndarray
) -> None:
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
