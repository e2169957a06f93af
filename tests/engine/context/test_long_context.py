"""A 128K window on the tiny model: it loads at 131072, a chat goes past 120K tokens through the
manager with the KV cache reused turn after turn, and the overflow past the window is handled."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.context.manager import ContextFullError, ContextManager, ContextSettings
from engine.context.turn import TurnRequest
from engine.gguf_info import read_model_info
from engine.memory.estimate import estimate_memory
from engine.session import LoadSettings, ModelSession, SamplingSettings
from engine.stats import GenerationStats

N_CTX = 131072
SYSTEM = "You are a tiny test model."
REPLY = SamplingSettings(temperature=0, max_tokens=4, repeat_penalty=1.0)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(tiny_model_path):
    session = ModelSession()
    # Flash attention keeps the compute buffer to the KQ mask; a large batch makes prefill cheap.
    session.load(LoadSettings(model_path=str(tiny_model_path), n_ctx=N_CTX, n_batch=2048,
                              flash_attn=True, n_gpu_layers=0))  # fmt: skip
    yield session
    session.unload()


def exchanges(start: int, count: int, size: int) -> list[dict[str, str]]:
    """`count` exchanges of about `size` tokens each (the tiny vocabulary is mostly bytes)."""
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    body = (words * (size // len(words) + 1))[: size // 2]
    history = []
    for i in range(start, start + count):
        history.append({"role": "user", "content": f"q{i} {body}"})
        history.append({"role": "assistant", "content": f"a{i} {body}"})
    return history


def answer(manager, plan):
    stats = None
    for item in manager.chat(plan, REPLY):
        if isinstance(item, GenerationStats):
            stats = item
    assert stats is not None and stats.stop_reason != "error", stats
    assert stats.prompt_tokens + stats.generated_tokens <= N_CTX
    return stats


def test_loads_at_128k_and_the_estimate_matches_the_allocation(session, tiny_model_path):
    assert session.n_ctx == N_CTX
    info = read_model_info(tiny_model_path)
    estimate = estimate_memory(info, N_CTX, flash_attn=True, n_batch=2048)
    actual = session.allocation
    assert abs(estimate.total - actual.total) <= 0.10 * actual.total
    assert abs(estimate.kv - actual.part("kv_cache")) <= 0.01 * 2**20


def test_a_chat_goes_past_120k_tokens_and_overflow_is_handled(session):
    manager = ContextManager(session, ContextSettings(policy="sliding_window"))
    size = session.prompt_tokens([{"role": "user", "content": exchanges(0, 1, 3000)[0]["content"]}])
    assert 1000 < len(size) < 2500, "calibrate: one message is about 1,500 tokens"

    # Two turns, of about 56K and 123K tokens; the second reuses the first from the KV cache.
    history = exchanges(0, 20, 3000)
    first = manager.plan(TurnRequest(SYSTEM, "first question", history), 4)
    answer(manager, first)
    history += [{"role": "user", "content": "first question"}, {"role": "assistant", "content": "ok"},
                *exchanges(20, 24, 3000)]  # fmt: skip
    second = manager.plan(TurnRequest(SYSTEM, "second question", history), 4)
    assert second.prompt_tokens > 120_000 and not second.changes
    assert second.reused_tokens >= first.prompt_tokens - 8
    stats = answer(manager, second)
    assert stats.cached_tokens == second.reused_tokens
    budget = manager.budget
    assert budget.kv_tokens > 120_000 and budget.kv_bytes_in_use > 0.9 * budget.kv_bytes_total

    # The next turn no longer fits: "stop" refuses in words, without touching the model.
    history += [{"role": "user", "content": "second question"}, {"role": "assistant", "content": "ok"},
                *exchanges(44, 8, 3000)]  # fmt: skip
    request = TurnRequest(SYSTEM, "third question", history)
    manager.set_policy("stop")
    with pytest.raises(ContextFullError) as refused:
        manager.plan(request, 4)
    assert "131,072" in refused.value.message and "start a new chat" in refused.value.hint

    # The sliding window drops old turns; a large headroom keeps the re-evaluation short here.
    manager.set_policy("sliding_window")
    manager.settings = replace(manager.settings, headroom=0.8)
    third = manager.plan(request, 4)
    assert third.messages[0]["content"] == SYSTEM
    assert third.messages[1] == history[0], "the first user message stays"
    assert third.messages[-1]["content"] == "third question"
    assert third.changes[0].kind == "dropped" and len(third.changes[0].messages) > 60
    assert third.prompt_tokens < N_CTX * 0.25
    stats = answer(manager, third)
    assert stats.cached_tokens == third.reused_tokens > 0
