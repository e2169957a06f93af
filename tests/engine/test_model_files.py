"""Model files whose metadata contradicts their tensors are refused with the right reason, and no
model file can take the process down (a new file is first opened in a child process)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys

import pytest

from engine.errors import HearthError, ModelFileError
from engine.gguf_info import read_model_info
from engine.model_probe import ModelGuard, llama_reason, probe_model
from engine.session import LoadSettings, ModelSession
from tests.engine.context.tiny_gguf import write_tiny_model
from tests.engine.gguf_edit import with_metadata

# Each fault: how the tiny model is written, and what the refusal must say.
FAULTS = {
    "zero layers": ({"metadata": {"llama.block_count": 0}}, "says it has 0 layers"),
    "4096 layers with the tensors of 2": (
        {"metadata": {"llama.block_count": 4096}},
        "says it has 4,096 layers but holds the weights of 2",
    ),
    "3 layers with the tensors of 2": (
        {"metadata": {"llama.block_count": 3}},
        "says it has 3 layers but holds the weights of 2",
    ),
    "context length 2^32-1": (
        {"metadata": {"llama.context_length": 2**32 - 1}},
        "claims a context length of 4,294,967,295 tokens",
    ),
    "zero heads": ({"metadata": {"llama.attention.head_count": 0}}, "0 attention heads"),
    "mis-sized embedding": (
        {"metadata": {"llama.embedding_length": 32}},
        "token embeddings are 16 × 269, but its metadata says 32-wide embeddings for 269 tokens",
    ),
    "missing tensor": (
        {"skip_tensors": ("blk.1.attn_q.weight",)},
        "lacks the tensor blk.1.attn_q.weight that its other layers have",
    ),
    "missing embeddings": ({"skip_tensors": ("token_embd.weight",)}, "lacks the token embeddings"),
    "empty vocabulary": (
        {"raw": ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 0))},
        "vocabulary is empty",
    ),
    "more KV heads than heads": (
        {"metadata": {"llama.attention.head_count_kv": 4}},
        "more key/value heads (4) than heads (1)",
    ),
    "experts used but none there": (
        {"extra": {"llama.expert_used_count": 2}},
        "uses 2 of 0 experts per token",
    ),
    "unknown rope scaling": (
        {"extra": {"llama.rope.scaling.type": "sideways"}},
        "rope scaling type 'sideways' is not one llama.cpp knows",
    ),
    "a layer count that is text": (
        {"metadata": {"llama.block_count": None}, "extra": {"llama.block_count": "two"}},
        "llama.block_count is not a whole number",
    ),
}


def write_fault(folder, name):
    spec, _ = FAULTS[name]
    path = folder / f"{name.replace(' ', '-')}.gguf"
    extra = spec.get("extra", {})
    write_tiny_model(
        path,
        metadata=spec.get("metadata"),
        skip_tensors=spec.get("skip_tensors", ()),
        name="tiny",
    )
    if extra:
        _add_keys(path, extra)
    if "raw" in spec:
        with_metadata(path, path, *spec["raw"])
    return path


def _add_keys(path, extra):
    """Rewrite `path` with extra metadata keys (any type), keeping its tensors."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(path))
    writer = gguf.GGUFWriter(str(path) + ".new", arch="llama")
    writer.kv_data[0].clear()
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):
            continue
        value = field.contents()
        sub = field.types[1] if len(field.types) > 1 else None
        writer.kv_data[0][field.name] = gguf.GGUFValue(value, field.types[0], sub)
    for key, value in extra.items():
        if isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_uint32(key, value)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, np.array(tensor.data), raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(str(path) + ".new", path)


@pytest.fixture(scope="module")
def fault_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    return {name: write_fault(folder, name) for name in FAULTS}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_contradictions_are_refused_with_their_reason(fault_files, name):
    with pytest.raises(ModelFileError) as caught:
        read_model_info(fault_files[name])
    assert FAULTS[name][1] in caught.value.message
    assert "damaged" in caught.value.message and "download it again" in caught.value.hint


def test_the_sound_tiny_model_passes(tmp_path):
    info = read_model_info(write_tiny_model(tmp_path / "ok.gguf"))
    assert info.block_count == 2 and info.vocab_size == 269


@pytest.mark.parametrize("name", ["zero layers", "4096 layers with the tensors of 2"])
def test_llama_cpp_itself_aborts_on_these_files(fault_files, name):
    """Why the checks exist: loaded directly, llama.cpp ends the process with SIGABRT."""
    code = "import llama_cpp, sys; llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, verbose=True)"
    result = subprocess.run(
        [sys.executable, "-c", code, str(fault_files[name])], capture_output=True, timeout=120
    )
    assert result.returncode == -signal.SIGABRT
    assert "GGML_ASSERT" in result.stderr.decode(errors="replace")


