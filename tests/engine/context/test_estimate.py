"""The memory estimate against what llama.cpp really allocates, part by part."""

from __future__ import annotations

import pytest

from engine.gguf_info import read_model_info
from engine.memory.allocation import AllocationReport
from engine.memory.estimate import estimate_memory, kv_cache_bytes, padded_cells
from engine.session import LoadSettings, ModelSession

TOLERANCE = 0.10


def load_and_compare(path, **settings):
    """Load with `settings`, return (estimate, actual allocation)."""
    load = LoadSettings(model_path=str(path), n_gpu_layers=0, **settings)
    session = ModelSession()
    try:
        report = session.load(load)
        info = read_model_info(path)
        estimate = estimate_memory(
            info,
            load.n_ctx,
            load.type_k,
            load.type_v,
            report.flash_attn,
            0,
            load.n_batch,
            load.swa_full,
        )
        assert session.allocation is not None
        return estimate, session.allocation
    finally:
        session.unload()


def assert_close(estimate, actual):
    assert actual.total > 0, "no buffers were read from llama.cpp's log"
    assert abs(estimate.total - actual.total) <= TOLERANCE * actual.total, (
        estimate.parts(),
        actual.parts(),
    )
    for part, size in actual.parts().items():
        # Each part on its own is within 10% too (or a few KiB, for the tiny ones).
        assert abs(estimate.parts()[part] - size) <= max(TOLERANCE * size, 64 * 1024), part


def assert_exact(estimated, actual, part):
    """Equal up to the log's rounding (sizes are printed to 0.01 MiB per buffer)."""
    buffers = sum(1 for buffer in actual.buffers if buffer.part == part)
    assert abs(estimated - actual.part(part)) <= 0.006 * 2**20 * buffers


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [
        {"n_ctx": 2048},
        {"n_ctx": 8192, "type_k": "q8_0", "type_v": "q8_0"},
        {"n_ctx": 4096, "type_k": "q4_0", "type_v": "q4_0", "n_batch": 1024},
        {"n_ctx": 8192, "flash_attn": True, "n_batch": 256},
    ],
    ids=["f16", "q8_0", "q4_0", "flash"],
)
def test_estimate_matches_smollm2_allocation(default_model_path, settings):
    estimate, actual = load_and_compare(default_model_path, **settings)
    assert_close(estimate, actual)
    assert_exact(estimate.kv, actual, "kv_cache")


@pytest.mark.slow
@pytest.mark.parametrize("swa_full", [True, False], ids=["full-swa", "compact-swa"])
def test_estimate_counts_gemma_sliding_window_layers(gemma_model_path, swa_full):
    estimate, actual = load_and_compare(
        gemma_model_path, n_ctx=16384, type_k="q8_0", type_v="q8_0", swa_full=swa_full
    )
    assert_close(estimate, actual)
    assert_exact(estimate.kv, actual, "kv_cache")
    info = read_model_info(gemma_model_path)
    full = kv_cache_bytes(info, padded_cells(16384), "q8_0", "q8_0")
    # A compact cache holds the window (plus a batch) on the sliding layers only.
    assert (estimate.kv < full / 3) if not swa_full else (estimate.kv == full)


@pytest.mark.slow
def test_estimate_matches_tiny_model_at_128k(tiny_model_path):
    estimate, actual = load_and_compare(
        tiny_model_path, n_ctx=131072, flash_attn=True, n_batch=2048
    )
    assert_close(estimate, actual)
    # At 128K the attention mask of a 2048-token batch dominates the compute buffer.
    assert actual.part("compute") > 256 * 2**20


def test_estimate_splits_weights_between_cpu_and_gpu(default_model_path):
    info = read_model_info(default_model_path)
    cpu = estimate_memory(info, 4096, n_gpu_layers=0, repack=False)
    some = estimate_memory(info, 4096, n_gpu_layers=11, repack=False)
    every = estimate_memory(info, 4096, n_gpu_layers=-1, repack=False)
    assert cpu.vram == 0 and cpu.weights_cpu == cpu.weights
    # 11 = the output layer and the last 10 of 30 repeating layers, with their KV cache.
    assert some.kv_gpu == cpu.kv * 10 // 30
    assert 0 < some.weights_gpu < every.weights_gpu
    assert every.kv_cpu == 0 and every.weights_cpu > 0, "token embeddings stay on the CPU"
    assert some.weights_cpu + some.weights_gpu == cpu.weights_cpu


def test_allocation_report_reads_llama_cpp_log_lines():
    log = (
        "load_tensors:   CPU_Mapped model buffer size =    92.10 MiB\n"
        "load_tensors:        CUDA0 model buffer size =   100.00 MiB\n"
        "llama_context:  CUDA_Host  output buffer size =     0.19 MiB\n"
        "llama_kv_cache:      CUDA0 KV buffer size =    90.00 MiB\n"
        "sched_reserve:      CUDA0 compute buffer size =    99.38 MiB\n"
        "sched_reserve:  CUDA_Host compute buffer size =     5.00 MiB\n"
    )
    report = AllocationReport.from_log(log)
    mib = 2**20
    assert report.part("weights") == round(192.10 * mib)
    assert report.vram == round((100 + 90 + 99.38) * mib)
    assert report.ram == round((92.10 + 0.19 + 5.0) * mib)
