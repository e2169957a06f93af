"""llama.cpp's own llama-server as the remote engine: its window, exact counts and usage.

Needs the llama-server binary (`make llama-server`, or HEARTH_LLAMA_SERVER=/path/to/it).
"""

from __future__ import annotations

import pytest

from engine.context.manager import ContextManager, ContextSettings
from engine.context.turn import Document, TurnRequest
from engine.remote import RemoteConnection, RemoteModelError, RemoteSession
from engine.session import SamplingSettings
from engine.stats import GenerationStats
from tests.remote_servers import LlamaServer, llama_server_binary

BINARY = llama_server_binary()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BINARY is None,
        reason="no llama-server binary: run `make llama-server` or set HEARTH_LLAMA_SERVER",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, default_model_path):
    assert BINARY is not None
    with LlamaServer(tmp_path_factory.mktemp("server"), default_model_path, BINARY) as running:
        yield running


@pytest.fixture
def session(server):
    session = RemoteSession()
    session.connect(RemoteConnection(server.url, context_window=999))
    yield session
    session.unload()


def test_the_window_and_the_tokenizer_come_from_the_server(server, session):
    info = session.info
    assert info.server == "llama.cpp"
    assert (info.n_ctx, info.n_ctx_source) == (2048, "the server's model list")
    assert info.token_counts_exact and info.tokenizer == "the server's tokenizer and chat template"


def test_prompt_counts_match_what_the_server_reports_it_read(session):
    messages = [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "What is a GGUF file?"},
        {"role": "assistant", "content": "A file format for quantized models."},
        {"role": "user", "content": "Which program reads it? Ünïcode ✓"},
    ]
    items = list(session.chat(messages, SamplingSettings(temperature=0.0, max_tokens=16)))
    stats = items[-1]
    assert isinstance(stats, GenerationStats) and not stats.counts_estimated
    assert stats.prompt_tokens == len(session.prompt_tokens(messages))
    assert 0 < stats.generated_tokens <= 16 and stats.ttft_s > 0


def test_a_chat_with_a_document_fits_the_servers_window(session):
    manager = ContextManager(session, ContextSettings(policy="truncate_middle"))
    manual = Document("Hold the reset button for ten seconds to restore the router. " * 400,
                      "router-manual.txt")  # fmt: skip
    plan = manager.plan(TurnRequest("Answer from the manual.", "How do I reset it?", [],
                                    [manual]), 64)  # fmt: skip
    assert any(change.kind == "truncated" for change in plan.changes)
    assert plan.prompt_tokens == len(session.prompt_tokens(plan.messages)) <= 2048 - 64
    items = list(manager.chat(plan, SamplingSettings(temperature=0.0, max_tokens=24)))
    stats = items[-1]
    assert isinstance(stats, GenerationStats) and stats.stop_reason in ("stop", "length")
    assert stats.prompt_tokens == plan.prompt_tokens  # the server read what was planned


def test_a_model_name_the_server_does_not_list_is_refused(server):
    with pytest.raises(RemoteModelError) as caught:
        RemoteSession().connect(RemoteConnection(server.url, model="gpt-4o"))
    assert "has no model 'gpt-4o'" in str(caught.value)
