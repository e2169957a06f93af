"""From measurements to a choice: the speed/quality Pareto front and a recommendation in words.

The front judges quality by the figure most candidates have, the strongest in a tie: KL
divergence from the reference (lower is better), perplexity (lower is better), the task score
(higher is better); the per-token ones only among the models of the reference's vocabulary.
Candidates without that figure are left off the front, and a chart says why
(`speed_quality_points`). Speed is generation tokens/s (median). A variant is on the Pareto front
when no other one is at least as fast and at least as good, and better in one of the two. The
recommendation ranks on figures measured alike for every model (see `recommend`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import HearthError
from engine.lab.results import ModelResult
from engine.storage import size_text

GB = 1e9
GIB = 2**30


@dataclass(frozen=True)
class Constraint:
    """A limit a variant must meet, e.g. generation >= 20 tokens/s or RAM used <= 8 GB.

    Attributes:
        metric: "gen_tokens_per_s", "prompt_tokens_per_s", "ttft_s", "model_ram_bytes" (the
            model's own memory, see `ModelResult.ram_used`),
            "peak_vram_bytes", "file_size", "perplexity", "kl_divergence", "top1_agreement" or
            "task_score".
        at_least: True for a lower bound, False for an upper bound.
        value: In the metric's unit (bytes, seconds, tokens/s, share).
        text: How the person wrote it.
    """

    metric: str
    at_least: bool
    value: float
    text: str

    def holds(self, result: ModelResult) -> bool:
        measured = metric_value(result, self.metric)
        if measured is None:
            return False
        return measured >= self.value if self.at_least else measured <= self.value


_UNITS = {"gb": GB, "g": GB, "gib": GIB, "mb": 1e6, "m": 1e6, "mib": 2**20, "tb": 1e12}
_LOWER = r"(?:at least|min(?:imum)?|over|above|more than|>=?|≥)"
_UPPER = r"(?:at most|max(?:imum)?|under|below|less than|within|<=?|≤)"
_NUMBER = r"(\d+(?:[.,]\d+)?)"
# Words a constraint may hold besides its bound and number: what to limit and its unit. Anything
# else is refused, so that "under 1 GB fast" is not read as "under 1 GB" with "fast" dropped.
_KNOWN_WORDS = re.compile(
    r"tok(?:en)?s?\s*/\s*s(?:ec(?:ond)?)?|t/s|tok(?:en)?s?\s+(?:per|a)\s+second|top[- ]?1"
    r"|\b(?:time|to|first|token|prompt|prefill|generation|gen|speed|ttft|ms|s|sec|seconds"
    r"|ram|vram|gpu|memory|mem|peak|used|file|disk|size|kl|kld|divergence|perplexity|ppl|top"
    r"|agreement|task|score|of|the|" + "|".join(_UNITS) + r")\b"
)
CONSTRAINT_EXAMPLES = (
    '"at least 20 tokens/s", "under 8 GB", "under 6 GB VRAM", "TTFT under 500 ms", '
    '"KL under 0.05", "top-1 at least 90%"'
)


def parse_constraint(text: str) -> Constraint:
    """Read a constraint as a person writes it.

    Understands speeds ("at least 20 tokens/s", ">= 20 tok/s", "prompt over 500 tokens/s"),
    memory ("under 8 GB", "below 6 GiB VRAM", "file under 4 GB"), time to first token
    ("TTFT under 500 ms"), and quality ("KL under 0.05", "perplexity below 20",
    "top-1 at least 90%", "task score over 0.8").

    Raises:
        HearthError: not understood; the hint gives examples.
    """
    clean = " ".join(text.strip().lower().split())
    bound = re.search(rf"(?<!\w)(?:{_LOWER}|{_UPPER})", clean)
    # The number after the bound: "top-1 at least 90%" limits to 90, not 1.
    number = re.search(_NUMBER, clean[bound.end() :]) if bound else None
    if not bound or not number:
        raise HearthError(f"'{text}' is not a constraint Hearth understands.",
                          f"Write it like {CONSTRAINT_EXAMPLES}.")  # fmt: skip
    at_least = re.fullmatch(_LOWER, bound.group(0)) is not None
    value = float(number.group(1).replace(",", "."))
    after = clean[bound.end() + number.end() :].strip()
    rest = " ".join((clean[: bound.start()], clean[bound.end() : bound.end() + number.start()],
                     after.removeprefix("%")))  # fmt: skip
    unknown = re.findall(r"[^\s,;:!?]+", _KNOWN_WORDS.sub(" ", rest))
    if unknown:
        words = ", ".join(f"'{word}'" for word in unknown)
        raise HearthError(f"Hearth does not understand {words} in the constraint '{text.strip()}'.",
                          f"Write it like {CONSTRAINT_EXAMPLES}.")  # fmt: skip
    unit = re.match(r"([a-z]+)", after)
    unit_word = unit.group(1) if unit else ""
    percent = after.startswith("%")
    if re.search(r"tok(en)?s?\s*/\s*s|tok(en)?s? per second|t/s", clean):
        metric = (
            "prompt_tokens_per_s" if re.search(r"prompt|prefill", clean) else "gen_tokens_per_s"
        )
    elif "ttft" in clean or "first token" in clean:
        metric = "ttft_s"
        value = value / 1000 if unit_word == "ms" else value
    elif unit_word in _UNITS:
        value *= _UNITS[unit_word]
        if "vram" in clean or "gpu" in clean:
            metric = "peak_vram_bytes"
        elif "file" in clean or "disk" in clean or "size" in clean:
            metric = "file_size"
        else:
            metric = "model_ram_bytes"
    elif re.search(r"\bkl\b|kld|divergence", clean):
        metric = "kl_divergence"
    elif "perplexity" in clean or re.search(r"\bppl\b", clean):
        metric = "perplexity"
    elif "top" in clean or "agreement" in clean:
        metric = "top1_agreement"
        value = value / 100 if percent or value > 1 else value
    elif "task" in clean or "score" in clean:
        metric = "task_score"
        value = value / 100 if percent or value > 1 else value
    else:
        raise HearthError(f"'{text}' does not say what to limit.",
                          f"Write it like {CONSTRAINT_EXAMPLES}.")  # fmt: skip
    return Constraint(metric, at_least, value, text.strip())


def metric_value(result: ModelResult, metric: str) -> float | None:
    """The median (or single value) of `metric` for `result`; None when not measured."""
    if metric == "prompt_tokens_per_s":
        spread = result.prompt_speed
        return spread.median if spread else None
    # The model's own memory; the process peak only in results saved before it was measured.
    value: Any = result.ram_used if metric == "model_ram_bytes" else getattr(result, metric)
    if value is None:
        return None
    return float(value.median) if hasattr(value, "median") else float(value)


# Figures counted per token: comparable only between models of one vocabulary (see `vocab`).
PER_TOKEN_METRICS = ("perplexity", "kl_divergence", "top1_agreement")


def quality_comparable(results: Sequence[ModelResult]) -> bool:
    """Whether the per-token quality figures of `results` compare: no measured one has another
    vocabulary than the reference's. Every view asks this before comparing them."""
    return not any(r.same_vocabulary is False and not r.error for r in results)


def incomparable_reason(results: Sequence[ModelResult]) -> str:
    """Why the quality of `results` does not compare, in words; "" when it does."""
    others = [r for r in results if r.same_vocabulary is False and not r.error]
    if not others:
        return ""
    reference = next((r for r in results if r.is_reference), None)
    names = " and ".join(r.label for r in others)
    sizes = ""
    if reference is not None and reference.vocabulary_size:
        counts = ", ".join(f"{r.vocabulary_size:,}" for r in others if r.vocabulary_size)
        sizes = f" ({counts} tokens against {reference.vocabulary_size:,})" if counts else ""
    against = f" {reference.label}'s" if reference is not None else " the reference's"
    return (
        f"{names} {'has' if len(others) == 1 else 'have'} another vocabulary than{against}"
        f"{sizes}: a different vocabulary cuts the text into different tokens, so perplexity, "
        "KL divergence and top-1 agreement are not comparable between them."
    )


def comparable_results(results: Sequence[ModelResult]) -> list[ModelResult]:
    """The measured `results` whose per-token quality figures compare with each other: all of
    them when none has another vocabulary than the reference's; else those of the reference's
    vocabulary, when there are two or more (one alone compares with nothing)."""
    measured = [r for r in results if not r.error]
    group = [r for r in measured if r.same_vocabulary is not False]
    return group if len(group) == len(measured) or len(group) > 1 else []


# Quality figures a speed/quality front can judge by, strongest first, with their names in words.
QUALITY_METRICS = {"kl_divergence": "KL divergence", "perplexity": "perplexity",
                   "task_score": "task score"}  # fmt: skip


def with_quality(results: Sequence[ModelResult], metric: str) -> list[ModelResult]:
    """The measured `results` that have `metric` as a finite number and, for a per-token figure,
    that compare on it (`comparable_results`)."""
    pool = comparable_results(results) if metric in PER_TOKEN_METRICS else results
    return [
        r
        for r in pool
        if not r.error and (value := metric_value(r, metric)) is not None and math.isfinite(value)
    ]


def quality_metric(results: Sequence[ModelResult]) -> str | None:
    """The quality figure to judge `results` by: of KL divergence, perplexity and task score,
    the one most of them have (`with_quality`), the strongest of those in a tie. A figure some
    lack is still used for the others; None when none has any."""
    counts = {metric: len(with_quality(results, metric)) for metric in QUALITY_METRICS}
    metric = max(counts, key=lambda m: counts[m])  # the first of the largest
    return metric if counts[metric] else None


def _loss(metric: str) -> Callable[[ModelResult], float]:
    """What to minimise for `metric` (task score and speed are better when higher)."""
    sign = -1.0 if metric in ("task_score", "gen_tokens_per_s") else 1.0
    return lambda result: sign * (metric_value(result, metric) or 0.0)


def pareto_front(results: Sequence[ModelResult], metric: str | None = None) -> list[ModelResult]:
    """Variants no other beats on both generation speed and quality, fastest first.

    Args:
        metric: Quality figure to use; `quality_metric(results)` when None.
    """
    candidates = [r for r in results if not r.error and _has_speed(r)]
    metric = metric or quality_metric(candidates)
    if metric is None:
        return []
    candidates = with_quality(candidates, metric)
    loss = _loss(metric)

    def speed(result: ModelResult) -> float:
        assert result.gen_tokens_per_s is not None
        return result.gen_tokens_per_s.median

    front = [
        r
        for r in candidates
        if not any(
            speed(o) >= speed(r)
            and loss(o) <= loss(r)
            and (speed(o) > speed(r) or loss(o) < loss(r))
            for o in candidates
        )
    ]
    return sorted(front, key=speed, reverse=True)


def _has_speed(result: ModelResult) -> bool:
    """A generation speed whose median and range are numbers to compare and plot."""
    spread = result.gen_tokens_per_s
    return spread is not None and all(map(math.isfinite, (spread.median, spread.low, spread.high)))


def speed_quality_points(
    results: Sequence[ModelResult], metric: str | None
) -> tuple[list[int], list[str]]:
    """Which of `results` a chart of generation speed against `metric` places, and why it
    leaves off the others, so that a figure some rows lack never blanks the chart.

    Args:
        metric: The quality figure on the chart (see `quality_metric`); None for none.

    Returns:
        The indices into `results` of the rows with a generation speed and a comparable
        `metric` (those `pareto_front` judges), in order; and for each other row one sentence
        in words, e.g. "gemma.gguf is not plotted: its vocabulary differs from the
        reference's, so its KL divergence cannot be measured against it." Both are empty
        when `metric` is None.
    """
    if metric is None:
        return [], []
    rows = list(results)
    timed = [r for r in rows if not r.error and _has_speed(r)]
    placed = {id(r) for r in with_quality(timed, metric)}  # rows hold dicts: not hashable
    what = QUALITY_METRICS.get(metric, metric.replace("_", " "))
    indices: list[int] = []
    left_off: list[str] = []
    for index, result in enumerate(rows):
        if id(result) in placed:
            indices.append(index)
            continue
        value = metric_value(result, metric)
        if result.error:
            why = "its run failed"
        elif not _has_speed(result):
            why = "its generation speed was not measured"
        elif metric in PER_TOKEN_METRICS and result.same_vocabulary is False:
            why = "its vocabulary differs from the reference's, so its " + (
                "KL divergence cannot be measured against it"
                if metric == "kl_divergence"
                else f"{what} is counted in other tokens and does not compare"
            )
        elif value is None:
            why = f"its {what} was not measured"
        elif not math.isfinite(value):
            why = f"its {what} came out as {value}, not a number that can be plotted"
        else:
            why = f"its {what} has no other of its vocabulary to compare with"
        left_off.append(f"{result.label} is not plotted: {why}.")
    return indices, left_off


@dataclass(frozen=True)
class Recommendation:
    """The variant to use under the constraints, the best one, and why, in words.

    Attributes:
        choice: The variant to use; None when none meets the constraints or nothing
            comparable was measured.
        best: The best variant measured on `metric`, whatever its cost.
        text: The recommendation as a person reads it.
        metric: What the choice rests on: "perplexity" or "task_score" (then speed), or
            "gen_tokens_per_s" alone; None when nothing comparable was measured.
    """

    choice: ModelResult | None
    best: ModelResult | None
    text: str
    metric: str | None


# Figures measured the same way for every model, in the order they decide. KL divergence and
# top-1 agreement are not among them: they are measured against the reference, which scores a
# perfect 0 and 100% against itself and would always win.
RANKING_METRICS = ("perplexity", "task_score", "gen_tokens_per_s")
_BEST_WORDS = {
    "perplexity": "the lowest perplexity",
    "task_score": "the highest task score",
    "gen_tokens_per_s": "the fastest generation",
}


def ranking_metric(results: Sequence[ModelResult]) -> str | None:
    """The first of `RANKING_METRICS` every one of `results` has and that compares between
    them (perplexity only within one vocabulary); None when none is shared."""
    comparable = quality_comparable(results)
    for metric in RANKING_METRICS:
        if metric in PER_TOKEN_METRICS and not comparable:
            continue
        if results and all(metric_value(r, metric) is not None for r in results):
            return metric
    return None


def recommend(
    results: Sequence[ModelResult], constraints: Sequence[Constraint] = ()
) -> Recommendation:
    """Pick the variant to use under `constraints` and say what it gives and costs.

    Quality is perplexity (else the task score), measured alike for every model; perplexity
    only when all share one vocabulary (`quality_comparable`), else the text says why. Variants whose
    quality is the best one's within the measurement error count as equally good, and the
    fastest of them (then the smallest in memory) is chosen. Without a quality figure, the
    fastest is chosen and the text says so. With fewer than two models measured alike, nothing
    is chosen: there is nothing to compare.
    """
    usable = [r for r in results if not r.error]
    if not usable:
        return Recommendation(None, None, "Nothing was measured successfully.", None)
    if len(usable) == 1:
        text = (f"Only {usable[0].label} was measured: there is nothing to compare it with, "
                "so there is no recommendation.")  # fmt: skip
        return Recommendation(None, None, text, None)
    metric = ranking_metric(usable)
    reason = incomparable_reason(usable)
    if metric is None:
        text = (
            "Nothing comparable was measured: no figure (perplexity, task score or generation "
            "speed) was measured for every model, so there is no recommendation. "
            "A stopped run or a text too short for one chunk leaves figures out."
        )
        if reason:
            text = f"Nothing comparable was measured: {reason} No speed was measured either."
        return Recommendation(None, None, text, None)

    def rank(result: ModelResult) -> tuple[float, float, float]:
        speed = metric_value(result, "gen_tokens_per_s") or 0.0
        memory = metric_value(result, "model_ram_bytes") or 0.0
        return _loss(metric)(result), -speed, memory

    best = min(usable, key=rank)
    allowed = [r for r in usable if all(c.holds(r) for c in constraints)]
    limits = " and ".join(f"'{c.text}'" for c in constraints)
    if not allowed:
        closest = _closest(usable, constraints)
        text = f"No variant meets {limits}."
        if closest is not None:
            text += f" The closest is {closest.label}: {_figures(closest, not reason)}."
        return Recommendation(None, best, text, metric)
    top = min(allowed, key=rank)
    choice = min((r for r in allowed if _as_good(r, top, metric)), key=lambda r: rank(r)[1:])
    comparable = not reason
    opening = f"Under {limits}, use {choice.label}" if constraints else f"Use {choice.label}"
    text = f"{opening}: {_figures(choice, comparable)}."
    best_words = _BEST_WORDS[metric]
    if metric == "gen_tokens_per_s" and reason:
        text += f" Chosen on speed, then memory, not on quality: {reason}"
    elif metric == "gen_tokens_per_s":
        text += " Chosen on speed alone: no quality figure was measured for every model."
    if choice is best:
        text += f" It has {best_words} measured."
    else:
        if choice is not top:
            text += (f" Its {metric.replace('_', ' ')} is as good as {top.label}'s within the "
                     "measurement error, and it is faster.")  # fmt: skip
        text += (f" Against {best.label}, with {best_words} measured, "
                 f"{_compare(choice, best, comparable)}.")  # fmt: skip
    return Recommendation(choice, best, text, metric)


def _as_good(result: ModelResult, top: ModelResult, metric: str) -> bool:
    """`result`'s quality equals `top`'s within their measurement errors (perplexity's known)."""
    if metric == "gen_tokens_per_s":
        return result is top
    if metric != "perplexity" or result.perplexity_error is None or top.perplexity_error is None:
        return _loss(metric)(result) == _loss(metric)(top)
    margin = (result.perplexity_error**2 + top.perplexity_error**2) ** 0.5
    return _loss(metric)(result) - _loss(metric)(top) <= margin


def _closest(
    results: Sequence[ModelResult], constraints: Sequence[Constraint]
) -> ModelResult | None:
    """The variant that misses the constraints by the smallest relative amount."""

    def miss(result: ModelResult) -> float:
        total = 0.0
        for constraint in constraints:
            value = metric_value(result, constraint.metric)
            if value is None:
                return float("inf")
            gap = constraint.value - value if constraint.at_least else value - constraint.value
            total += max(0.0, gap) / max(abs(constraint.value), 1e-12)
        return total

    ranked = sorted(results, key=miss)
    return ranked[0] if ranked and miss(ranked[0]) != float("inf") else None


def _figures(result: ModelResult, comparable: bool = True) -> str:
    """`result`'s figures in words; its per-token quality only where it compares."""
    parts = []
    if result.gen_tokens_per_s is not None:
        parts.append(f"{result.gen_tokens_per_s.median:.1f} tokens/s")
    if result.ram_used is not None:
        parts.append(f"{size_text(result.ram_used.median)} RAM used")
    if result.peak_vram_bytes is not None and result.peak_vram_bytes.median:
        parts.append(f"{size_text(result.peak_vram_bytes.median)} VRAM")
    if result.kl_divergence is not None and not result.is_reference and comparable:
        parts.append(f"KL divergence {result.kl_divergence:.4f}")
    if result.perplexity is not None and comparable:
        parts.append(f"perplexity {result.perplexity:.2f}")
    if result.task_score is not None:
        parts.append(f"task score {result.task_score:.0%}")
    parts.append(f"on {result.backend}")
    return ", ".join(parts)


def _compare(choice: ModelResult, best: ModelResult, comparable: bool = True) -> str:
    """What `choice` gives and what it costs against `best`, in words: "it is 2.10x as fast,
    ...; it costs perplexity 10.00 -> 10.30 (+3.0%)". A figure better than `best`'s is a gain.
    Per-token quality is left out when it does not compare (`quality_comparable`)."""
    gains: list[str] = []
    costs: list[str] = []
    choice_speed = metric_value(choice, "gen_tokens_per_s")
    best_speed = metric_value(best, "gen_tokens_per_s")
    if choice_speed and best_speed:
        ratio = choice_speed / best_speed
        if ratio >= 1:
            gains.append(f"it is {ratio:.2f}x as fast")
        else:
            costs.append(f"speed ({ratio:.2f}x the speed)")
    choice_ram = metric_value(choice, "model_ram_bytes")
    best_ram = metric_value(best, "model_ram_bytes")
    if choice_ram is not None and best_ram is not None:
        saved = best_ram - choice_ram
        if saved >= 0:
            gains.append(f"uses {size_text(saved)} less memory")
        else:
            costs.append(f"{size_text(-saved)} more memory")
    if choice.file_size and best.file_size:
        share = choice.file_size / best.file_size
        if share <= 1:
            gains.append(f"its file is {share:.0%} of the size")
        else:
            costs.append(f"a file {share:.2f}x the size")
    if choice.perplexity is not None and best.perplexity is not None and comparable:
        change = (choice.perplexity / best.perplexity - 1) * 100
        figure = f"perplexity {best.perplexity:.2f} -> {choice.perplexity:.2f} ({change:+.1f}%)"
        (gains if choice.perplexity <= best.perplexity else costs).append(figure)
    if choice.task_score is not None and best.task_score is not None:
        figure = f"task score {best.task_score:.0%} -> {choice.task_score:.0%}"
        (gains if choice.task_score >= best.task_score else costs).append(figure)
    if choice.kl_divergence is not None and not choice.is_reference and comparable:
        costs.append(f"a KL divergence of {choice.kl_divergence:.4f} from the reference")
    if choice.top1_agreement is not None and not choice.is_reference and comparable:
        costs.append(f"a top-1 agreement of {choice.top1_agreement:.1%}")
    text = ", ".join(gains)
    if costs:
        text += ("; it costs " if text else "it costs ") + ", ".join(costs)
    return text or "it measures about the same"
