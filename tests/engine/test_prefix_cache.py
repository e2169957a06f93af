"""The system turn's KV cache is saved on disk and restored by the next process's session."""

from __future__ import annotations

import pytest

from engine.prefix_cache import PrefixCache
from engine.session import MIN_OPENING_TOKENS, LoadSettings, ModelSession, SamplingSettings
from engine.stats import GenerationStats

pytestmark = pytest.mark.slow

GREEDY = SamplingSettings(temperature=0, max_tokens=16, repeat_penalty=1.0)
SYSTEM = {
    "role": "system",
    "content": "You answer questions about gardening in short, plain sentences, and you say "
    "so when you do not know. Mention the season when it matters.",
}


def conversation(question: str) -> list[dict[str, str]]:
    return [SYSTEM, {"role": "user", "content": question}]


def reply(session: ModelSession, messages, sampling=GREEDY) -> tuple[str, GenerationStats]:
    pieces, stats = [], None
    for event in session.chat(messages, sampling):
        if isinstance(event, GenerationStats):
            stats = event
        else:
            pieces.append(event)
    assert stats is not None
    return "".join(pieces), stats


def fresh_session(model_path, cache: PrefixCache | None) -> ModelSession:
    """A new session, as a new process has: nothing in its KV cache."""
    session = ModelSession(prefix_cache=cache)
    session.load(LoadSettings(model_path=str(model_path), n_ctx=2048))
    return session


def test_a_new_session_restores_the_system_turn_and_replies_the_same(default_model_path, tmp_path):
    cache = PrefixCache(tmp_path / "prompt-cache")
    first = fresh_session(default_model_path, cache)
    _, stats = reply(first, conversation("When should I plant tulip bulbs?"))
    assert stats.cached_tokens == 0
    assert len(list(cache.folder.glob("*.kv"))) == 1
    first.unload()

    question = conversation("How often do tomatoes need water?")
    second = fresh_session(default_model_path, cache)
    text, stats = reply(second, question)
    opening = second._system_turn_length(question, second.prompt_tokens(question))
    assert opening >= MIN_OPENING_TOKENS
    assert stats.cached_tokens == opening
    second.unload()

    plain = fresh_session(default_model_path, None)
    expected, plain_stats = reply(plain, question)
    plain.unload()
    assert plain_stats.cached_tokens == 0
    assert text == expected  # restored keys and values answer exactly as evaluated ones


def test_a_damaged_file_is_evaluated_again_and_replaced(default_model_path, tmp_path):
    cache = PrefixCache(tmp_path / "prompt-cache")
    session = fresh_session(default_model_path, cache)
    reply(session, conversation("What is compost?"))
    session.unload()
    (saved,) = cache.folder.glob("*.kv")
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 3])

    session = fresh_session(default_model_path, cache)
    text, stats = reply(session, conversation("What is mulch?"))
    assert text.strip() and stats.stop_reason in ("stop", "length")
    assert stats.cached_tokens == 0
    assert saved.stat().st_size > 1000 and len(list(cache.folder.glob("*.kv"))) == 1
    session.unload()

    session = fresh_session(default_model_path, cache)
    _, stats = reply(session, conversation("What is a cold frame?"))
    assert stats.cached_tokens > 0  # the replaced file is good
    session.unload()


def test_a_seeded_sampled_reply_and_a_chat_without_system_turn_leave_it_alone(
    default_model_path, tmp_path
):
    cache = PrefixCache(tmp_path / "prompt-cache")
    session = fresh_session(default_model_path, cache)
    seeded = SamplingSettings(temperature=0.8, seed=7, max_tokens=8)
    _, stats = reply(session, conversation("Name a herb."), seeded)
    assert stats.cached_tokens == 0 and not list(cache.folder.glob("*.kv"))
    session.llama.reset()
    _, stats = reply(session, [{"role": "user", "content": "Name a herb."}])
    assert not list(cache.folder.glob("*.kv"))
    session.unload()
