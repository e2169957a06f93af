"""Shared fixtures: headless Qt, offline model hubs, a private data folder per test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def hearth_home(tmp_path, monkeypatch):
    """Every test gets its own empty user folder, so nothing touches the real one."""
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def default_model_path():
    from engine.bundled import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def gemma_model_path():
    from engine.bundled import gemma_model_path

    return gemma_model_path()


@pytest.fixture(scope="session")
def embedding_model_dir():
    from engine.bundled import embedding_model_dir

    return embedding_model_dir()
