"""Fixtures for the library tests: one embedding model per run, and a guide library built once."""

from __future__ import annotations

import pytest

from tests.engine.library.corpus import write_guide_pdf


@pytest.fixture(scope="session")
def embedder(embedding_model_dir):
    from engine.library.embed import Embedder

    model = Embedder(embedding_model_dir)
    model.load()
    return model


@pytest.fixture(scope="session")
def guide_pdf(tmp_path_factory):
    return write_guide_pdf(tmp_path_factory.mktemp("guide") / "field-guide.pdf")


@pytest.fixture(scope="session")
def guide_library(tmp_path_factory, embedder, guide_pdf):
    """A library holding only the field guide; tests must not change it."""
    from engine.library import Library

    library = Library.open(tmp_path_factory.mktemp("libraries"), "guide", embedder=embedder)
    report = library.index([guide_pdf])
    assert report.indexed == 1, report.to_dict()
    yield library
    library.close()


@pytest.fixture
def open_library(tmp_path, embedder):
    """A fresh, empty library per test: call with a name."""
    from engine.library import Library

    opened = []

    def make(name: str = "test"):
        library = Library.open(tmp_path / "libraries", name, embedder=embedder)
        opened.append(library)
        return library

    yield make
    for library in opened:
        library.close()
