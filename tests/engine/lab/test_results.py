"""Results saved as JSON and CSV and reopened; the table's columns; bad files."""

from __future__ import annotations

import json

import pytest

from engine.errors import HearthError
from engine.lab import COLUMNS, BenchResults, ModelResult, RunConfig, Spread, load_results
from tests.engine.lab.conftest import run_all
from tests.engine.lab.test_runner import small_plan, split


@pytest.fixture(scope="module")
def measured(tiny_f32_path):
    from engine.lab import run_bench

    return split(run_all(run_bench(small_plan([tiny_f32_path], repeats=2))))[2]


def test_json_round_trip_gives_back_the_same_results(measured, tmp_path):
    json_path, csv_path = measured.save(tmp_path / "run.json")
    assert json_path.exists() and csv_path == tmp_path / "run.csv" and csv_path.exists()
    reopened = load_results(json_path)
    assert reopened == measured
    assert (
        reopened.results[0].gen_tokens_per_s.samples == measured.results[0].gen_tokens_per_s.samples
    )


def test_json_has_the_headline_figures_of_every_model(measured):
    data = json.loads(json.dumps(measured.to_dict()))
    (entry,) = data["results"]
    for key in ("model", "load_s", "prompt_tokens_per_s", "gen_tokens_per_s", "ttft_s",
                "peak_ram_bytes", "perplexity", "kl_divergence", "top1_agreement", "backend"):  # fmt: skip
        assert key in entry
    assert isinstance(entry["peak_ram_bytes"], int)
    assert (
        entry["prompt_tokens_per_s"]
        == entry["spread"]["prompt_tokens_per_s_by_length"]["64"]["median"]
    )
    assert data["machine"]["cpu"] and data["settings"]["repeats"] == 2


def test_csv_reopens_with_medians_and_ranges(measured, tmp_path):
    _, csv_path = measured.save(tmp_path / "run.json")
    (original,) = measured.results
    (row,) = load_results(csv_path).results
    assert row.model == original.model and row.config == original.config
    assert row.gen_tokens_per_s.median == pytest.approx(original.gen_tokens_per_s.median)
    assert row.gen_tokens_per_s.low == pytest.approx(original.gen_tokens_per_s.low)
    assert row.prompt_tokens_per_s.keys() == original.prompt_tokens_per_s.keys()
    assert row.perplexity == pytest.approx(original.perplexity)
    assert row.peak_ram_bytes.median == int(original.peak_ram_bytes.median)


def test_every_table_column_is_in_a_row(measured):
    row = measured.results[0].row()
    assert {key for key, _, _ in COLUMNS} <= set(row)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("results.json", "{not json"),
        ("results.json", '{"something": "else"}'),
        ("results.csv", "a,b\n1,2\n"),
        ("results.csv", "a,b"),
        ("results.csv", "model,file_type\n"),
        ("results.json", '{"version": 1, "results": []}'),
        ("results.json", '{"results": [{"model": "m", "spread": 5}]}'),
        ("notes.txt", "hello"),
        ("results.json", None),
    ],
)
def test_files_that_are_not_results_are_refused_in_words(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(HearthError) as error:
        load_results(path)
    # Plain words: no parser's line-and-column talk.
    assert "line 1" not in str(error.value) and "Expecting" not in str(error.value)
    if content is not None:
        assert f"{name} is not a benchmark result file" in str(error.value)


def test_a_row_label_names_its_setting_only_when_not_the_default():
    row = ModelResult("/m/a.gguf", "a.gguf", "Q4_0", 1, 1, RunConfig())
    assert row.label == "a.gguf"
    quantized = ModelResult("/m/a.gguf", "a.gguf", "Q4_0", 1, 1, RunConfig("q8_0", "q8_0", True))
    assert quantized.label == "a.gguf [q8_0 K/V, flash attention on]"
    assert Spread.of([]) is None
    assert Spread.of([3.0, 1.0, 2.0]) == Spread(2.0, 1.0, 3.0, (3.0, 1.0, 2.0))
    assert BenchResults((row,)).rows()[0]["kv_cache"] == "f16"


def test_results_saved_before_the_model_s_own_memory_fall_back_to_the_process_peak(
    measured, tmp_path
):
    data = measured.to_dict()
    entry = data["results"][0]
    # Both figures are saved: the process peak and the model's own memory within it.
    assert entry["peak_ram_bytes"] >= entry["model_ram_bytes"] > 0
    assert measured.results[0].ram_used is measured.results[0].model_ram_bytes
    del entry["model_ram_bytes"], entry["spread"]["model_ram_bytes"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    (row,) = load_results(old).results
    assert row.model_ram_bytes is None and row.ram_used == row.peak_ram_bytes
