"""A reply's sources, their evidence and the stats as the chat store keeps them (JSON objects),
and back.

The stored shape predates the typed records and stays as it is, so chats written by any version
open in any other: a source is {"number", "path", "page", "excerpt", "score", "location",
"char_start", "char_end", "evidence"} (the last four added later; older rows lack them). The
evidence shown under a reply is kept with the source it was taken from, as a list of
{"rank", "text", "marks", "char_start", "char_end"} (rank 0 is shown first); a version that
does not know it reads the sources as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engine.stats import GenerationStats

if TYPE_CHECKING:
    from engine.library.answer import Source
    from engine.library.types import Evidence


def sources_to_stored(
    sources: Iterable[Source], evidence: Sequence[Evidence] = ()
) -> list[dict[str, Any]]:
    """Sources as stored rows, each with the evidence taken from it (see the module's note)."""
    rows = []
    for source in sources:
        row: dict[str, Any] = {
            "number": source.number,
            "path": source.file,
            "page": source.page,
            "excerpt": source.excerpt,
            "score": source.score,
            "location": source.location,
            "char_start": source.char_start,
            "char_end": source.char_end,
        }
        items = [
            {
                "rank": rank,
                "text": item.text,
                "marks": [list(mark) for mark in item.marks],
                "char_start": item.char_start,
                "char_end": item.char_end,
            }
            for rank, item in enumerate(evidence)
            if item.source == source.number
        ]
        if items:
            row["evidence"] = items
        rows.append(row)
    return rows


def sources_from_stored(rows: Sequence[Mapping[str, Any]]) -> tuple[Source, ...]:
    """Stored sources as records; rows without a number are numbered in order."""
    return tuple(_source(row, index) for index, row in enumerate(rows, start=1))


def _source(row: Mapping[str, Any], index: int) -> Source:
    from engine.library.answer import Source

    return Source(
        number=int(row.get("number") or index),
        file=str(row.get("path") or row.get("file") or ""),
        page=int(row["page"]) if row.get("page") else None,
        excerpt=str(row.get("excerpt") or ""),
        score=float(row.get("score") or 0.0),
        location=str(row["location"]) if row.get("location") else None,
        char_start=int(row.get("char_start") or 0),
        char_end=int(row.get("char_end") or 0),
    )


def evidence_from_stored(rows: Sequence[Mapping[str, Any]]) -> tuple[Evidence, ...]:
    """The evidence kept with stored sources, best first; none for rows written without it."""
    from engine.library.types import Evidence

    ranked: list[tuple[int, Evidence]] = []
    for index, row in enumerate(rows, start=1):
        items = row.get("evidence")
        if not isinstance(items, list):
            continue
        source = _source(row, index)
        for item in items:
            if not isinstance(item, Mapping) or not item.get("text"):
                continue
            text = str(item["text"])
            evidence = Evidence(
                file=source.file,
                page=source.page,
                text=text,
                marks=_marks(item.get("marks"), len(text)),
                location=source.location,
                source=source.number,
                char_start=int(item.get("char_start") or 0),
                char_end=int(item.get("char_end") or 0),
            )
            ranked.append((int(item.get("rank") or 0), evidence))
    return tuple(evidence for _rank, evidence in sorted(ranked, key=lambda pair: pair[0]))


def _marks(stored: Any, length: int) -> list[tuple[int, int]]:
    """Marked spans as stored, those that do not fit the text left out."""
    marks = []
    for mark in stored if isinstance(stored, list) else []:
        if isinstance(mark, list) and len(mark) == 2:
            start, end = int(mark[0]), int(mark[1])
            if 0 <= start < end <= length:
                marks.append((start, end))
    return marks


def stats_from_stored(data: Mapping[str, Any] | None) -> GenerationStats | None:
    return GenerationStats.from_dict(data) if data else None
