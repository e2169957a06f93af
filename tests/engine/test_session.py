"""The llama.cpp session against the real bundled models: streaming, cancel, reuse, UTF-8, switching."""

from __future__ import annotations

import pytest

from engine.cancel import CancelToken
from engine.errors import GenerationError, ModelFileError
from engine.session import LoadSettings, ModelSession, SamplingSettings
from engine.settings_schema import LOOKUP_DRAFT_TOKENS
from engine.stats import GenerationStats

# Every test here loads a real model.
pytestmark = pytest.mark.slow

GREEDY = SamplingSettings(temperature=0, max_tokens=24, repeat_penalty=1.0)


def run(events):
    """Split a generation stream into its text pieces and its final stats."""
    pieces, stats = [], None
    for event in events:
        if isinstance(event, GenerationStats):
            assert stats is None, "stats must come once, at the end"
            stats = event
        else:
            assert stats is None, "no text after the stats"
            assert isinstance(event, str)
            pieces.append(event)
    assert stats is not None
    return pieces, stats


@pytest.fixture(scope="module")
def session(default_model_path):
    session = ModelSession()
    session.load(LoadSettings(model_path=str(default_model_path), n_ctx=2048))
    yield session
    session.unload()


def ask(text):
    return [{"role": "user", "content": text}]


def test_reply_streams_in_pieces_and_ends_with_stats(session):
    pieces, stats = run(session.chat(ask("Name three colours."), GREEDY))
    assert len(pieces) > 3
    assert "".join(pieces).strip()
    assert stats.generated_tokens >= len([p for p in pieces if p])
    assert stats.stop_reason in ("stop", "length")
    assert stats.prompt_tokens == len(session.prompt_tokens(ask("Name three colours.")))
    assert stats.ttft_s > 0 and stats.prompt_tokens_per_s > 0 and stats.generation_tokens_per_s > 0
    assert stats.template == "model"


def test_max_tokens_ends_with_length(session):
    _, stats = run(session.chat(ask("Write a long essay about the history of the sea."), GREEDY))
    assert stats.stop_reason == "length"
    assert stats.generated_tokens == GREEDY.max_tokens


def test_cancel_mid_reply_stops_promptly_and_session_stays_usable(session):
    cancel = CancelToken()
    sampling = SamplingSettings(temperature=0, max_tokens=400)
    pieces = []
    stats = None
    for event in session.chat(ask("Write a long story about a lighthouse."), sampling, cancel):
        if isinstance(event, GenerationStats):
            stats = event
            break
        pieces.append(event)
        if len(pieces) == 5:
            cancel.cancel()
    assert stats is not None and stats.stop_reason == "cancelled"
    assert stats.generated_tokens <= 6
    _, after = run(session.chat(ask("Say yes."), GREEDY))
    assert after.stop_reason in ("stop", "length") and after.generated_tokens > 0


def test_cancel_before_prefill_evaluates_nothing(session):
    cancel = CancelToken()
    cancel.cancel()
    pieces, stats = run(session.chat(ask("Hello?"), GREEDY, cancel))
    assert pieces == [] and stats.stop_reason == "cancelled" and stats.generated_tokens == 0


