"""Fixtures for the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def shared_embedder(embedding_model_dir):
    from engine.library.embed import Embedder

    embedder = Embedder(embedding_model_dir)
    embedder.load()
    return embedder


@pytest.fixture
def one_embedding_model(monkeypatch, shared_embedder):
    """The commands open libraries with a new embedder each; share one loaded model instead."""
    monkeypatch.setattr("engine.library.library.Embedder", lambda: shared_embedder)
