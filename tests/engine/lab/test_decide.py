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
        ("under 8 GB", "model_ram_bytes", False, 8e9),
        ("RAM used under 800 MB", "model_ram_bytes", False, 8e8),
        ("time to first token under 0.5 s", "ttft_s", False, 0.5),
        ("generation at least 20 tokens per second", "gen_tokens_per_s", True, 20),
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


@pytest.mark.parametrize(
    ("text", "unknown"),
    [("under 1 GB fast", "'fast'"), ("fast under 1 GB", "'fast'"),
     ("at least 20 tokens/s please", "'please'"), ("under 1 GB over 2", "'over', '2'"),
     ("KL under 0.05 or so", "'or', 'so'")],
)  # fmt: skip
def test_a_constraint_with_words_it_does_not_know_is_refused_not_half_read(text, unknown):
    with pytest.raises(HearthError) as error:
        parse_constraint(text)
    assert f"does not understand {unknown}" in error.value.message
    assert "at least 20 tokens/s" in error.value.hint


def test_memory_is_the_model_s_own_and_the_process_peak_only_for_old_results():
    from dataclasses import replace

    # Measured in a window: the process held 0.3 GB besides the model.
    small = replace(variant("Q4_0", 20.0, 0.03, 10.3, 0.45),
                    model_ram_bytes=Spread(0.2e9, 0.2e9, 0.2e9))  # fmt: skip
    big = replace(variant("Q8_0", 15.0, 0.0, 10.0, 0.5, reference=True),
                  model_ram_bytes=Spread(0.24e9, 0.24e9, 0.24e9))  # fmt: skip
    advice = recommend([small, big], [parse_constraint("under 0.22 GB")])
    assert advice.choice is small and "200.0 MB RAM used" in advice.text
    assert recommend([small, big], [parse_constraint("under 0.19 GB")]).choice is None
    # Saved before the model's own memory was measured: the process peak is all there is.
    old = replace(small, model_ram_bytes=None)
    assert old.ram_used is old.peak_ram_bytes
    assert not parse_constraint("under 0.22 GB").holds(old)
    assert parse_constraint("under 0.5 GB").holds(old)


def test_pareto_front_drops_variants_beaten_on_speed_and_quality():
    front = pareto_front(VARIANTS)
    assert [r.file_type for r in front] == ["Q2_K", "Q4_K_M", "Q8_0", "F16"]


def test_recommendation_takes_the_best_quality_that_meets_the_constraint():
    advice = recommend(VARIANTS, [parse_constraint("at least 20 tokens/s")])
    assert advice.choice.file_type == "Q4_K_M" and advice.best.file_type == "F16"
    assert advice.metric == "perplexity"
    text = advice.text
    assert "Under 'at least 20 tokens/s', use Q4_K_M.gguf" in text
    assert "2.75x as fast" in text and "9.8 GB less memory" in text
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
    assert (
        advice.choice.file_type == "F16" and "It has the lowest perplexity measured" in advice.text
    )
    assert recommend([failed]).choice is None


def test_the_reference_does_not_win_on_its_own_kl_divergence_of_zero():
    # The reference is slower, larger and has the worse perplexity: only its KL of 0 is "best".
    reference = variant("Q8_0", 10.0, 0.0, 25.71, 0.40, 0.15, reference=True)
    smaller = variant("Q4_1", 18.0, 0.09, 25.61, 0.25, 0.09)
    advice = recommend([reference, smaller])
    assert advice.choice is smaller and advice.best is smaller
    assert advice.text.startswith("Use Q4_1.gguf: ") and "lowest perplexity" in advice.text
    # Under a constraint that leaves only the reference, its better figures are not "costs".
    advice = recommend([reference, smaller], [parse_constraint("KL under 0.01")])
    assert advice.choice is reference
    text = advice.text
    assert "it costs perplexity" not in text and "it is 0.56x as fast" not in text
    assert "it costs speed (0.56x the speed), 150.0 MB more memory, a file 1.67x the size" in text
    assert "perplexity 25.61 -> 25.71 (+0.4%)" in text


def test_an_improvement_is_said_as_a_gain_not_a_cost():
    best = variant("Q8_0", 10.0, 0.0, 25.71, 0.40, reference=True)
    faster = variant("Q4_1", 18.0, 0.09, 25.61, 0.25)
    from engine.lab.decide import _compare

    text = _compare(faster, best)
    gains, costs = text.split("; it costs ")
    assert "perplexity 25.71 -> 25.61 (-0.4%)" in gains and "1.80x as fast" in gains
    assert "KL divergence of 0.0900" in costs and "perplexity" not in costs


def test_equal_perplexity_within_its_error_goes_to_the_faster_variant():
    precise = variant("F16", 8.0, 0.0, 10.00, 15.0, reference=True)
    close = variant("Q8_0", 14.0, 0.002, 10.02, 8.5)
    precise = type(precise)(**{**precise.__dict__, "perplexity_error": 0.05})
    close = type(close)(**{**close.__dict__, "perplexity_error": 0.05})
    advice = recommend([precise, close])
    assert advice.choice is close and advice.best is precise
    assert "as good as F16.gguf's within the measurement error" in advice.text


def bare(name, **figures):
    return ModelResult(f"/m/{name}.gguf", f"{name}.gguf", name, 1, 1, RunConfig(),
                       backend="CPU (2 threads)", **figures)  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        # One model: nothing to compare it with.
        ([variant("F16", 8.0, 0.0, 10.0, 15.0, reference=True)], "Only F16.gguf was measured"),
        # Quality skipped (text too short) and speed not asked: no figure at all.
        ([bare("Q8_0"), bare("Q4_0")], "Nothing comparable was measured"),
        # A stopped run: one has speed, the other only quality.
        (
            [bare("Q8_0", gen_tokens_per_s=Spread(9, 9, 9)), bare("Q4_0", perplexity=12.0)],
            "Nothing comparable was measured",
        ),
    ],
)
def test_with_nothing_comparable_no_winner_is_named(rows, said):
    advice = recommend(rows)
    assert advice.choice is None and advice.text.startswith(said)
    assert "Use " not in advice.text and "best variant" not in advice.text


def test_with_speed_alone_the_choice_says_what_it_rests_on():
    rows = [bare("Q8_0", gen_tokens_per_s=Spread(9, 9, 9)),
            bare("Q4_0", gen_tokens_per_s=Spread(15, 15, 15))]  # fmt: skip
    advice = recommend(rows)
    assert advice.choice.name == "Q4_0.gguf" and "on speed alone" in advice.text
