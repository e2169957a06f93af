"""What the API's routes share: the model thread, the options, the queue's gate, the libraries and
the embedding model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.serve.errors import ApiError
from app.serve.gate import Gate
from app.serve.schemas import ModelEntry

if TYPE_CHECKING:
    from app.model_thread import ModelThread
    from app.serve.documents import Search
    from app.serve.options import ServeOptions
    from engine.library.embed import Embedder


@dataclass
class Service:
    """The server's shared state (one per server).

    Args:
        model_thread: The thread that owns the model (the window's, or `hearth serve`'s own).
        options: Key, queue limit and request defaults.
        search: Finds a library's excerpts for a question; None when the server has no libraries.
        embedder: The library's embedding model for /v1/embeddings; None to offer none.
    """

    model_thread: ModelThread
    options: ServeOptions
    search: Search | None = None
    embedder: Embedder | None = None
    gate: Gate = field(init=False)

    def __post_init__(self) -> None:
        self.gate = Gate(self.options.queue_limit)

    def model_entry(self) -> ModelEntry | None:
        """The loaded model as /v1/models lists it (named after its file), or None when none is.

        Reads the report the model thread publishes after a load, so any thread may ask.
        """
        report = self.model_thread.engine.session.report
        if report is None:
            return None
        path = Path(report.model.path)
        try:
            created = int(os.stat(path).st_mtime)
        except OSError:
            created = 0
        hearth = {"embedding_model": self.embedder.name} if self.embedder is not None else {}
        return ModelEntry(id=model_id(path), created=created, context_length=report.n_ctx,
                          hearth=hearth)  # fmt: skip

    def context_length(self) -> int | None:
        """The loaded model's window in tokens (as /v1/models gives it), None while none is."""
        report = self.model_thread.engine.session.report
        return report.n_ctx if report is not None else None

    def check_model(self, name: str) -> str:
        """The loaded model's id when `name` is it.

        Raises:
            ApiError: 503 when no model is loaded, 404 when `name` is another model.
        """
        entry = self.model_entry()
        if entry is None:
            raise ApiError(503, "No model is loaded yet.", code="model_not_loaded")
        if name != entry.id:
            raise ApiError(404, f"This server has no model '{name}'; it serves '{entry.id}'.",
                           param="model", code="model_not_found")  # fmt: skip
        return entry.id


def model_id(path: Path) -> str:
    """A model's name in the API: its file name without ".gguf"."""
    name = Path(path).name
    return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name