def test_next_turn_reuses_the_kv_cache_of_earlier_turns(session):
    history = [
        {"role": "system", "content": "You are a helpful assistant who answers briefly."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    pieces, first = run(session.chat(history, GREEDY))
    history += [
        {"role": "assistant", "content": "".join(pieces)},
        {"role": "user", "content": "And of Italy?"},
    ]
    _, second = run(session.chat(history, GREEDY))
    # Everything up to the end of the first prompt is reused; only the new turn is evaluated.
    assert second.cached_tokens >= first.prompt_tokens - 1
    assert second.evaluated_tokens < second.prompt_tokens - first.prompt_tokens + 30
    assert second.evaluated_tokens > 0


def test_same_prompt_twice_is_served_from_cache(session):
    messages = ask("Repeat after me: cache.")
    run(session.chat(messages, GREEDY))
    _, again = run(session.chat(messages, GREEDY))
    assert again.cached_tokens == again.prompt_tokens - 1


def test_the_same_seed_gives_the_same_reply_whatever_the_cache_holds(session):
    """llama.cpp's logits differ in their last bits with the batch a token was evaluated in, so
    a reused prompt prefix would change a sampled reply: a seeded request is evaluated whole."""
    seeded = SamplingSettings(temperature=1.0, max_tokens=15, seed=42)
    question = ask("Invent a name for a dog.")
    replies, cached = [], []
    for before in ("Name three colours.", None, "Count to five."):
        if before:
            run(session.chat(ask(before), GREEDY))
        pieces, stats = run(session.chat(question, seeded))
        replies.append("".join(pieces))
        cached.append(stats.cached_tokens)
    assert replies[0] == replies[1] == replies[2], replies
    assert cached == [0, 0, 0]
    _, unseeded = run(session.chat(question, GREEDY))
    assert unseeded.cached_tokens > 0, "requests without a seed still reuse the cache"


def test_emoji_and_cjk_stream_as_whole_characters(session):
    text = "🎉 你好世界 🚀"
    tokens = session.tokenize(text)
    assert len(tokens) > len(text.split()), "the vocabulary splits these characters into bytes"
    sampling = SamplingSettings(temperature=0, max_tokens=40, repeat_penalty=1.0)
    pieces, _ = run(
        session.chat(ask(f"Copy this exactly: {text}\nCopy this exactly: {text}"), sampling)
    )
    assert all("\ufffd" not in piece for piece in pieces)
    reply = "".join(pieces)
    assert any(ch in reply for ch in "🎉你好世界🚀"), reply


def test_greedy_output_is_identical_with_prompt_lookup(session):
    passage = (
        "The lighthouse keeper climbed the spiral stairs every evening at dusk, lit the great "
        "lamp, and wrote the weather in a leather logbook that his grandfather had started."
    )
    messages = ask(f"Here is a text:\n{passage}\n\nRepeat the text word for word.")
    plain = SamplingSettings(
        temperature=0, max_tokens=48, repeat_penalty=1.0, lookup_draft_tokens=0
    )
    with_lookup = SamplingSettings(
        temperature=0, max_tokens=48, repeat_penalty=1.0, lookup_draft_tokens=LOOKUP_DRAFT_TOKENS
    )
    base_pieces, base = run(session.chat(messages, plain))
    session.llama.reset()  # the same starting cache for both runs
    drafted_pieces, drafted = run(session.chat(messages, with_lookup))
    assert "".join(drafted_pieces) == "".join(base_pieces)
    assert drafted.generated_tokens == base.generated_tokens
    assert base.drafted_tokens == 0
    assert drafted.drafted_tokens > 0 and drafted.accepted_draft_tokens > 0


def test_prompt_longer_than_the_window_is_refused_clearly(session):
    huge = "word " * 3000
    with pytest.raises(GenerationError, match="context window holds 2,048"):
        session.chat(ask(huge), GREEDY)


def test_base_model_without_template_uses_the_fallback_format(gemma_model_path):
    session = ModelSession()
    report = session.load(LoadSettings(model_path=str(gemma_model_path), n_ctx=1024))
    try:
        assert report.template == "fallback"
        assert report.model.architecture == "gemma3"
        pieces, stats = run(session.chat(ask("What is two plus two?"), GREEDY))
        assert stats.template == "fallback"
        assert stats.generated_tokens > 0
        assert "User:" not in "".join(pieces)
    finally:
        session.unload()


def test_switching_models_and_a_bad_file_keeps_the_loaded_one(
    tmp_path, default_model_path, gemma_model_path
):
    session = ModelSession()
    session.load(LoadSettings(model_path=str(default_model_path), n_ctx=512))
    session.load(LoadSettings(model_path=str(gemma_model_path), n_ctx=512))
    assert session.report.model.architecture == "gemma3"
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelFileError):
        session.load(LoadSettings(model_path=str(broken)))
    assert session.loaded and session.report.model.architecture == "gemma3"
    _, stats = run(session.chat(ask("Hi"), SamplingSettings(temperature=0, max_tokens=4)))
    assert stats.generated_tokens > 0
    session.unload()
    assert not session.loaded


def test_unknown_cache_type_is_explained(default_model_path):
    from engine.errors import HearthError

    with pytest.raises(HearthError, match="Unknown K/V cache type"):
        ModelSession().load(LoadSettings(model_path=str(default_model_path), type_k="q3"))


def test_quantized_v_cache_turns_on_flash_attention(default_model_path):
    session = ModelSession()
    report = session.load(
        LoadSettings(
            model_path=str(default_model_path),
            n_ctx=512,
            type_k="q8_0",
            type_v="q8_0",
            flash_attn=False,
        )  # turned off by the person: the V cache turns it on
    )
    try:
        assert report.flash_attn
        assert any("Flash attention" in note for note in report.notes)
        _, stats = run(session.chat(ask("Hi"), SamplingSettings(temperature=0, max_tokens=4)))
        assert stats.generated_tokens > 0
    finally:
        session.unload()


def test_more_threads_than_cpus_are_cut_to_the_cpus_and_said(default_model_path):
    from engine.backends import usable_cpus

    session = ModelSession()
    report = session.load(
        LoadSettings(model_path=str(default_model_path), n_ctx=512, n_threads=usable_cpus() + 62)
    )
    try:
        assert report.n_threads == usable_cpus()
        note = next(n for n in report.notes if "CPU threads" in n)
        assert f"{usable_cpus() + 62} CPU threads were asked for" in note
    finally:
        session.unload()


def test_gpu_layers_auto_is_zero_without_a_gpu(default_model_path):
    from engine.backends import detect_backend

    if detect_backend().devices:
        pytest.skip("a GPU is present; this checks the CPU-only path")
    session = ModelSession()
    report = session.load(LoadSettings(model_path=str(default_model_path), n_ctx=512))
    assert report.n_gpu_layers == 0
    session.unload()


def test_failed_gpu_load_falls_back_to_cpu_and_says_why(default_model_path, monkeypatch):
    # A GPU that runs out of memory cannot be caused on a CPU-only machine, so fake that one fault.
    from engine import session as session_module
    from engine.errors import ModelLoadError

    real_create = session_module._create_llama

    def create(settings, *args, **kwargs):
        if settings.n_gpu_layers:
            raise ModelLoadError("out of device memory")
        return real_create(settings, *args, **kwargs)

    monkeypatch.setattr(session_module, "_create_llama", create)
    session = ModelSession()
    report = session.load(
        LoadSettings(model_path=str(default_model_path), n_ctx=512, n_gpu_layers=99)
    )
    assert report.n_gpu_layers == 0
    assert any("out of device memory" in note and "CPU" in note for note in report.notes)
    session.unload()


UNLOAD_PROBE = """
import json, sys
from engine.memory import probe_memory
from engine.session import LoadSettings, ModelSession, SamplingSettings

session = ModelSession()
before = probe_memory().process_rss
session.load(LoadSettings(model_path=sys.argv[1], n_ctx=8192))
for _ in session.chat([{"role": "user", "content": "Hi"}], SamplingSettings(max_tokens=2)):
    pass
loaded = probe_memory().process_rss
session.unload()
print(json.dumps([before, loaded, probe_memory().process_rss]))
"""


def test_unload_gives_the_memory_back(default_model_path):
    # A fresh process, so memory other tests left in the allocator does not blur the numbers.
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", UNLOAD_PROBE, str(default_model_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, loaded, after = json.loads(result.stdout.strip().splitlines()[-1])
    # Weights (~94 MB) and an 8K-token KV cache (~180 MB) were resident while loaded.
    assert loaded - before > 150 * 2**20
    assert loaded - after > 0.8 * (loaded - before)
