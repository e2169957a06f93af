"""A whole benchmark run on tiny models: plan, interleaving, repeats, memory, skips, faults, stop."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.errors import HearthError
from engine.lab import (
    BenchPlan,
    BenchResults,
    LabNotice,
    LabProgress,
    QualitySettings,
    QuantizeRequest,
    RunConfig,
    prepare,
    run_bench,
)
from engine.lab.quantize import quantize
from engine.memory import probe_gpus
from tests.engine.lab.conftest import THREADS, run_all


@pytest.fixture(scope="module")
def tiny_q8_path(tiny_f32_path, tmp_path_factory):
    target = tmp_path_factory.mktemp("tiny-q8") / "tiny-Q8_0.gguf"
    run_all(quantize(QuantizeRequest(str(tiny_f32_path), "Q8_0", str(target))))
    return target


def small_plan(models, **changes):
    values = dict(
        models=tuple(str(m) for m in models),
        prompt_lengths=(64, 128),
        gen_tokens=8,
        ttft_prompt_tokens=32,
        repeats=2,
        quality_settings=QualitySettings(n_ctx=64, max_chunks=2),
        n_threads=THREADS,
        n_gpu_layers=0,
    )
    values.update(changes)
    return BenchPlan(**values)


def split(events):
    progress = [e for e in events if isinstance(e, LabProgress)]
    notices = [e for e in events if isinstance(e, LabNotice)]
    results = events[-1]
    assert isinstance(results, BenchResults)
    assert all(not isinstance(e, BenchResults) for e in events[:-1])
    return progress, notices, results


@pytest.mark.slow
def test_a_run_measures_every_model_and_setting_repeated_and_interleaved(
    tiny_f32_path, tiny_q8_path
):
    configs = (RunConfig(), RunConfig("q8_0", "q8_0", True))
    plan = small_plan([tiny_q8_path, tiny_f32_path], configs=configs)
    prepared = prepare(plan)
    assert prepared.reference == str(tiny_f32_path)  # most bits per weight
    progress, notices, results = split(run_all(run_bench(prepared)))

    assert len(results.results) == 4 and not results.cancelled
    for row in results.results:
        assert not row.error, row.error
        assert row.backend.startswith("CPU")
        assert row.load_s is not None and len(row.load_s.samples) == 2
        assert sorted(row.prompt_tokens_per_s) == [64, 128]
        for spread in [*row.prompt_tokens_per_s.values(), row.gen_tokens_per_s, row.ttft_s]:
            assert spread is not None and len(spread.samples) == 2
            assert 0 < spread.low <= spread.median <= spread.high
        assert row.peak_ram_bytes is not None and row.peak_ram_bytes.low > 0
        assert row.model_ram_bytes is not None
        assert row.estimated_ram_bytes and row.allocated_ram_bytes
        assert row.memory_by_context and row.perplexity and row.perplexity > 1
        assert row.kl_divergence is not None and row.top1_agreement is not None
    rows = {(Path(r.model).name, r.config): r for r in results.results}
    reference = rows[("tiny-f32.gguf", RunConfig())]
    assert reference.is_reference and reference.kl_divergence == 0.0
    assert reference.top1_agreement == 1.0
    assert rows[("tiny-Q8_0.gguf", RunConfig())].kl_divergence > 0

    # Each repeat visits every row once, the reference first, then rotated.
    loads = [(p.model, p.label) for p in progress if p.label.endswith("loading")]
    assert len(loads) == 4 * 2
    first, second = loads[:4], loads[4:]
    assert first[0][0] == str(tiny_f32_path) and "f16 K/V" in first[0][1]
    assert sorted(first) == sorted(second) and first != second
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions)
    assert progress[-1].step == progress[-1].total_steps == len(prepared.steps)
    assert progress[-1].eta_s is not None


@pytest.mark.slow
def test_lengths_beyond_the_window_and_impossible_cache_types_are_skipped_with_a_notice(
    tmp_path,
):
    from tests.engine.context.tiny_gguf import write_tiny_model

    narrow = write_tiny_model(tmp_path / "narrow.gguf")  # 16-wide heads: no quantized K/V cache
    plan = small_plan(
        [narrow],
        prompt_lengths=(64, 200_000),
        repeats=1,
        configs=(RunConfig(), RunConfig("q4_0", "q4_0", True)),
    )
    progress, notices, results = split(run_all(run_bench(plan)))
    words = " ".join(n.message for n in notices)
    assert "200,000 tokens skipped" in words and "q4_0 K/V" in words
    (row,) = results.results
    assert sorted(row.prompt_tokens_per_s) == [64] and row.config == RunConfig()
    assert any("200,000" in note for note in row.notes)


@pytest.mark.slow
def test_a_model_llama_cpp_cannot_load_gets_its_error_and_the_run_goes_on(tiny_f32_path, tmp_path):
    broken = tmp_path / "unknown-architecture.gguf"
    broken.write_bytes(tiny_f32_path.read_bytes().replace(b"llama", b"llamb"))
    plan = small_plan([tiny_f32_path, broken], repeats=2)
    progress, notices, results = split(run_all(run_bench(plan)))
    rows = {Path(r.model).name: r for r in results.results}
    assert rows["unknown-architecture.gguf"].error
    # llama.cpp's own reason, found before the file reaches the run's model thread.
    assert "unknown model architecture: 'llamb'" in rows["unknown-architecture.gguf"].error
    assert not rows["tiny-f32.gguf"].error and rows["tiny-f32.gguf"].gen_tokens_per_s is not None
    assert len(rows["tiny-f32.gguf"].gen_tokens_per_s.samples) == 2
    failures = [n for n in notices if "unknown-architecture" in n.message]
    assert len(failures) == 1, "a model that failed once is not retried in every repeat"
    assert progress[-1].fraction == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
def test_stopping_a_run_ends_it_with_what_was_measured(tiny_f32_path, tiny_q8_path):
    cancel = CancelToken()
    events = []
    for event in run_bench(small_plan([tiny_f32_path, tiny_q8_path], repeats=3), cancel):
        events.append(event)
        if isinstance(event, LabProgress) and event.step == 8:
            cancel.cancel()
    progress, _, results = split(events)
    assert results.cancelled
    assert max(p.step for p in progress) == 8
    measured = [r for r in results.results if r.load_s is not None]
    assert measured and all(len(r.load_s.samples) == 1 for r in measured)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"models": ()}, "at least one model"),
        ({"speed": False, "quality": False}, "something to measure"),
        ({"repeats": 0}, "Repeats"),
        ({"configs": (RunConfig("q8_0", "q8_0", False),)}, "needs flash attention"),
        ({"configs": (RunConfig("q5_1", "q5_1", True),)}, "Unknown K/V cache type"),
        ({"text_path": "/no/such/text.txt"}, "Cannot read"),
    ],
)
def test_a_plan_that_cannot_run_is_refused_before_loading(tiny_f32_path, changes, message):
    plan = small_plan([tiny_f32_path])
    with pytest.raises(HearthError, match=message):
        prepare(replace(plan, **changes))


@pytest.mark.slow
def test_vram_is_reported_only_where_there_is_a_gpu(tiny_f32_path):
    results = split(run_all(run_bench(small_plan([tiny_f32_path], repeats=1, quality=False))))[2]
    (row,) = results.results
    if probe_gpus():
        assert row.peak_vram_bytes is not None
    else:
        assert row.peak_vram_bytes is None and results.machine["gpus"] == []
        assert row.backend == f"CPU ({THREADS} thread)"
    assert results.machine["llama_cpp_version"] and results.machine["ram_bytes"] > 0


def test_backend_label_names_the_gpu_backend_and_offloaded_layers(tiny_f32_path):
    # No GPU here: the label is checked on the records a CUDA load produces.
    from engine.gguf_info import read_model_info
    from engine.lab.runner import backend_label
    from engine.memory.allocation import AllocationReport, Buffer
    from engine.session import LoadReport

    info = read_model_info(tiny_f32_path)

    def loaded(gpu_layers: int) -> LoadReport:
        return LoadReport(model=info, n_ctx=512, n_threads=8, n_gpu_layers=gpu_layers,
                          flash_attn=False, type_k="f16", type_v="f16", template="model",
                          load_seconds=0.1)  # fmt: skip

    report = loaded(3)
    cuda = AllocationReport((Buffer("weights", "CUDA0", 10), Buffer("weights", "CPU_Mapped", 5)))
    label = backend_label(report, cuda)
    assert label.startswith("CUDA: ") and label.endswith("all 3 layers")
    assert backend_label(loaded(2), cuda).endswith("2 of 3 layers")
    cpu = AllocationReport((Buffer("weights", "CPU_Mapped", 5),))
    assert backend_label(loaded(0), cpu) == "CPU (8 threads)"


@pytest.mark.slow
def test_a_text_too_short_for_quality_leaves_the_speed_figures(tiny_f32_path, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("Just a few words.")
    plan = small_plan([tiny_f32_path], repeats=2, text_path=str(short))
    _, notices, results = split(run_all(run_bench(plan)))
    (row,) = results.results
    assert not row.error and row.perplexity is None
    assert len(row.gen_tokens_per_s.samples) == 2
    assert any("quality not measured" in n.message and "at least 64" in n.message for n in notices)
    assert any("quality not measured" in note for note in row.notes)


def test_a_model_given_twice_is_measured_once_and_said_once(tiny_f32_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tiny_f32_path.parent)
    same = (str(tiny_f32_path), tiny_f32_path.name, str(tiny_f32_path))  # also by another path
    prepared = prepare(small_plan(same, reference=tiny_f32_path.name))
    assert [m.path for m in prepared.models] == [str(tiny_f32_path)]
    assert prepared.reference == str(tiny_f32_path)
    said = [n for n in prepared.notes if "more than once" in n]
    assert said == ["tiny-f32.gguf was given more than once; it is measured once."]


def measure_alone_and_beside_ballast(model_path: str) -> None:
    """Run in a fresh process by the test below: one run, then one beside 300 MB of resident
    ballast (what a window's process holds besides the model); prints the figures as JSON."""
    import json

    import psutil

    plan = small_plan([Path(model_path)], quality=False, repeats=1, prompt_lengths=(32,))

    def measure() -> dict:
        (row,) = split(run_all(run_bench(plan)))[2].results
        assert not row.error, row.error
        assert row.ram_used is row.model_ram_bytes
        return {"peak": row.peak_ram_bytes.median, "own": row.model_ram_bytes.median,
                "estimate": row.estimated_ram_bytes}  # fmt: skip

    alone = measure()
    before = psutil.Process().memory_info().rss
    ballast = b"\1" * 300_000_000
    assert psutil.Process().memory_info().rss - before > 250e6
    held = measure()
    del ballast
    print(json.dumps({"alone": alone, "held": held}))


@pytest.mark.slow
def test_the_model_s_own_memory_is_the_same_whatever_else_the_process_holds(default_model_path):
    """A window's process holds Qt and more before a run; a terminal's holds little. The process
    peak differs by that much, the model's own memory (what tables, plots and constraints use)
    does not, and it is close to the engine's estimate. Measured in a fresh process: one that
    ran other tests keeps freed memory that a load reuses without raising its resident size.
    The second run follows the first in one process, as a lab's runs do: freed memory the first
    left behind must not make the second read lower (without handing it back it read 17-23%
    lower)."""
    import json
    import subprocess
    import sys

    code = ("from tests.engine.lab.test_runner import measure_alone_and_beside_ballast as m; "
            f"m({str(default_model_path)!r})")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[3])  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    alone, held = figures["alone"], figures["held"]
    assert held["peak"] - alone["peak"] > 250e6
    assert held["own"] == pytest.approx(alone["own"], rel=0.12)
    for row in (alone, held):
        assert 0.6 < row["own"] / row["estimate"] < 1.35
