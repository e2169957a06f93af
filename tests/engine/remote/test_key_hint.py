"""A server that wants a key says where to give it in the program asking: the window names its
own field or entry, the command line its option; nothing names the other's."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from engine.remote import RemoteAuthError, RemoteConnection, RemoteSession


class _NeedsKey(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"error": {"message": "Invalid API key"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def needs_key() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NeedsKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _refusal(url: str, key: str | None, where: str) -> str:
    with pytest.raises(RemoteAuthError) as caught:
        RemoteSession().connect(RemoteConnection(url), key, where)
    return str(caught.value)


def test_the_key_hint_names_the_callers_own_place(needs_key):
    window = "in the server's entry: Models → select it → Edit server…"
    text = _refusal(needs_key, None, window)
    assert text.endswith(f"needs an API key (HTTP 401). Give the server's key {window}.")
    assert "--api-key" not in text
    text = _refusal(needs_key, "sk-wrong", "with --api-key")
    assert text.endswith("Check the key for this server; change it with --api-key.")


def test_without_a_place_the_hint_names_none(needs_key):
    assert _refusal(needs_key, None, "").endswith("Give the server's key.")
