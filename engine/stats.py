"""The record that ends every generation stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

StopReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True)
class GenerationStats:
    """Numbers for one reply, as the gauges and `hearth chat --json` show them.

    `cached_tokens` is the part of the prompt taken from the KV cache of earlier turns;
    `evaluated_tokens` the part that had to be computed now. `counts_estimated` is True when a
    remote server reported no token usage, so the counts are the client's own.
    """

    prompt_tokens: int
    cached_tokens: int
    generated_tokens: int
    ttft_s: float
    prompt_tokens_per_s: float
    generation_tokens_per_s: float
    stop_reason: StopReason
    template: Literal["model", "fallback"] = "model"
    drafted_tokens: int = 0
    accepted_draft_tokens: int = 0
    error: str = ""
    counts_estimated: bool = False

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evaluated_tokens"] = self.evaluated_tokens
        return data

    @classmethod
    def ended(cls, stop_reason: StopReason, error: str = "") -> GenerationStats:
        """The record of a reply that ended before the model wrote anything (stopped, failed)."""
        return cls(0, 0, 0, 0.0, 0.0, 0.0, stop_reason, error=error)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationStats:
        """The record back from `to_dict()` output, as stored with a chat message.

        Keys it does not know are ignored and missing numbers are 0, so records written by older
        versions still load; an unknown stop reason reads as "stop".
        """
        names = {f.name for f in fields(cls)}
        given = {key: value for key, value in data.items() if key in names and value is not None}
        values = {**_REQUIRED_ZEROS, **given}
        if values["stop_reason"] not in get_args(StopReason):
            values["stop_reason"] = "stop"
        return cls(**values)


# What `from_dict` assumes for a required field the stored record lacks.
_REQUIRED_ZEROS: dict[str, Any] = {
    "prompt_tokens": 0,
    "cached_tokens": 0,
    "generated_tokens": 0,
    "ttft_s": 0.0,
    "prompt_tokens_per_s": 0.0,
    "generation_tokens_per_s": 0.0,
    "stop_reason": "stop",
}
