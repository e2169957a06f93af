"""From measurements to a choice: the speed/quality Pareto front and a recommendation in words.

Quality is judged by the strongest figure every candidate has: KL divergence from the reference
(lower is better), else perplexity (lower is better), else the task score (higher is better).
Speed is generation tokens/s (median). A variant is on the Pareto front when no other one is at
least as fast and at least as good, and better in one of the two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.errors import HearthError
from engine.lab.results import ModelResult

GB = 1e9
GIB = 2**30


@dataclass(frozen=True)
class Constraint:
    """A limit a variant must meet, e.g. generation >= 20 tokens/s or peak RAM <= 8 GB.

    Attributes:
        metric: "gen_tokens_per_s", "prompt_tokens_per_s", "ttft_s", "peak_ram_bytes",
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
            metric = "peak_ram_bytes"
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
    value = getattr(result, metric)
    if value is None:
        return None
    return float(value.median) if hasattr(value, "median") else float(value)


def quality_metric(results: Sequence[ModelResult]) -> str | None:
    """The quality figure every candidate has: KL divergence, perplexity or task score."""
    for metric in ("kl_divergence", "perplexity", "task_score"):
        if results and all(getattr(r, metric) is not None for r in results):
            return metric
    return None


def _loss(metric: str) -> Callable[[ModelResult], float]:
    """Quality loss to minimise for `metric` (task score is better when higher)."""
    sign = -1.0 if metric == "task_score" else 1.0
    return lambda result: sign * float(getattr(result, metric))


def pareto_front(results: Sequence[ModelResult], metric: str | None = None) -> list[ModelResult]:
    """Variants no other beats on both generation speed and quality, fastest first.

    Args:
        metric: Quality figure to use; `quality_metric(results)` when None.
    """
    candidates = [r for r in results if not r.error and r.gen_tokens_per_s is not None]
    metric = metric or quality_metric(candidates)
    if metric is None:
        return []
    candidates = [r for r in candidates if getattr(r, metric) is not None]
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


@dataclass(frozen=True)
class Recommendation:
    """The variant to use under the constraints, the best one, and why, in words.

    Attributes:
        choice: The best-quality variant that meets every constraint; None when none does.
        best: The best-quality variant measured, whatever its cost.
        text: The recommendation as a person reads it.
        metric: The quality figure compared.
    """

    choice: ModelResult | None
    best: ModelResult | None
    text: str
    metric: str | None


def recommend(
    results: Sequence[ModelResult], constraints: Sequence[Constraint] = ()
) -> Recommendation:
    """Pick the best-quality variant that meets all constraints and say what it costs.

    Ties in quality go to the faster variant. Without a quality figure the fastest qualifying
    variant is chosen.
    """
    usable = [r for r in results if not r.error]
    if not usable:
        return Recommendation(None, None, "Nothing was measured successfully.", None)
    metric = quality_metric(usable)

    def rank(result: ModelResult) -> tuple[float, float]:
        quality = _loss(metric)(result) if metric else 0.0
        speed = metric_value(result, "gen_tokens_per_s") or 0.0
        return quality, -speed

    best = min(usable, key=rank)
    allowed = [r for r in usable if all(c.holds(r) for c in constraints)]
    limits = " and ".join(f"'{c.text}'" for c in constraints)
    if not allowed:
        closest = _closest(usable, constraints)
        text = f"No variant meets {limits}."
        if closest is not None:
            text += f" The closest is {closest.label}: {_figures(closest)}."
        return Recommendation(None, best, text, metric)
    choice = min(allowed, key=rank)
    opening = f"Under {limits}, use {choice.label}" if constraints else f"Use {choice.label}"
    text = f"{opening}: {_figures(choice)}."
    if choice is best:
        text += " It is also the best variant measured."
    else:
        text += f" Against {best.label}, the best measured, {_costs(choice, best, metric)}."
    return Recommendation(choice, best, text, metric)


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


def _figures(result: ModelResult) -> str:
    parts = []
    if result.gen_tokens_per_s is not None:
        parts.append(f"{result.gen_tokens_per_s.median:.1f} tokens/s")
    if result.peak_ram_bytes is not None:
        parts.append(f"{result.peak_ram_bytes.median / GB:.2f} GB peak RAM")
    if result.peak_vram_bytes is not None and result.peak_vram_bytes.median:
        parts.append(f"{result.peak_vram_bytes.median / GB:.2f} GB VRAM")
    if result.kl_divergence is not None and not result.is_reference:
        parts.append(f"KL divergence {result.kl_divergence:.4f}")
    if result.perplexity is not None:
        parts.append(f"perplexity {result.perplexity:.2f}")
    if result.task_score is not None:
        parts.append(f"task score {result.task_score:.0%}")
    parts.append(f"on {result.backend}")
    return ", ".join(parts)


def _costs(choice: ModelResult, best: ModelResult, metric: str | None) -> str:
    """What `choice` gives and costs compared with `best`, in words."""
    gains = []
    choice_speed = metric_value(choice, "gen_tokens_per_s")
    best_speed = metric_value(best, "gen_tokens_per_s")
    if choice_speed and best_speed:
        gains.append(f"it is {choice_speed / best_speed:.2f}x as fast")
    choice_ram = metric_value(choice, "peak_ram_bytes")
    best_ram = metric_value(best, "peak_ram_bytes")
    if choice_ram is not None and best_ram is not None:
        saved = best_ram - choice_ram
        word = "less" if saved >= 0 else "more"
        gains.append(f"uses {abs(saved) / GB:.2f} GB {word} memory")
    if choice.file_size and best.file_size:
        gains.append(f"its file is {choice.file_size / best.file_size:.0%} of the size")
    costs = []
    if choice.perplexity is not None and best.perplexity is not None:
        change = (choice.perplexity / best.perplexity - 1) * 100
        costs.append(
            f"perplexity {best.perplexity:.2f} -> {choice.perplexity:.2f} ({change:+.1f}%)"
        )
    if metric == "kl_divergence" and choice.kl_divergence is not None:
        costs.append(f"a KL divergence of {choice.kl_divergence:.4f} from the reference")
    if choice.top1_agreement is not None and not choice.is_reference:
        costs.append(f"the same top token {choice.top1_agreement:.1%} of the time")
    if choice.task_score is not None and best.task_score is not None:
        costs.append(f"task score {best.task_score:.0%} -> {choice.task_score:.0%}")
    text = ", ".join(gains) or "it measures about the same"
    if costs:
        text += "; it costs " + ", ".join(costs)
    return text
