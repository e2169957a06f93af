"""`hearth quantize` and `hearth bench` end to end, as a person runs them in a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.storage import size_text
from tests.engine.context.tiny_gguf import write_tiny_model

# Each test runs `hearth quantize` or `hearth bench` in a process: llama.cpp on real models.
pytestmark = pytest.mark.slow

FAST_BENCH = ("--prompt-lengths", "64,128", "--gen-tokens", "8", "--ttft-prompt", "32",
              "--repeats", "2", "--chunk-tokens", "64", "--chunks", "2", "--threads", "1",
              "--gpu-layers", "0")  # fmt: skip


def hearth(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ},
    )


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return write_tiny_model(
        tmp_path_factory.mktemp("cli-lab") / "tiny-f32.gguf", n_embd=256, n_ff=512
    )


def test_quantize_writes_the_variant_into_hearths_models_and_lists_it(tiny_model, hearth_home):
    result = hearth("quantize", tiny_model, "--type", "q4_k_m", "--json")
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["quant_type"] == "Q4_K_M" and made["source_type"] == "F32"
    assert made["path"] == str(hearth_home / "data" / "models" / "tiny-Q4_K_M.gguf")
    assert "100%" in result.stderr
    info = json.loads(hearth("info", "--json").stdout)
    listed = {m["path"]: m for m in info["models"]}
    assert listed[made["path"]]["file_type"] == "Q4_K_M" and not listed[made["path"]]["bundled"]


def one_line_error(result):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_bad_quantize_input_ends_with_one_line(tiny_model, gemma_model_path, tmp_path):
    assert "Choose one of Q8_0" in one_line_error(hearth("quantize", tiny_model, "--type", "Q9"))
    assert "not found" in one_line_error(hearth("quantize", tmp_path / "no.gguf", "--type", "Q8_0"))
    refused = one_line_error(hearth("quantize", gemma_model_path, "--type", "Q4_0",
                                    "--out", tmp_path / "g.gguf"))  # fmt: skip
    assert "already quantized" in refused and "--allow-requantize" in refused
    taken = tmp_path / "taken.gguf"
    taken.write_bytes(b"mine")
    assert "already exists" in one_line_error(
        hearth("quantize", tiny_model, "--type", "Q8_0", "--out", taken)
    )
    assert taken.read_bytes() == b"mine"
    assert "is a folder" in one_line_error(
        hearth("quantize", tiny_model, "--type", "Q8_0", "--out", tmp_path)
    )
    assert "does not end in .gguf" in one_line_error(
        hearth("quantize", tiny_model, "--type", "Q8_0", "--out", tmp_path / "x.txt")
    )
    assert not (tmp_path / "x.txt").exists()
    assert "whole number" in one_line_error(
        hearth("quantize", tiny_model, "--type", "Q8_0", "--threads", "many")
    )


def test_an_output_named_where_nothing_can_be_written_says_to_choose_another_folder(tiny_model):
    """The person named the path: the way out is another folder (not HEARTH_HOME), and a
    kernel folder is not said to be missing ("No such file or directory")."""
    for folder in ("/sys", "/proc"):
        for args in (("quantize", tiny_model, "--type", "Q8_0", "--out", f"{folder}/x.gguf"),
                     ("bench", "run", tiny_model, "--save", f"{folder}/r.json")):  # fmt: skip
            line = one_line_error(hearth(*args))
            assert f"{folder} cannot be written to" in line, line
            assert "Choose another folder you can write to." in line, line
            assert "HEARTH_HOME" not in line and "No such file" not in line, line
    line = one_line_error(hearth("quantize", tiny_model, "--type", "Q8_0", "--out",
                                 f"{tiny_model}/x.gguf"))  # fmt: skip
    assert "is a file, not a folder" in line, line


def test_quantize_states_the_size_as_every_other_place_does(tiny_model, tmp_path):
    out = tmp_path / "tiny-Q8_0.gguf"
    result = hearth("quantize", tiny_model, "--type", "Q8_0", "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"Q8_0 from F32, {size_text(out.stat().st_size)} in " in result.stdout


def test_ctrl_c_stops_a_quantization_and_leaves_nothing(gemma_model_path, tmp_path):
    target = tmp_path / "gemma-Q6_K.gguf"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "quantize",
            str(gemma_model_path),
            "--type",
            "Q6_K",
            "--allow-requantize",
            "--out",
            str(target),
        ],  # fmt: skip
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "%" in line:  # the quantizer is running
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "nothing was written" in err
    # Only Hearth's own folder (its log) is left: no variant, no temporary file.
    assert [p.name for p in tmp_path.iterdir()] in ([], ["hearth-home"])
    assert not list(tmp_path.glob("**/*.gguf*"))


def test_bench_run_json_has_every_figure_per_model_and_saves_json_and_csv(tiny_model, tmp_path):
    variant = tmp_path / "tiny-Q8_0.gguf"
    assert hearth("quantize", tiny_model, "--type", "Q8_0", "--out", variant).returncode == 0
    save = tmp_path / "results" / "run.json"
    result = hearth("bench", "run", tiny_model, variant, *FAST_BENCH, "--json", "--save", save,
                    "--constraint", "at least 1 tokens/s")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["model"] for r in report["results"]] == [str(tiny_model), str(variant)]
    for entry in report["results"]:
        for key in ("model", "load_s", "prompt_tokens_per_s", "gen_tokens_per_s", "ttft_s",
                    "peak_ram_bytes", "perplexity", "kl_divergence", "top1_agreement"):  # fmt: skip
            assert entry[key] is not None, key
        assert entry["backend"].startswith("CPU")
    reference, measured = report["results"]
    assert reference["kl_divergence"] == 0.0 and measured["kl_divergence"] > 0
    assert report["recommendation"]["text"].startswith("Under 'at least 1 tokens/s', use ")
    assert report["pareto_front"] and report["saved"] == [str(save), str(save.with_suffix(".csv"))]
    assert "[1/" in result.stderr  # progress, on stderr

    for saved in (save, save.with_suffix(".csv")):
        shown = hearth("bench", "show", saved)
        assert shown.returncode == 0, shown.stderr
        assert "tiny-Q8_0.gguf" in shown.stdout and "tiny-f32.gguf" in shown.stdout
        assert "Use tiny-" in shown.stdout
        # The model's own memory, in the sizes every other place uses; TTFT in seconds.
        heading, *rows = shown.stdout.splitlines()[:3]
        assert "RAM used" in heading and "TTFT s" in heading and "peak RAM" not in heading
        ram = size_text(report["results"][0]["model_ram_bytes"])
        assert ram in rows[0] and f"{report['results'][0]['ttft_s']:.3f}" in rows[0]
    half = hearth("bench", "show", save, "--constraint", "under 1 GB fast")
    assert "does not understand 'fast'" in one_line_error(half)


def test_bench_run_says_once_when_a_model_is_given_twice(tiny_model, tmp_path):
    result = hearth("bench", "run", tiny_model, tiny_model, "--no-speed", "--chunk-tokens", "64",
                    "--chunks", "1", "--threads", "1", "--gpu-layers", "0", "--no-save")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("given more than once") == 1, result.stderr
    assert result.stdout.count("tiny-f32.gguf") >= 1
    assert "Only tiny-f32.gguf was measured" in result.stdout


def test_bad_bench_input_ends_with_one_line(tiny_model, tmp_path):
    assert "not found" in one_line_error(hearth("bench", "run", tmp_path / "none.gguf"))
    assert "whole number" in one_line_error(hearth("bench", "run", tiny_model, "--repeats", "x"))
    assert "K/V cache type" in one_line_error(
        hearth("bench", "run", tiny_model, "--kv-types", "q5_1")
    )
    assert "not a constraint" in one_line_error(
        hearth("bench", "run", tiny_model, "--constraint", "fast please")
    )
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert "not a benchmark result file" in one_line_error(hearth("bench", "show", junk))
    # Not results at all: refused in words, not "Nothing was measured" with success.
    two_columns = tmp_path / "ta-c.csv"
    two_columns.write_text("a,b")
    notes = tmp_path / "ta-notes.txt"
    notes.write_text("shopping: eggs")
    for path in (two_columns, notes):
        line = one_line_error(hearth("bench", "show", path))
        assert f"{path.name} is not a benchmark result file" in line
        assert "Expecting" not in line and "line 1" not in line
    assert "with --questions" in one_line_error(
        hearth("bench", "run", tiny_model, "--library", "manuals")
    )


def test_bench_show_across_vocabularies_says_quality_does_not_compare(tmp_path):
    from tests.engine.lab.conftest import across_vocabularies

    saved, _csv = across_vocabularies().save(tmp_path / "two.json")
    shown = hearth("bench", "show", saved)
    assert shown.returncode == 0, shown.stderr
    heading, smol, gemma = shown.stdout.splitlines()[:3]
    # The reference's own KL and top-1 are no score; Gemma's quality does not compare with it.
    assert smol.split()[-2:] == ["reference", "reference"] and "0.0000" not in smol
    assert gemma.endswith("9.000 ≠  not comparable  not comparable")
    assert (
        "≠ Quality not comparable: gemma-3-270m.q4_k_m.gguf has another vocabulary" in shown.stdout
    )
    assert "lowest perplexity" not in shown.stdout and "Pareto" not in shown.stdout
    assert "Use gemma-3-270m.q4_k_m.gguf" in shown.stdout and "not on quality" in shown.stdout
    report = json.loads(hearth("bench", "show", saved, "--json").stdout)
    advice = report["recommendation"]
    assert advice["quality_comparable"] is False and advice["quality_metric"] == "gen_tokens_per_s"
    assert "262,144" in advice["quality_note"] and report["pareto_front"] == []
    assert [r["quality_standing"] for r in report["results"]] == ["reference", "not comparable"]
    assert [r["same_vocabulary"] for r in report["results"]] == [True, False]


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--prompt-lengths", "-5,99999999999", "--prompt-lengths takes positive whole numbers of "
         "tokens, not '-5'."),
        ("--prompt-lengths", "512,-2k", "not '-2k'."),
        ("--repeats", "-1", "--repeats must be a whole number of 1 or more, not '-1'."),
        ("--gen-tokens", "1", "--gen-tokens must be a whole number of 2 or more, not '1'."),
        ("--chunks", "-3", "--chunks must be a whole number of 0 or more, not '-3'."),
        ("--chunk-tokens", "x", "--chunk-tokens must be a whole number of 16 or more, not 'x'."),
    ],
)  # fmt: skip
def test_a_count_out_of_range_is_refused_in_true_words(tiny_model, option, value, said):
    assert one_line_error(hearth("bench", "run", tiny_model, f"{option}={value}")).endswith(said)
