"""Remote failures explain themselves in one line and lose nothing: real servers, real faults."""

from __future__ import annotations

import http.server
import threading

import pytest

from engine.remote import (
    RemoteAuthError,
    RemoteConnection,
    RemoteModelError,
    RemoteRequestError,
    RemoteSession,
    RemoteTimeoutError,
    RemoteUnavailableError,
)
from engine.session import SamplingSettings
from tests.remote_servers import LlamaCppPythonServer, free_port, stream_with_fault

pytestmark = pytest.mark.slow

KEY = "sk-hearth-test-key"
COUNTING = [{"role": "user", "content": "Count from 1 to 200, separated by commas."}]
LONG = SamplingSettings(temperature=0.0, max_tokens=400)


@pytest.fixture(scope="module")
def server(tmp_path_factory, default_model_path):
    with LlamaCppPythonServer(tmp_path_factory.mktemp("server"), default_model_path,
                              api_key=KEY) as running:  # fmt: skip
        warm = RemoteSession()  # the first reply of a fresh server is slow; later ones are not
        warm.connect(RemoteConnection(running.url), KEY)
        list(warm.chat(COUNTING, SamplingSettings(max_tokens=4)))
        warm.unload()
        yield running


def one_line(error: Exception) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def connect(url: str, key: str | None = KEY, **settings) -> RemoteSession:
    session = RemoteSession()
    session.connect(RemoteConnection(url, **settings), key)
    return session


def test_nothing_listening_is_connection_refused():
    port = free_port()
    with pytest.raises(RemoteUnavailableError) as caught:
        connect(f"127.0.0.1:{port}")
    assert f"Nothing answers at http://127.0.0.1:{port} (connection refused)" in one_line(
        caught.value
    )


@pytest.mark.parametrize(("key", "words"), [("wrong-key", "refused the API key"),
                                            (None, "needs an API key")])  # fmt: skip
def test_a_wrong_or_missing_key_is_named(server, key, words):
    with pytest.raises(RemoteAuthError) as caught:
        connect(server.url, key)
    assert f"The server at 127.0.0.1:{server.port} {words} (HTTP 401)" in one_line(caught.value)


def test_a_model_the_server_does_not_offer_is_named_with_what_it_offers(server):
    with pytest.raises(RemoteModelError) as caught:
        connect(server.url, model="llama-3-70b")
    text = one_line(caught.value)
    assert "has no model 'llama-3-70b'" in text and "SmolLM2-135M-Instruct" in text


def test_a_server_that_answers_nothing_times_out(server):
    server.freeze()
    try:
        with pytest.raises(RemoteTimeoutError) as caught:
            connect(server.url, timeout_s=1.0)
    finally:
        server.thaw()
    assert "sent nothing for 1 s" in one_line(caught.value)


def test_a_server_that_stalls_mid_reply_keeps_the_text_and_marks_it(server):
    session = connect(server.url, timeout_s=2.0)
    try:
        pieces, stats = stream_with_fault(session.chat(COUNTING, LONG), 3, server.freeze)
    finally:
        server.thaw()
        session.unload()
    assert len(pieces) >= 3 and stats.stop_reason == "error"
    assert stats.generated_tokens == len(pieces)
    assert "sent nothing for 2 s after" in stats.error and "reply is incomplete" in stats.error


def test_a_server_killed_mid_reply_keeps_the_text_and_marks_it(tmp_path, default_model_path):
    with LlamaCppPythonServer(tmp_path, default_model_path) as doomed:
        session = connect(doomed.url, key=None)
        pieces, stats = stream_with_fault(session.chat(COUNTING, LONG), 3, doomed.kill)
        assert len(pieces) >= 3 and "".join(pieces).strip()
        assert stats.stop_reason == "error" and stats.generated_tokens == len(pieces)
        assert f"The server at 127.0.0.1:{doomed.port} closed the connection after" in stats.error
        assert "\n" not in stats.error
        # The next reply cannot start: raised before any text, so nothing is lost either.
        with pytest.raises(RemoteUnavailableError):
            list(session.chat(COUNTING, LONG))
        session.unload()


class _PlainSite(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


def test_an_address_that_is_not_an_openai_server_says_so(tmp_path):
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PlainSite)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{site.server_port}"
        with pytest.raises(RemoteModelError) as caught:
            connect(url, key=None)
        said = one_line(caught.value)
        assert "has no /v1/models (HTTP 404): it is probably not an OpenAI-compatible API" in said
        session = connect(url, key=None, model="any")  # it may still serve a named model...
        # No tokenizer there: the bundled model's stands in, and the counts say so.
        assert not session.token_counts_exact and "local tokenizer" in session.info.tokenizer
        assert len(session.prompt_tokens(COUNTING)) > len(session.tokenize(COUNTING[0]["content"]))
        with pytest.raises(RemoteRequestError) as caught:  # ...but it cannot chat
            list(session.chat(COUNTING, LONG))
        assert f"The server at 127.0.0.1:{site.server_port} failed (HTTP 501)" in one_line(
            caught.value
        )
        session.unload()
    finally:
        site.shutdown()
        site.server_close()
