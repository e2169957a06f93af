"""What a running lab job reports: progress with time left, and notices worth showing a person.

A job (quantization or benchmark) is a generator that yields these frozen records and ends with its
result record; a window forwards them as they come, a terminal prints them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class LabProgress:
    """Where a job stands.

    Attributes:
        step: 1-based number of the step now running (a tensor while quantizing, a measurement
            while benchmarking).
        total_steps: How many steps the job has.
        label: What the step does, in words ("gemma-3-270m-Q8_0: prompt of 512 tokens").
        fraction: Share of the whole job done, 0.0 to 1.0 (weighted by expected cost, so it moves
            evenly even when steps differ in length).
        elapsed_s: Seconds since the job started.
        eta_s: Estimated seconds left; None until enough is done to estimate.
        model: The model file the step works on, if any.
    """

    step: int
    total_steps: int
    label: str
    fraction: float
    elapsed_s: float
    eta_s: float | None
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LabNotice:
    """Something a person should know about the run: a warning, or a measurement that was skipped."""

    message: str
    level: Literal["info", "warning"] = "info"
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LabCancelled(Exception):
    """Raised inside a measurement when its cancel token is set; the job stops cleanly."""


class ProgressClock:
    """Turns work done into a fraction and a time left.

    Each step has a weight (its expected cost in any unit); the time left is the elapsed time
    scaled by the weight still to do, once at least `min_fraction` of the weight is done.
    """

    def __init__(self, total_weight: float, total_steps: int, min_fraction: float = 0.02) -> None:
        self.total_weight = max(float(total_weight), 1e-9)
        self.total_steps = total_steps
        self.min_fraction = min_fraction
        self.started = time.monotonic()
        self.done_weight = 0.0
        self.step = 0

    def advance(self, weight: float) -> None:
        """Count `weight` as done."""
        self.done_weight = min(self.total_weight, self.done_weight + weight)

    def progress(self, label: str, model: str = "", partial: float = 0.0) -> LabProgress:
        """A progress record for the step now starting or running.

        Args:
            partial: Weight of the current step already done (not yet passed to `advance`).
        """
        elapsed = time.monotonic() - self.started
        done = min(self.total_weight, self.done_weight + partial)
        fraction = done / self.total_weight
        eta = elapsed * (1 - fraction) / fraction if fraction >= self.min_fraction else None
        return LabProgress(
            step=max(1, min(self.step, self.total_steps)),
            total_steps=self.total_steps,
            label=label,
            fraction=round(fraction, 4),
            elapsed_s=round(elapsed, 2),
            eta_s=round(eta, 1) if eta is not None else None,
            model=model,
        )