def test_a_crash_in_llama_cpp_is_caught_by_the_probe_with_its_reason(fault_files):
    # Hearth's header check is skipped here, to show the second guard holding on its own.
    result = probe_model(fault_files["zero layers"], check_header=False)
    assert result.outcome == "crashed" and result.signal == signal.SIGABRT
    assert "n_layer_all > 0" in result.reason
    assert result.reason.startswith("an internal check failed")


def test_a_refusal_by_llama_cpp_comes_with_its_own_reason(tmp_path):
    path = write_tiny_model(tmp_path / "odd.gguf", metadata={"general.architecture": "frobnicator"})
    guard = ModelGuard()
    with pytest.raises(HearthError) as caught:
        ModelSession(guard).load(LoadSettings(str(path), n_ctx=256))
    assert "unknown model architecture: 'frobnicator'" in caught.value.message
    assert "more memory" not in str(caught.value)
    assert guard.probes == 1


@pytest.mark.slow
def test_a_new_file_is_probed_once_and_remembered(tmp_path):
    path = write_tiny_model(tmp_path / "fine.gguf")
    record = tmp_path / "checked.json"
    guard = ModelGuard(record)
    for _ in range(2):
        session = ModelSession(guard)
        session.load(LoadSettings(str(path), n_ctx=256))
        session.unload()
    assert guard.probes == 1
    again = ModelGuard(record)  # a later run reads the record
    again.check(path)
    assert again.probes == 0
    write_tiny_model(path, seed=1)  # a changed file is probed again
    os.utime(path, ns=(1, 1))
    again.check(path)
    assert again.probes == 1


def test_the_bundled_model_is_not_probed(default_model_path):
    guard = ModelGuard()
    guard.check(default_model_path)
    assert guard.probes == 0


def test_llama_reason_prefers_the_specific_line():
    log = (
        "llama_model_loader: loaded meta data\n"
        "llama_model_load: error loading model: missing tensor 'blk.1.attn_q.weight'\n"
        "llama_model_load_from_file_impl: failed to load model\n"
    )
    assert llama_reason(log) == "missing tensor 'blk.1.attn_q.weight'"
    assert llama_reason("") == ""


def hearth(*args, home):
    env = {**os.environ, "HEARTH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=180, env=env
    )


@pytest.mark.parametrize("name", ["zero layers", "4096 layers with the tensors of 2",
                                  "context length 2^32-1", "empty vocabulary"])  # fmt: skip
def test_the_cli_refuses_each_file_in_one_line_with_exit_2(fault_files, name, hearth_home):
    result = hearth("chat", "--model", str(fault_files[name]), "hi", home=hearth_home)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and FAULTS[name][1] in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_crashes_llama_cpp_only_when_it_tokenizes_is_caught_before_use(tmp_path):
    """Passes every header check and loads, then llama.cpp throws inside llama_tokenize (a C
    call, so the process aborts): a SentencePiece vocabulary without its byte tokens."""
    path = write_tiny_model(tmp_path / "spm.gguf", metadata={"tokenizer.ggml.model": "llama"})
    read_model_info(path)  # nothing in the header contradicts itself
    code = (
        "import llama_cpp, sys; "
        "m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, verbose=False); "
        "m.tokenize(b'Hello')"
    )
    direct = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            timeout=120)  # fmt: skip
    assert direct.returncode == -signal.SIGABRT, "without the probe this takes the process down"
    with pytest.raises(ModelFileError) as caught:
        ModelSession(ModelGuard()).load(LoadSettings(str(path), n_ctx=256))
    assert "llama.cpp crashed while opening spm.gguf (SIGABRT)" in caught.value.message
    assert "out_of_range error in llama_vocab::byte_to_token" in caught.value.message


def test_a_pipe_named_like_a_model_is_refused_at_once_not_waited_on(tmp_path, hearth_home):
    """Reading a pipe blocks until something writes to it: the CLI (and the window's shared
    background thread, which imports models) would wait forever."""
    pipe = tmp_path / "model.gguf"
    os.mkfifo(pipe)
    result = hearth("chat", "--model", str(pipe), "hi", home=hearth_home)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "hearth: model.gguf is not a model file: it is a pipe or a device, not a file on a "
        "disk. Choose a .gguf file."
    )
    from engine.catalog import ModelCatalog

    with pytest.raises(ModelFileError, match="it is a pipe or a device"):
        ModelCatalog(tmp_path / "models.json").import_model(pipe)


def test_a_cut_file_says_how_much_is_missing_in_decimal_units(tmp_path):
    """Before: "0.0 MB of model weights are missing" (a small file; MB meant 2**20 bytes)."""
    whole = write_tiny_model(tmp_path / "whole.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: len(whole) - 20_000])
    with pytest.raises(ModelFileError) as caught:
        read_model_info(cut)
    assert "cut.gguf is incomplete: 20.0 kB of model weights are missing." in caught.value.message
