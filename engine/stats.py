"""The record that ends every generation stream."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

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
