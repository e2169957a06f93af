"""The model catalog: bundled models first, imported GGUF files remembered across runs."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.catalog import ModelCatalog
from engine.errors import ModelFileError


def test_bundled_models_come_first_with_metadata(tmp_path):
    entries = ModelCatalog(tmp_path / "models.json").entries()
    assert [e.bundled for e in entries[:2]] == [True, True]
    assert entries[0].info is not None and entries[0].info.architecture == "llama"
    assert entries[1].info is not None and entries[1].info.architecture == "gemma3"


def test_import_is_remembered_and_survives_a_new_catalog(tmp_path, default_model_path):
    copy = tmp_path / "my-model.gguf"
    shutil.copyfile(default_model_path, copy)
    models_file = tmp_path / "data" / "models.json"
    info = ModelCatalog(models_file).import_model(copy)
    assert info.architecture == "llama"
    ModelCatalog(models_file).import_model(copy)  # importing twice keeps one entry
    again = ModelCatalog(models_file)
    assert again.imported_paths() == [copy.resolve()]
    assert json.loads(models_file.read_text())["version"] == 1
    imported = [e for e in again.entries() if not e.bundled]
    assert len(imported) == 1 and imported[0].info is not None


def test_import_refuses_a_file_that_is_not_a_model(tmp_path):
    fake = tmp_path / "photo.gguf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    catalog = ModelCatalog(tmp_path / "models.json")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        catalog.import_model(fake)
    assert catalog.imported_paths() == []


def test_vanished_import_is_listed_with_its_problem(tmp_path, default_model_path):
    copy = tmp_path / "gone.gguf"
    shutil.copyfile(default_model_path, copy)
    catalog = ModelCatalog(tmp_path / "models.json")
    catalog.import_model(copy)
    copy.unlink()
    gone = [e for e in catalog.entries() if not e.bundled]
    assert gone[0].info is None and "not found" in gone[0].problem
    catalog.forget(copy)
    assert catalog.imported_paths() == []


def test_damaged_model_list_is_ignored_not_fatal(tmp_path):
    models_file = tmp_path / "models.json"
    models_file.write_text("{ this is not json")
    assert ModelCatalog(models_file).imported_paths() == []
