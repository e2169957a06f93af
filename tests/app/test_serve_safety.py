"""`hearth serve` without a model: refusals at start, the key, the loopback rule, error shapes,
stop strings and the queue's gate. A real server on 127.0.0.1 where one is needed."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from app.cli import main
from app.model_thread import ModelThread
from app.serve.auth import is_loopback, key_matches, new_key
from app.serve.errors import ApiError
from app.serve.gate import Gate
from app.serve.options import ServeOptions
from app.serve.stops import StopScanner
from tests.serve_server import serve

KEY = "sk-hearth-safety"


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("hearth: ")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_listening_beyond_this_computer_without_a_key_is_refused(capsys, host, monkeypatch):
    monkeypatch.delenv("HEARTH_SERVE_API_KEY", raising=False)
    code, out, err = run(capsys, "serve", "--host", host)
    assert code == 2 and out == "" and one_line(err) and "needs an API key" in err


@pytest.mark.parametrize("key", [[], ["--api-key", "k"]], ids=["without a key", "with a key"])
def test_a_host_that_is_no_address_says_so_first(capsys, key, monkeypatch):
    monkeypatch.delenv("HEARTH_SERVE_API_KEY", raising=False)
    code, out, err = run(capsys, "serve", "--host", "not a host", *key)
    assert code == 2 and out == "" and one_line(err)
    assert "'not a host' is not an address this computer has." in err


def test_a_port_in_use_is_one_line_before_any_model_loads(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port))
    assert code == 2 and one_line(err) and f"Port {port} on 127.0.0.1 is already in use" in err


def test_a_bad_model_file_or_option_is_one_line(capsys, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model at all" * 10)
    code, _, err = run(capsys, "serve", "--port", "0", "--model", str(bad))
    assert code == 2 and one_line(err) and "broken.gguf" in err
    code, _, err = run(capsys, "serve", "--port", "70000")
    assert code == 2 and one_line(err) and "--port" in err


@pytest.fixture
def empty_server():
    """A server whose model thread has no model loaded."""
    thread = ModelThread()
    running = serve(thread, ServeOptions(api_key=KEY))
    yield running
    running.stop()
    thread.shutdown()


def test_every_request_needs_the_key_and_errors_have_openai_shape(empty_server):
    url = empty_server.url
    for method, path in (("GET", "/models"), ("POST", "/chat/completions"),
                         ("POST", "/embeddings"), ("GET", "/nowhere")):  # fmt: skip
        response = httpx.request(method, url + path, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401, path
        assert response.json()["error"]["type"] == "authentication_error"
        assert "access-control-allow-origin" not in response.headers
    good = {"Authorization": f"Bearer {KEY}"}
    assert httpx.get(url + "/models", headers=good).json() == {"object": "list", "data": []}
    missing = httpx.get(url + "/nowhere", headers=good)
    assert missing.status_code == 404 and missing.json()["error"]["message"]
    bad_json = httpx.post(url + "/chat/completions", headers={**good, "Content-Type":
                          "application/json"}, content=b"{nope")  # fmt: skip
    assert (
        bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"
    )
    bad_json_words = bad_json.json()["error"]["message"]
    assert bad_json_words == "The request body is not valid JSON."
    no_body = httpx.post(url + "/chat/completions", headers=good)
    assert no_body.json()["error"]["message"] == "The request has no body: send a JSON object."
    as_text = httpx.post(url + "/chat/completions", headers={**good, "Content-Type": "text/plain"},
                         content=b'{"model": "x", "messages": []}')  # fmt: skip
    assert as_text.status_code == 400 and "Content-Type: application/json" in as_text.text
    hi = [{"role": "user", "content": "Hi"}]
    for extra, words in (
        ({"messages": [{"role": "user", "content": None}]}, "The last message is empty"),
        ({"messages": hi, "hearth": {"bogus": 1}}, "hearth.bogus is not a field"),
        ({"messages": hi, "tools": [{"type": "function"}]}, "does not call tools"),
    ):
        refused = httpx.post(url + "/chat/completions", headers=good, json={"model": "x", **extra})
        assert refused.status_code == 400 and words in refused.json()["error"]["message"], extra
    no_messages = httpx.post(url + "/chat/completions", headers=good, json={"model": "x"})
    assert no_messages.status_code == 400 and no_messages.json()["error"]["param"] == "messages"
    # A body far beyond any window is refused unread, at once (counting its tokens took minutes).
    huge = {"model": "x", "messages": [{"role": "user", "content": "word " * 2_000_000}]}
    started = time.monotonic()
    too_large = httpx.post(url + "/chat/completions", headers=good, json=huge, timeout=30)
    assert too_large.status_code == 413 and time.monotonic() - started < 5
    assert too_large.json()["error"]["message"].startswith("The request is 10.0 MB")
    no_model = httpx.post(url + "/chat/completions", headers=good,
                          json={"model": "x", "messages": [{"role": "user", "content": "Hi"}]})  # fmt: skip
    assert (
        no_model.status_code == 503 and "No model is loaded" in no_model.json()["error"]["message"]
    )


def test_without_a_key_only_requests_for_a_loopback_name_are_taken():
    thread = ModelThread()
    running = serve(thread, ServeOptions())
    try:
        assert httpx.get(running.url + "/models").status_code == 200
        rebound = httpx.get(running.url + "/models", headers={"Host": "evil.example:80"})
        assert rebound.status_code == 403
    finally:
        running.stop()
        thread.shutdown()


def test_keys_and_addresses():
    assert key_matches("Bearer abc", "abc") and key_matches("bearer  abc ", "abc")
    assert not key_matches("Bearer abd", "abc") and not key_matches(None, "abc")
    assert not key_matches("Basic abc", "abc") and key_matches(None, "")
    assert new_key() != new_key() and new_key().startswith("sk-hearth-")
    assert all(map(is_loopback, ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.5")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "10.0.0.1", "example.com")))


@pytest.mark.parametrize(
    ("pieces", "stops", "sent"),
    [
        (["1, 2, ", "3, 4"], ["3"], "1, 2, "),
        (["Hel", "lo wor", "ld"], ["o w"], "Hell"),
        (["ab", "c"], ["abd"], "abc"),  # a partial match that does not go on is sent after all
        (["x<", "|end", "|>y"], ["<|end|>"], "x"),
        (["plain"], [], "plain"),
    ],
)
def test_stop_strings_cut_the_text_and_never_show_a_part_of_themselves(pieces, stops, sent):
    scanner = StopScanner(stops)
    released = [scanner.feed(piece) for piece in pieces]
    text = "".join(released) + scanner.flush()
    assert text == sent
    for stop in stops:
        assert all(stop[:2] not in part or stop[:2] in sent for part in released)


def test_the_gate_admits_one_running_and_limit_waiting_then_says_when_to_retry():
    gate = Gate(limit=1)
    with gate.admit(), gate.admit():
        with pytest.raises(ApiError) as full, gate.admit():
            pass
        assert full.value.status == 429 and int(full.value.headers["Retry-After"]) >= 1
    assert gate.active == 0 and gate.served == 2
    with gate.admit():
        assert gate.active == 1


def post_raw(served, path: str, content: bytes, **headers: str) -> httpx.Response:
    """POST `content` as it is (httpx's `json=` cannot send a lone surrogate)."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **headers}
    return httpx.post(served.url + path, headers=headers, content=content)


HI = [{"role": "user", "content": "Hi"}]
BAD = "\ud800 hi"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/chat/completions", {"model": "x", "messages": [{"role": "user", "content": BAD}]},
         "messages[0].content"),
        ("/chat/completions", {"model": "x", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": BAD}]}]},
         "messages[0].content[1].text"),
        ("/chat/completions", {"model": "x", "messages": HI, "stop": ["ok", BAD]}, "stop[1]"),
        ("/chat/completions", {"model": "x", "messages": HI, "hearth": {"library": BAD}},
         "hearth.library"),
        ("/chat/completions", {"model": BAD, "messages": HI}, "model"),
        ("/chat/completions", {"model": "x", "messages": HI, "hearth": {BAD: 1}}, "hearth"),
        ("/embeddings", {"model": "all-MiniLM-L6-v2", "input": ["tea", BAD]}, "input[1]"),
    ],
)  # fmt: skip
def test_text_that_is_not_valid_unicode_is_refused_naming_where(empty_server, path, body, param):
    refused = post_raw(empty_server, path, json.dumps(body).encode("ascii"))
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert "not valid Unicode (a lone surrogate, \\ud800, at character 0)" in error["message"]


