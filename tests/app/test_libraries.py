"""The library process's libraries (app.library.libraries), in this process: reranked searches
with a reranking model that cannot load."""

from __future__ import annotations

import pytest

from app.library.libraries import Libraries
from tests.engine.library.corpus import QUESTIONS, write_guide_pdf

pytestmark = pytest.mark.slow


def test_a_reranking_model_that_cannot_load_is_tried_once_and_searches_go_on(
    tmp_path, shared_embedder, monkeypatch
):
    libraries = Libraries(tmp_path / "libraries", embedder=shared_embedder)
    libraries.get("guide").index([str(write_guide_pdf(tmp_path / "guide.pdf"))])
    broken = tmp_path / "gemma.gguf"
    broken.write_bytes(b"not a model")
    tried: list[object] = []
    monkeypatch.setattr("engine.bundled.gemma_model_path", lambda: tried.append(1) or broken)
    question, page = QUESTIONS[0]
    try:
        for _ in range(2):
            sources = libraries.search("guide", question, 2, rerank=True)
            assert sources == libraries.search("guide", question, 2)
            assert sources[0].page == page
        assert len(tried) == 1  # not loaded again at every search
        assert libraries.rerank_error is not None
        assert libraries.rerank_error.startswith("The reranking model could not be loaded")
    finally:
        libraries.close()
