"""Model-file fuzzing: mutated GGUF headers of the bundled and the tiny model, each loaded through
Hearth. Every one is refused with a message in words or loads; none crashes, hangs or takes the
process down (a crash would end this test run). bench/fuzz_gguf.py runs many more, through the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from engine.errors import HearthError
from engine.model_probe import ModelGuard
from engine.session import LoadSettings, ModelSession
from tests.engine.context.tiny_gguf import write_tiny_model
from tests.engine.gguf_fuzz import mutated, mutations

# Seeded samples sized for the suite's time; bench/fuzz_gguf.py runs larger ones through the CLI.
TINY_SAMPLE = 30
TINY_KEY_SAMPLE = 40
BUNDLED_SAMPLE = 8
BUNDLED_KEY_SAMPLE = 12


def load_through_hearth(path, guard: ModelGuard) -> str:
    """'loaded', 'refused by the header check' or 'refused by llama.cpp in the probe'."""
    probes = guard.probes
    session = ModelSession(guard)
    try:
        session.load(LoadSettings(str(path), n_ctx=256, n_threads=1, n_gpu_layers=0))
    except HearthError as exc:
        text = str(exc)
        assert "\n" not in text and "Traceback" not in text, text
        return (
            "refused by llama.cpp in the probe"
            if guard.probes > probes
            else "refused by the header check"
        )
    session.unload()
    return "loaded"


def run_mutations(source, work, sample, key_sample=None):
    shutil.copyfile(source, work)
    guard = ModelGuard(timeout_s=120)
    outcomes: Counter[str] = Counter()
    for mutation in mutations(source, sample=sample, seed=7, key_sample=key_sample):
        with mutated(work, mutation):
            try:
                outcomes[load_through_hearth(work, guard)] += 1
            except Exception as exc:  # not a HearthError: a bug in the checks
                pytest.fail(f"{mutation.label}: {type(exc).__name__}: {exc}")
    return outcomes


@pytest.mark.slow
def test_mutated_tiny_model_headers_are_refused_or_load(tmp_path):
    source = write_tiny_model(tmp_path / "tiny.gguf")
    outcomes = run_mutations(source, tmp_path / "work.gguf", TINY_SAMPLE, TINY_KEY_SAMPLE)
    assert sum(outcomes.values()) == TINY_SAMPLE + TINY_KEY_SAMPLE
    assert outcomes["refused by the header check"] > outcomes["refused by llama.cpp in the probe"]
    print(dict(outcomes))


@pytest.mark.slow
def test_mutated_bundled_model_headers_are_refused_or_load(tmp_path, default_model_path):
    outcomes = run_mutations(default_model_path, tmp_path / "work.gguf", BUNDLED_SAMPLE,
                             key_sample=BUNDLED_KEY_SAMPLE)  # fmt: skip
    assert outcomes["refused by the header check"] > 0
    print(dict(outcomes))


@pytest.mark.slow
def test_the_cli_ends_each_mutated_file_with_one_line_and_exit_2_or_a_reply(tmp_path):
    source = write_tiny_model(tmp_path / "tiny.gguf")
    work = tmp_path / "work.gguf"
    shutil.copyfile(source, work)
    env = {**os.environ, "HEARTH_HOME": str(tmp_path / "home")}
    picked = mutations(source, sample=6, seed=3)[::7][:8]
    codes = Counter()
    for mutation in picked:
        with mutated(work, mutation):
            result = subprocess.run(
                [sys.executable, "-m", "app", "chat", "--model", str(work), "--max-tokens", "1",
                 "--ctx", "512", "--threads", "1", "hi"],
                capture_output=True, text=True, timeout=300, env=env,
            )  # fmt: skip
        assert result.returncode in (0, 2), (mutation.label, result.returncode, result.stderr)
        if result.returncode == 2:
            assert len(result.stderr.strip().splitlines()) == 1, (mutation.label, result.stderr)
        codes[result.returncode] += 1
    assert codes[2] > 0