def test_a_body_that_is_not_utf8_or_nested_too_deeply_is_refused_in_words(empty_server):
    not_utf8 = post_raw(empty_server, "/chat/completions", b'{"model": "caf\xe9", "messages": []}')
    assert not_utf8.status_code == 400
    assert not_utf8.json()["error"]["message"].startswith(
        "The request body is not valid UTF-8 JSON: byte 14 (0xe9)"
    )
    deep = b'{"model": "x", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    nested = post_raw(empty_server, "/chat/completions", deep)
    assert nested.status_code == 400 and "nested too deeply" in nested.json()["error"]["message"]
    listed = post_raw(empty_server, "/embeddings", b"[1, 2]")
    assert listed.json()["error"]["message"] == "The request body must be a JSON object."


@pytest.mark.parametrize(
    ("extra", "param", "words"),
    [
        ({"messages": [{"role": "user", "content": 42}]}, "messages[0].content",
         "messages[0].content must be a string or a list of text parts."),
        ({"messages": [{"role": "user", "content": [{"text": "a"}]}]}, "messages[0].content",
         "messages[0].content must be a string or a list of text parts."),
        ({"messages": HI, "stop": [1, 2]}, "stop", "stop must be a string or a list of strings."),
        ({"messages": HI, "hearth": "x"}, "hearth", "hearth must be an object."),
        ({"messages": HI, "hearth": {"sources_k": 2.5}}, "hearth.sources_k",
         "hearth.sources_k must be a whole number."),
        ({"messages": [{"content": "Hi"}]}, "messages[0].role", "messages[0].role is required."),
        ({"messages": "Hi"}, "messages", "messages must be a list."),
        ({"messages": HI, "stream": "maybe"}, "stream", "stream must be true or false."),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_is_named_as_openai_does(empty_server, extra, param, words):
    refused = httpx.post(empty_server.url + "/chat/completions", json={"model": "x", **extra},
                         headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == param
    assert refused.json()["error"]["message"] == words


def test_embedding_fields_of_the_wrong_type_are_named_too(empty_server):
    refused = httpx.post(empty_server.url + "/embeddings", headers={"Authorization": f"Bearer {KEY}"},
                         json={"model": "m", "input": "tea", "encoding_format": "hex"})  # fmt: skip
    assert refused.json()["error"] == {
        "message": "encoding_format must be 'float' or 'base64'.", "type": "invalid_request_error",
        "param": "encoding_format", "code": None}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "param", "status"),
    [
        ({"response_format": {"type": "json_object"}}, "response_format", 400),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}},
         "response_format", 400),
        ({"logprobs": True}, "logprobs", 400),
        ({"logprobs": True, "top_logprobs": 3}, "logprobs", 400),
        ({"top_logprobs": 2}, "top_logprobs", 400),
        ({"response_format": {"type": "text"}, "logprobs": False, "top_logprobs": None}, None, 503),
    ],
)  # fmt: skip
def test_response_format_and_logprobs_are_refused_unless_plain(empty_server, extra, param, status):
    answered = httpx.post(empty_server.url + "/chat/completions",
                          headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "x", "messages": HI, **extra})  # fmt: skip
    assert answered.status_code == status  # 503: taken, but no model is loaded
    assert answered.json()["error"]["param"] == param
