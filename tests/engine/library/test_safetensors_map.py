"""The memory-mapped safetensors reader gives the library's own arrays and refuses bad files."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from engine.library.bert_numpy import map_safetensors


def test_mapped_tensors_equal_what_safetensors_reads(embedding_model_dir):
    path = embedding_model_dir / "model.safetensors"
    mapped, read = map_safetensors(path), load_file(str(path))
    assert mapped.keys() == read.keys()
    for name, value in read.items():
        assert mapped[name].dtype == value.dtype and mapped[name].shape == value.shape
        assert np.array_equal(mapped[name], value), name


def test_a_written_file_round_trips_and_stays_read_only(tmp_path):
    tensors = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.array([7], np.int64)}
    save_file(tensors, str(tmp_path / "t.safetensors"))
    mapped = map_safetensors(tmp_path / "t.safetensors")
    assert np.array_equal(mapped["a"], tensors["a"]) and mapped["b"].tolist() == [7]
    with pytest.raises(ValueError):
        mapped["a"][0, 0] = 1.0  # a mapped model file is never written through


def test_truncated_and_unknown_files_are_refused(tmp_path):
    save_file({"a": np.ones((64, 64), np.float32)}, str(tmp_path / "t.safetensors"))
    whole = (tmp_path / "t.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(whole[:200])
    with pytest.raises(ValueError, match="outside the file"):
        map_safetensors(tmp_path / "cut.safetensors")
    (tmp_path / "tiny.safetensors").write_bytes(b"abc")
    with pytest.raises(ValueError, match="too short"):
        map_safetensors(tmp_path / "tiny.safetensors")
    (tmp_path / "huge.safetensors").write_bytes((10**9).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="header longer"):
        map_safetensors(tmp_path / "huge.safetensors")
