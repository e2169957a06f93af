"""A reply's sources and stats as the chat store keeps them (JSON objects), and back.

The stored shape predates the typed records and stays as it is, so chats written by any version
open in any other: a source is {"number", "path", "page", "excerpt", "score", "location",
"char_start", "char_end"} (the last three added later; older rows lack them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engine.stats import GenerationStats

if TYPE_CHECKING:
    from engine.library.answer import Source


def sources_to_stored(sources: Iterable[Source]) -> list[dict[str, Any]]:
    return [
        {
            "number": source.number,
            "path": source.file,
            "page": source.page,
            "excerpt": source.excerpt,
            "score": source.score,
            "location": source.location,
            "char_start": source.char_start,
            "char_end": source.char_end,
        }
        for source in sources
    ]


def sources_from_stored(rows: Sequence[Mapping[str, Any]]) -> tuple[Source, ...]:
    """Stored sources as records; rows without a number are numbered in order."""
    from engine.library.answer import Source

    return tuple(
        Source(
            number=int(row.get("number") or index),
            file=str(row.get("path") or row.get("file") or ""),
            page=int(row["page"]) if row.get("page") else None,
            excerpt=str(row.get("excerpt") or ""),
            score=float(row.get("score") or 0.0),
            location=str(row["location"]) if row.get("location") else None,
            char_start=int(row.get("char_start") or 0),
            char_end=int(row.get("char_end") or 0),
        )
        for index, row in enumerate(rows, start=1)
    )


def stats_from_stored(data: Mapping[str, Any] | None) -> GenerationStats | None:
    return GenerationStats.from_dict(data) if data else None
