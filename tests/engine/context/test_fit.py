"""Fitting the window to the machine: largest windows, refusals with reasons, proposals that fit."""

from __future__ import annotations

import pytest

from engine.context.fit import (
    ContextFitError,
    MachineMemory,
    check_fit,
    largest_window,
    largest_windows,
    prepare_load,
    window_choices,
)
from engine.gguf_info import read_model_info
from engine.memory.estimate import estimate_memory
from engine.session import LoadSettings, ModelSession

GB = 10**9


def test_window_choices_stop_at_the_trained_length(default_model_path, tiny_model_path):
    assert window_choices(read_model_info(default_model_path)) == [2048, 4096, 8192]
    assert window_choices(read_model_info(tiny_model_path))[-1] == 131072


def test_largest_window_is_the_edge_of_what_fits(gemma_model_path):
    info = read_model_info(gemma_model_path)
    memory = MachineMemory(ram_available=int(2.0 * GB))
    window = largest_window(info, memory, "f16")
    assert 0 < window < info.context_length
    assert memory.fits(estimate_memory(info, window))
    assert not memory.fits(estimate_memory(info, window + 256))
    # A quantized cache holds more tokens in the same memory.
    assert largest_window(info, memory, "q8_0") > window


def test_largest_windows_per_cache_type_on_this_machine(tiny_model_path):
    windows = largest_windows(read_model_info(tiny_model_path), MachineMemory.probe())
    assert windows["f16"] == 131072
    # Its 16-wide heads cannot be stored in 32-value blocks.
    assert windows["q8_0"] == windows["q4_0"] == 0


def test_too_little_memory_is_refused_before_loading_with_proposals_that_fit(gemma_model_path):
    memory = MachineMemory(ram_available=int(2.2 * GB))
    # Without flash attention: its larger compute buffer is what does not fit in 2.2 GB.
    settings = LoadSettings(model_path=str(gemma_model_path), n_ctx=32768, n_gpu_layers=0,
                            flash_attn=False)  # fmt: skip
    report = check_fit(settings, memory)
    assert not report.fits
    assert "32,768 tokens" in report.reason and "GB of RAM" in report.reason
    assert report.proposals
    for proposal in report.proposals:
        assert memory.fits(proposal.estimate), proposal.description
    kinds = {(p.type_k, p.n_ctx < 32768) for p in report.proposals}
    assert ("f16", True) in kinds, "a smaller window"
    assert any(p.type_k != "f16" and p.n_ctx == 32768 for p in report.proposals), "a q8/q4 cache"
    with pytest.raises(ContextFitError) as refused:
        prepare_load(settings, memory)
    assert refused.value.report.proposals == report.proposals
    assert "Try:" in refused.value.hint


def test_fewer_gpu_layers_are_proposed_when_vram_is_short(gemma_model_path):
    memory = MachineMemory(ram_available=8 * GB, vram_available=int(0.5 * GB))
    settings = LoadSettings(model_path=str(gemma_model_path), n_ctx=32768, n_gpu_layers=19)
    report = check_fit(settings, memory)
    assert not report.fits and "GPU memory" in report.reason
    assert any(p.n_gpu_layers < 19 and p.n_ctx == 32768 for p in report.proposals)


@pytest.mark.parametrize(("layers", "words"), [(1, "1 GPU layer,"), (12, "12 GPU layers,")])
def test_gpu_layers_without_a_gpu_say_there_is_none(default_model_path, layers, words):
    settings = LoadSettings(model_path=str(default_model_path), n_ctx=2048, n_gpu_layers=layers)
    report = check_fit(settings, MachineMemory(ram_available=8 * GB, vram_available=0))
    assert not report.fits
    assert report.reason == (
        f"The load asks for {words} but llama.cpp has no GPU it can use on this computer."
    )
    assert [p.n_gpu_layers for p in report.proposals][:1] == [0]


def test_window_beyond_the_trained_length_is_refused(default_model_path):
    settings = LoadSettings(model_path=str(default_model_path), n_ctx=131072)
    report = check_fit(settings, MachineMemory(ram_available=16 * GB))
    assert not report.fits and "trained for windows up to 8,192" in report.reason
    assert report.proposals[0].n_ctx == 8192


def test_quantized_cache_on_narrow_heads_is_refused_with_a_reason(tiny_model_path):
    settings = LoadSettings(model_path=str(tiny_model_path), n_ctx=4096, type_k="q8_0",
                            type_v="q8_0")  # fmt: skip
    with pytest.raises(ContextFitError) as refused:
        prepare_load(settings, MachineMemory(ram_available=16 * GB))
    assert "16 values wide" in refused.value.message
    assert refused.value.report.proposals[0].type_k == "f16"


@pytest.mark.slow
def test_quantized_v_cache_turns_flash_attention_on_or_refuses(default_model_path):
    memory = MachineMemory(ram_available=16 * GB)
    settings = LoadSettings(model_path=str(default_model_path), n_ctx=1024, type_k="q4_0",
                            type_v="q4_0", flash_attn=False)  # fmt: skip
    with pytest.raises(ContextFitError, match="needs flash attention"):
        prepare_load(settings, memory, flash_attn=False)
    ready, report = prepare_load(settings, memory)
    assert ready.flash_attn and any("Flash attention was turned on" in n for n in report.notes)
    session = ModelSession()
    try:
        loaded = session.load(ready)
        assert loaded.flash_attn and loaded.type_v == "q4_0"
    finally:
        session.unload()
