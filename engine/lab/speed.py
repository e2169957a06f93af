"""Speed of a loaded model, measured the way llama.cpp's `llama-bench` does.

- Prompt processing (prefill): tokens/s to evaluate a prompt of N tokens from an empty cache, in
  batches of the context's `n_batch` (llama-bench's "pp N").
- Generation: tokens/s decoding one token at a time after a prompt (llama-bench's "tg N"), each
  token picked greedily, so the figure is the decode loop without sampling extras.
- Time to first token: from the start of the prompt to the first token picked, with an empty cache.

Prompt tokens are taken from a real text, repeated as needed: speed does not depend on the words.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.lab.evaluate import TokenEvaluator


@dataclass(frozen=True)
class GenerationTiming:
    """One generation run: time to first token and tokens/s after it."""

    ttft_s: float
    tokens_per_s: float
    tokens: int


def filler_tokens(source: Sequence[int], count: int) -> list[int]:
    """`count` tokens taken from `source`, repeated if it is shorter."""
    if not source:
        raise ValueError("no tokens to build a prompt from")
    repeats = -(-count // len(source))
    return (list(source) * repeats)[:count]


def prompt_tokens_per_s(evaluator: TokenEvaluator, tokens: Sequence[int]) -> float:
    """Prefill speed for `tokens` from an empty cache, in tokens/s.

    Raises:
        RuntimeError: llama.cpp could not decode (the prompt does not fit the context).
    """
    seconds = evaluator.timed_prefill(tokens)
    evaluator.clear()
    return len(tokens) / seconds if seconds > 0 else 0.0


def generation(evaluator: TokenEvaluator, prompt: Sequence[int], n_tokens: int) -> GenerationTiming:
    """Evaluate `prompt`, then decode `n_tokens` greedily, one at a time.

    Tokens/s counts the tokens after the first, whose time belongs to the prompt (as in the
    engine's `GenerationStats`).

    Raises:
        RuntimeError: llama.cpp could not decode (no room left in the context).
    """
    if len(prompt) + n_tokens > evaluator.n_ctx:
        raise RuntimeError("prompt and generated tokens do not fit the context")
    evaluator.clear()
    started = time.perf_counter()
    evaluator.prefill(prompt)
    token = evaluator.sample_greedy()
    first_at = time.perf_counter()
    position = len(prompt)
    for _ in range(n_tokens - 1):
        evaluator.decode((token,), position)
        position += 1
        token = evaluator.sample_greedy()
    evaluator.synchronize()
    ended = time.perf_counter()
    evaluator.clear()
    rate = (n_tokens - 1) / (ended - first_at) if n_tokens > 1 and ended > first_at else 0.0
    return GenerationTiming(ttft_s=first_at - started, tokens_per_s=rate, tokens=n_tokens)
