"""A real `hearth serve` API on 127.0.0.1 for the tests: the bundled model on a model thread,
the embedding model, a library with the field guide, uvicorn on a free port in this process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.model_thread import ModelThread
from app.serve.app import build_app
from app.serve.documents import LibrarySearch
from app.serve.options import ServeOptions
from app.serve.server import ApiServer
from app.serve.service import Service


@dataclass
class Served:
    """A running server: its base URL (".../v1"), key, service and the guide's path."""

    server: ApiServer
    service: Service
    api_key: str
    guide: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def root(self) -> str:
        return self.url.removesuffix("/v1")

    @property
    def model(self) -> str:
        entry = self.service.model_entry()
        assert entry is not None
        return entry.id

    def stop(self) -> None:
        self.server.stop()


def load_model_thread(model_path: Path, checked_file: Path, n_ctx: int = 2048) -> ModelThread:
    """A model thread with `model_path` loaded (the window's engine and context manager)."""
    from engine.chat.engine import LocalEngine
    from engine.model_probe import ModelGuard
    from engine.session import LoadSettings, ModelSession

    thread = ModelThread(LocalEngine(ModelSession(ModelGuard(checked_file))))
    settings = LoadSettings(model_path=str(model_path), n_ctx=n_ctx)
    thread.submit(lambda engine, _task: engine.load(settings)).result()
    return thread


def serve(model_thread: ModelThread, options: ServeOptions, embedder=None,
          libraries: Path | None = None) -> Served:  # fmt: skip
    """Start a server on a free loopback port over `model_thread`."""
    search = LibrarySearch(libraries, embedder) if libraries is not None and embedder else None
    service = Service(model_thread, options, search=search, embedder=embedder)
    server = ApiServer(build_app(service), "127.0.0.1", 0)
    server.start()
    return Served(server, service, options.api_key)
