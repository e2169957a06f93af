"""A chat model on llama-cpp-python's own OpenAI-compatible server, used like a local one."""

from __future__ import annotations

import threading
import time

import pytest

from engine.cancel import CancelToken
from engine.context.manager import ContextManager, ContextSettings
from engine.context.turn import Document, TurnRequest
from engine.remote import RemoteConnection, RemoteSession, available_models
from engine.session import SamplingSettings
from engine.stats import GenerationStats
from tests.remote_servers import LlamaCppPythonServer, stream_with_fault

pytestmark = pytest.mark.slow

GREEDY = SamplingSettings(temperature=0.0, max_tokens=24, seed=1)
COUNTING = [{"role": "user", "content": "Count from 1 to 100, separated by commas."}]


@pytest.fixture(scope="module")
def server(tmp_path_factory, default_model_path):
    with LlamaCppPythonServer(tmp_path_factory.mktemp("server"), default_model_path) as running:
        yield running


@pytest.fixture
def session(server):
    session = RemoteSession()
    session.connect(RemoteConnection(server.url, context_window=server.n_ctx))
    yield session
    session.unload()


def split(items):
    pieces = [item for item in items if isinstance(item, str)]
    stats = items[-1]
    assert isinstance(stats, GenerationStats)
    assert all(not isinstance(item, GenerationStats) for item in items[:-1])
    return pieces, stats


def test_connect_reports_model_window_and_how_tokens_are_counted(server, session):
    info = session.info
    assert info.server == "llama-cpp-python"
    assert info.model == str(server.model) and info.models == (str(server.model),)
    assert info.label == f"Remote: 127.0.0.1:{server.port} · SmolLM2-135M-Instruct.Q4_1.gguf"
    # This server reports no window, so the connection's setting stands in.
    assert (session.n_ctx, info.n_ctx_source.startswith("the connection's setting")) == (2048, True)
    # Its /extras/tokenize counts text; the template's framing is estimated locally.
    assert not session.token_counts_exact and "framing is estimated" in info.tokenizer
    assert session.loaded and session.cached_tokens == []


def test_the_models_a_server_offers_can_be_listed_before_choosing(server):
    assert available_models(RemoteConnection(server.url)) == (str(server.model),)


def test_text_counts_come_from_the_servers_tokenizer(session, default_model_path):
    from engine.session import LoadSettings, ModelSession

    local = ModelSession()
    local.load(LoadSettings(model_path=str(default_model_path), n_ctx=512))
    try:
        text = "Ünïcode, numbers 12345 and a long-ish sentence about GGUF tokenizers."
        assert session.tokenize(text) == local.tokenize(text)
        messages = [{"role": "system", "content": "Be brief."}, *COUNTING]
        # Same model family as the stand-in template, so the estimate is exact here.
        assert session.prompt_tokens(messages) == local.prompt_tokens(messages)
    finally:
        local.unload()


def test_a_greedy_reply_streams_the_same_text_as_the_local_engine(session, default_model_path):
    from engine.session import LoadSettings, ModelSession

    messages = [{"role": "user", "content": "Name three colours."}]
    pieces, stats = split(list(session.chat(messages, GREEDY)))
    assert len(pieces) > 3 and stats.stop_reason in ("stop", "length")
    assert stats.generated_tokens == len(pieces) and stats.counts_estimated  # no usage sent
    assert stats.prompt_tokens == len(session.prompt_tokens(messages))
    assert 0 < stats.ttft_s < 60 and stats.generation_tokens_per_s > 0

    local = ModelSession()
    local.load(LoadSettings(model_path=str(default_model_path), n_ctx=2048))
    try:
        local_pieces, _ = split(list(local.chat(messages, GREEDY)))
    finally:
        local.unload()
    assert "".join(pieces) == "".join(local_pieces)


def test_the_context_manager_fits_a_long_chat_into_the_remote_window(server):
    session = RemoteSession()
    session.connect(RemoteConnection(server.url, context_window=512))
    try:
        manager = ContextManager(session, ContextSettings(policy="sliding_window"))
        history = []
        for turn in range(12):
            history += [{"role": "user", "content": f"Tell me fact number {turn} about owls."},
                        {"role": "assistant", "content": "Owls hunt at night and fly silently "
                         "thanks to soft-edged feathers. " * 3}]  # fmt: skip
        pinned = [Document("Owls: the notes of a birdwatcher. " * 6, "notes.txt")]
        plan = manager.plan(TurnRequest("You are brief.", "And one more?", history, pinned), 64)
        assert plan.budget.n_ctx == 512 and plan.prompt_tokens <= 512 - 64
        assert any(change.kind == "dropped" for change in plan.changes)
        assert plan.reused_tokens == 0  # nothing of the server's cache is this computer's
        pieces, stats = split(
            list(manager.chat(plan, SamplingSettings(temperature=0, max_tokens=16)))
        )
        assert pieces and stats.generated_tokens <= 16
        assert manager.budget.generated == stats.generated_tokens
        assert manager.budget.kv_bytes_in_use == 0  # the memory gauge shows only this computer
    finally:
        session.unload()


def test_the_summarize_policy_asks_the_remote_model_for_the_summary(server):
    session = RemoteSession()
    session.connect(RemoteConnection(server.url, context_window=512))
    try:
        manager = ContextManager(session, ContextSettings(policy="summarize", summary_tokens=32))
        history = []
        for turn in range(12):
            history += [{"role": "user", "content": f"My cat number {turn} is called Tom{turn}."},
                        {"role": "assistant", "content": "What a lovely name for a cat. " * 4}]  # fmt: skip
        plan = manager.plan(TurnRequest("", "What are my cats called?", history), 48)
        assert plan.summary_written and plan.summary is not None and plan.summary.text
        assert manager.summarizer.calls >= 1 and plan.prompt_tokens <= 512 - 48
    finally:
        session.unload()


def test_stop_closes_the_stream_at_once_and_the_server_is_free_after(session):
    cancel = CancelToken()
    stream = session.chat(COUNTING, SamplingSettings(temperature=0.0, max_tokens=400), cancel)
    pieces, stats = stream_with_fault(stream, 3, cancel.cancel)
    assert stats.stop_reason == "cancelled" and len(pieces) == 3 and stats.error == ""
    # The server serves one request at a time: a reply still running there would hold this one.
    _, after = split(list(session.chat([{"role": "user", "content": "Hi"}], GREEDY)))
    assert after.stop_reason in ("stop", "length") and after.ttft_s < 10


def test_stop_works_while_the_server_has_sent_nothing(server, session):
    cancel = CancelToken()
    server.freeze()  # accepts the connection, answers nothing: like a long prompt being read
    try:
        threading.Timer(0.3, cancel.cancel).start()
        started = time.perf_counter()
        items = list(session.chat(COUNTING, GREEDY, cancel))
        waited = time.perf_counter() - started
    finally:
        server.thaw()
    assert items == [items[-1]] and items[-1].stop_reason == "cancelled"
    assert waited < 2.0
