"""GGUF metadata is read from the header alone, and bad files are named in plain words."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ModelFileError
from engine.gguf_info import read_model_info


def test_bundled_smollm2_metadata(default_model_path):
    info = read_model_info(default_model_path)
    assert info.architecture == "llama"
    assert info.file_type == "Q4_1"
    assert info.context_length == 8192
    assert info.block_count == 30
    assert info.head_count == 9 and info.head_count_kv == 3
    assert info.embedding_length == 576
    assert info.key_length == info.value_length == 64
    assert 120e6 < info.parameter_count < 150e6
    assert info.has_chat_template and "<|im_start|>" in info.chat_template
    assert info.file_size == default_model_path.stat().st_size
    assert info.vocab_size == 49152


def test_bundled_gemma_metadata(gemma_model_path):
    info = read_model_info(gemma_model_path)
    assert info.architecture == "gemma3"
    assert info.file_type == "Q4_K_M"
    assert info.context_length == 32768
    assert not info.has_chat_template
    assert info.sliding_window > 0
    assert 0 < info.swa_layers < info.block_count
    assert info.summary()["has_chat_template"] is False


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        read_model_info(tmp_path / "nowhere.gguf")


def test_text_file_is_not_a_model(tmp_path):
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are my notes, not a model")
    with pytest.raises(ModelFileError, match="notes.gguf is not a GGUF model file") as caught:
        read_model_info(fake)
    assert "may have saved an error page" in str(caught.value)  # its name says .gguf
    named = tmp_path / "notes.txt"
    named.write_text("these are my notes, not a model")
    with pytest.raises(ModelFileError, match="files ending in .gguf"):
        read_model_info(named)


def test_empty_file_is_not_a_model(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty.gguf is empty: it holds no model"):
        read_model_info(empty)


def test_truncated_weights_are_reported(tmp_path, default_model_path):
    cut = tmp_path / "partial.gguf"
    with default_model_path.open("rb") as src:
        cut.write_bytes(src.read(default_model_path.stat().st_size // 2))
    with pytest.raises(ModelFileError, match="partial.gguf is incomplete") as caught:
        read_model_info(cut)
    assert "download" in caught.value.hint


def test_truncated_header_is_reported(tmp_path, default_model_path):
    cut = tmp_path / "stub.gguf"
    with default_model_path.open("rb") as src:
        cut.write_bytes(src.read(4096))
    with pytest.raises(ModelFileError, match="stub.gguf is cut short"):
        read_model_info(cut)


def test_written_gguf_with_128k_context(tmp_path):
    import gguf

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(131072)
    writer.add_block_count(2)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_file_type(1)
    writer.add_tensor("token_embd.weight", np.zeros((32, 64), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = read_model_info(path)
    assert info.context_length == 131072
    assert info.head_count_kv == 2 and info.key_length == 16
    assert info.parameter_count == 32 * 64
    assert info.file_type == "F16"


def test_an_unchanged_file_is_parsed_once_and_a_rewritten_one_again(tmp_path, monkeypatch):
    import engine.gguf_info as gguf_info
    from tests.engine.context.tiny_gguf import write_tiny_model

    path = tmp_path / "m.gguf"
    write_tiny_model(path, template="first {{ messages }}")
    parsed = []
    real = gguf_info._read_header
    monkeypatch.setattr(gguf_info, "_read_header", lambda *a: parsed.append(a) or real(*a))
    first = read_model_info(path)
    assert read_model_info(path) == first and len(parsed) == 1
    write_tiny_model(path, template="second {{ messages }}")  # same size class, new content
    again = read_model_info(path)
    assert len(parsed) == 2 and again.chat_template == "second {{ messages }}"
    path.unlink()
    with pytest.raises(ModelFileError):
        read_model_info(path)  # a file gone is said, not answered from the cache


def test_a_header_is_read_once_for_the_model_info_and_the_tensor_table(tmp_path, monkeypatch):
    import engine.gguf_info as gguf_info
    from engine.memory.weights import read_tensor_table
    from tests.engine.context.tiny_gguf import write_tiny_model

    path = tmp_path / "m.gguf"
    write_tiny_model(path)
    parsed = []
    real = gguf_info._read_header
    monkeypatch.setattr(gguf_info, "_read_header", lambda *a: parsed.append(a) or real(*a))
    info = read_model_info(path)
    tensors = read_tensor_table(path)
    assert len(parsed) == 1
    assert info.block_count and [t.name for t in tensors]


class _Unseekable:
    """A file read front to back only, as a header read over HTTP ranges is."""

    def __init__(self, path):
        self._file = open(path, "rb")  # noqa: SIM115 (closed by the reader)

    def read(self, size=-1):
        return self._file.read(size)

    def tell(self):
        return self._file.tell()

    def seekable(self):
        return False

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self._file.close()


@pytest.mark.parametrize("block_bytes", [64, 1000, 1 << 20])
def test_vocabularies_read_in_blocks_match_a_front_to_back_read(tmp_path, monkeypatch,
                                                                block_bytes):  # fmt: skip
    """Strings that straddle block ends, long ones, empty ones and duplicates are read and
    counted as a plain front-to-back read counts them."""
    import gguf

    import engine.gguf_info as gguf_info

    monkeypatch.setattr(gguf_info, "_STRING_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(gguf_info, "_MAX_KEPT_ARRAY", 100)  # counted, not kept, as a real one
    tokens = [f"tok{i}" * (i % 7) for i in range(3000)] + ["x" * 300, "dup", "dup", "é€😀"]
    path = tmp_path / "vocab.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_token_list(tokens)
    writer.add_array("tokenizer.ggml.merges", [f"a{i} b{i}" for i in range(2500)])
    writer.add_tensor("token_embd.weight", np.zeros((len(tokens), 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    blocks = gguf_info._read_header(path, None, None)
    plain = gguf_info._read_header(path, _Unseekable(path), path.stat().st_size)
    vocabulary = blocks.metadata["tokenizer.ggml.tokens"]
    # "dup" twice, and the empty string (every i divisible by 7) many times, count once each.
    assert vocabulary.length == len(tokens) and vocabulary.distinct == len(set(tokens)) == 2575
    assert blocks == plain
    assert blocks.tensors[0].offset == plain.tensors[0].offset


def test_a_vocabulary_cut_short_is_refused_when_read_in_blocks(tmp_path, default_model_path):
    data = default_model_path.read_bytes()[:1_000_000]  # ends inside the vocabulary
    path = tmp_path / "cut.gguf"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match="cut short|damaged|incomplete"):
        read_model_info(path)
