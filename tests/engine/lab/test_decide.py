"""Constraints as people write them, the Pareto front, and the recommendation in words."""

from __future__ import annotations

import pytest

from engine.errors import HearthError
from engine.lab import ModelResult, RunConfig, Spread, pareto_front, parse_constraint, recommend

GB = 1e9


def variant(name, speed, kl, ppl, ram_gb, size_gb=1.0, reference=False):
    return ModelResult(
        model=f"/models/{name}.gguf",
        name=f"{name}.gguf",
        file_type=name,
        file_size=int(size_gb * GB),
        parameter_count=1,
        config=RunConfig(),
        backend="CPU (8 threads)",
        is_reference=reference,
        gen_tokens_per_s=Spread(speed, speed * 0.95, speed * 1.05),
        peak_ram_bytes=Spread(ram_gb * GB, ram_gb * GB, ram_gb * GB),
        kl_divergence=kl,
        perplexity=ppl,
        top1_agreement=1.0 - kl,
    )


VARIANTS = [
    variant("F16", 8.0, 0.0, 10.0, 15.0, 14.0, reference=True),
    variant("Q8_0", 14.0, 0.002, 10.01, 8.5, 7.5),
    variant("Q6_K", 13.0, 0.008, 10.05, 6.8, 5.9),  # slower and worse than Q8_0's neighbour
    variant("Q4_K_M", 22.0, 0.03, 10.3, 5.2, 4.6),
    variant("Q2_K", 30.0, 0.4, 14.0, 3.4, 2.8),
]


@pytest.mark.parametrize(
    ("text", "metric", "at_least", "value"),
    [
        ("at least 20 tokens/s", "gen_tokens_per_s", True, 20),
        (">= 20 tok/s", "gen_tokens_per_s", True, 20),
        ("prompt over 500 tokens/s", "prompt_tokens_per_s", True, 500),
        ("under 8 GB", "peak_ram_bytes", False, 8e9),
        ("below 6 GiB VRAM", "peak_vram_bytes", False, 6 * 2**30),
        ("file under 4 GB", "file_size", False, 4e9),
        ("TTFT under 500 ms", "ttft_s", False, 0.5),
        ("KL under 0.05", "kl_divergence", False, 0.05),
        ("perplexity below 12", "perplexity", False, 12),
        ("top-1 at least 90%", "top1_agreement", True, 0.9),
        ("task score over 0.8", "task_score", True, 0.8),
    ],
)
def test_constraints_are_read_as_people_write_them(text, metric, at_least, value):
    constraint = parse_constraint(text)
    assert (constraint.metric, constraint.at_least) == (metric, at_least)
    assert constraint.value == pytest.approx(value)


@pytest.mark.parametrize("text", ["fast please", "under 8 bananas", "", "20 tokens/s"])
def test_a_constraint_that_is_not_understood_says_how_to_write_one(text):
    with pytest.raises(HearthError) as error:
        parse_constraint(text)
    assert "at least 20 tokens/s" in error.value.hint


def test_pareto_front_drops_variants_beaten_on_speed_and_quality():
    front = pareto_front(VARIANTS)
    assert [r.file_type for r in front] == ["Q2_K", "Q4_K_M", "Q8_0", "F16"]


def test_recommendation_takes_the_best_quality_that_meets_the_constraint():
    advice = recommend(VARIANTS, [parse_constraint("at least 20 tokens/s")])
    assert advice.choice.file_type == "Q4_K_M" and advice.best.file_type == "F16"
    assert advice.metric == "kl_divergence"
    text = advice.text
    assert "Under 'at least 20 tokens/s', use Q4_K_M.gguf" in text
    assert "2.75x as fast" in text and "9.80 GB less memory" in text
    assert "perplexity 10.00 -> 10.30 (+3.0%)" in text and "KL divergence of 0.0300" in text


def test_recommendation_under_two_constraints_and_when_none_meets_them():
    advice = recommend(
        VARIANTS, [parse_constraint("under 9 GB"), parse_constraint("KL under 0.01")]
    )
    assert advice.choice.file_type == "Q8_0"
    nothing = recommend(VARIANTS, [parse_constraint("at least 100 tokens/s")])
    assert nothing.choice is None
    assert nothing.text.startswith("No variant meets 'at least 100 tokens/s'. The closest is Q2_K")


def test_without_constraints_the_best_is_recommended_and_failures_are_ignored():
    failed = ModelResult("/m/x.gguf", "x.gguf", "Q4_0", 1, 1, RunConfig(), error="no memory")
    advice = recommend([*VARIANTS, failed])
    assert advice.choice.file_type == "F16" and "also the best" in advice.text
    assert recommend([failed]).choice is None
