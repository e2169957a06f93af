"""Retrieval for requests that name a library: excerpts in, sources and evidence out.

The excerpts are found on the request's own thread before it queues for the model, so a search
never holds the model up, and a library that does not exist is refused before anything streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.serve.errors import ApiError

if TYPE_CHECKING:
    from engine.library.answer import AnswerPlan, Source
    from engine.library.embed import Embedder


@dataclass(frozen=True)
class Retrieved:
    """The excerpts found for one question, as numbered sources, and the plan behind them."""

    sources: tuple[Source, ...] = ()
    plan: AnswerPlan | None = None

    def sources_json(self) -> list[dict[str, Any]]:
        """The sources as the reply's `hearth.sources`: number, file, page, excerpt and more."""
        return [
            {
                "number": s.number,
                "file": s.file,
                "page": s.page,
                "location": s.location,
                "heading": s.heading,
                "label": s.label,
                "excerpt": s.excerpt,
                "similarity": s.similarity,
            }  # fmt: skip
            for s in self.sources
        ]

    def evidence_json(self, reply: str) -> list[dict[str, Any]]:
        """The sentences of the sources that bear on the question and on `reply`."""
        if self.plan is None or not self.plan.found:
            return []
        from engine.library.answer import answer_evidence

        evidence = answer_evidence(self.plan, reply) if reply.strip() else self.plan.evidence
        return [item.to_dict() for item in evidence]


@dataclass
class LibrarySearch:
    """Searches the libraries under `root` in this process (`hearth serve`).

    Args:
        root: The libraries folder (`app_paths().libraries_dir`).
        embedder: The embedding model to search with (shared with /v1/embeddings).
    """

    root: Path
    embedder: Embedder
    _libraries: Any = field(default=None, init=False)

    def __call__(self, name: str, question: str, k: int) -> Retrieved:
        """The relevant excerpts of library `name` for `question`, at most `k`.

        Raises:
            ApiError: 404 when there is no such library; 400 for a name that cannot be one.
        """
        from app.library.libraries import Libraries
        from engine.library.answer import plan_answer
        from engine.library.library import validate_name
        from engine.library.types import INDEXED, LibraryError

        try:
            validate_name(name)
        except LibraryError as exc:
            raise ApiError(400, exc.message, param="hearth.library") from exc
        if self._libraries is None:
            self._libraries = Libraries(self.root, embedder=self.embedder)
        libraries = self._libraries
        if not libraries.exists(name):
            raise ApiError(404, f"There is no library named '{name}'.", param="hearth.library",
                           code="library_not_found")  # fmt: skip
        library = libraries.get(name)
        if not any(record.status == INDEXED for record in library.files()):
            return Retrieved()
        plan = plan_answer(question, library.search(question, k=k), max_sources=k)
        return Retrieved(tuple(plan.sources), plan)

    def close(self) -> None:
        """Close the libraries that were opened."""
        if self._libraries is not None:
            self._libraries.close()


Search = Callable[[str, str, int], Retrieved]
