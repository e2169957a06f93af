"""Fixtures for the context manager's tests: the tiny 128K model, written once per run."""

from __future__ import annotations

import pytest

from tests.engine.context.tiny_gguf import write_tiny_model


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama-128k.gguf")
