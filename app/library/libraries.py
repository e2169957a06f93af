"""Open the document libraries by name, once per process, for both indexing and search.

Used inside the library process (app.library.service): its indexing lane writes through a library
while its search lane searches it; both get the same object from here.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.cancel import CancelToken
    from engine.library.answer import Source
    from engine.library.types import FileRecord

from engine.library.types import MANIFEST_FILE

log = logging.getLogger(__name__)


def library_exists(root: Path, name: str) -> bool:
    """True once something was added to the library `name` under `root` (nothing is opened)."""
    return (Path(root) / name / MANIFEST_FILE).is_file()


class Libraries:
    """Lazily opened libraries under `root` (app_paths().libraries_dir).

    Args:
        root: The libraries folder.
        embedder: The embedding model every library shares; the bundled one, loaded on first
            use, when None.
    """

    def __init__(self, root: Path, embedder: Any = None) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._open: dict[str, Any] = {}
        self._embedder: Any = embedder  # one embedding model in memory for every library
        self._reranker: Any = None  # loaded on the first search that asks for reranking
        self._rerank_lock = threading.Lock()
        # Why the reranking model could not load: it is not tried again in this process.
        self.rerank_error: str | None = None

    def exists(self, name: str) -> bool:
        """True once something was added to the library (checked without opening it)."""
        return name in self._open or library_exists(self.root, name)

    def get(self, name: str) -> Any:
        with self._lock:
            library = self._open.get(name)
            if library is None:
                from engine.library import Library
                from engine.library.embed import Embedder

                if self._embedder is None:
                    self._embedder = Embedder()
                library = Library.open(self.root, name, embedder=self._embedder)
                self._open[name] = library
            return library

    def files(self, name: str) -> tuple[FileRecord, ...]:
        """The library's manifest rows: path, pages, chunks, status, error..."""
        if not self.exists(name):
            return ()
        return tuple(self.get(name).files())

    def search(
        self,
        name: str,
        question: str,
        k: int,
        relevant_only: bool = True,
        rerank: bool = False,
        cancel: CancelToken | None = None,
    ) -> tuple[Source, ...]:
        """Numbered excerpts for `question`, or none when the library holds no indexed file.

        `relevant_only` drops excerpts that do not bear on the question: an unrelated request
        ("write a poem") in a chat with documents gets no sources rather than random pages.
        `rerank` reorders the best matches with a small language model first (engine/rerank.py;
        about 3 s on two cores), which `cancel` stops between two candidates. Where that model
        cannot load, the search's own order stands and `rerank_error` says why.
        """
        from engine.library.answer import plan_answer
        from engine.library.types import INDEXED

        if not self.exists(name):
            return ()
        library = self.get(name)
        if not any(record.status == INDEXED for record in library.files()):
            return ()
        if rerank:
            from engine.rerank import reranked_search

            with self._rerank_lock:  # one model, one caller at a time
                hits = reranked_search(library, question, k, self._loaded_reranker, cancel)
        else:
            hits = library.search(question, k=k)
        if not relevant_only:  # every hit counts, numbered the same way
            hits = [replace(hit, exact_match=True) for hit in hits]
        return tuple(plan_answer(question, hits, max_sources=k).sources)

    def _loaded_reranker(self) -> Any:
        """The reranker, loaded on first use; None when it cannot load (tried once per process).
        Called with `_rerank_lock` held."""
        from engine.rerank import QueryLikelihoodReranker, RerankerUnavailable

        if self._reranker is None and self.rerank_error is None:
            try:
                self._reranker = QueryLikelihoodReranker()
            except RerankerUnavailable as exc:
                log.warning("Reranking is off: %s", exc)
                self.rerank_error = str(exc)
        return self._reranker

    def remove_library(self, name: str) -> None:
        """Close the library if it is open (Windows cannot move open files), then delete it."""
        from engine.library import remove_library

        with self._lock:
            library = self._open.pop(name, None)
            if library is not None:
                library.close()
        remove_library(self.root, name)

    def close(self) -> None:
        with self._lock:
            for library in self._open.values():
                close = getattr(library, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:  # closing at exit must not raise
                        log.exception("Closing a library failed")
            self._open.clear()
        with self._rerank_lock:
            if self._reranker is not None:
                self._reranker.close()
                self._reranker = None
