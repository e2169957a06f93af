"""Counts the lab says, in the right number: "1 token", "2 tokens"."""

from __future__ import annotations

import pytest

from engine.errors import HearthError
from engine.lab import BenchPlan, QualitySettings, RunConfig, prepare
from engine.lab.plan import PlannedStep
from engine.lab.quality import text_chunks


def test_a_prompt_of_one_token_is_one_token():
    one = PlannedStep("prompt", "/m/tiny.gguf", RunConfig(), 0, 1.0, prompt_length=1)
    assert one.label.endswith("prompt of 1 token")
    many = PlannedStep("prompt", "/m/tiny.gguf", RunConfig(), 0, 1.0, prompt_length=4096)
    assert many.label.endswith("prompt of 4,096 tokens")


def test_a_text_of_one_token_is_said_so():
    with pytest.raises(
        HearthError, match=r"The text is 1 token long; perplexity needs at least 64"
    ):
        text_chunks([7], 64, 1, None)
    with pytest.raises(HearthError, match=r"A perplexity chunk of 1 token is too short"):
        text_chunks([7, 8], 1, 1, None)


def test_skipped_prompt_lengths_are_counted_in_words(tmp_path):
    from tests.engine.context.tiny_gguf import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny.gguf", metadata={"llama.context_length": 64})
    prepared = prepare(BenchPlan(models=(str(model),), prompt_lengths=(1, 200), gen_tokens=2,
                                 ttft_prompt_tokens=1, quality=False,
                                 quality_settings=QualitySettings(16, 1)))  # fmt: skip
    assert any("prompt of 200 tokens skipped" in note for note in prepared.notes)
    assert any(step.label.endswith("prompt of 1 token") for step in prepared.steps)
