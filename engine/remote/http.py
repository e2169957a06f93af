"""HTTP to one OpenAI-compatible server: time limits on every request, failures in plain words.

httpx does the transport (one connection pool per server); httpx-sse reads the event stream.
Every failure leaves here as a one-line `RemoteError` subclass naming the server.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import httpx

from engine.remote.address import ServerAddress
from engine.remote.connections import DEFAULT_REPLY_TIMEOUT_S
from engine.remote.errors import (
    RemoteAuthError,
    RemoteError,
    RemoteModelError,
    RemoteProtocolError,
    RemoteRequestError,
    RemoteTimeoutError,
    RemoteUnavailableError,
)

log = logging.getLogger(__name__)

# Seconds. Connecting is quick on any network a person would use; a probe answers at once; a
# reply may wait for a long prompt to be read, so its limit is the connection's own setting.
CONNECT_TIMEOUT_S = 5.0
PROBE_TIMEOUT_S = 15.0
WRITE_TIMEOUT_S = 30.0

Base = Literal["api", "root"]

# How the resolver says a host name does not exist (glibc, macOS, Windows).
_UNKNOWN_HOST = ("name or service not known", "nodename nor servname", "getaddrinfo failed",
                 "no address associated")  # fmt: skip


class RemoteClient:
    """Requests to one server with its API key (the server-side calls of `RemoteSession`).

    Args:
        address: The server.
        api_key: Sent as "Authorization: Bearer <key>"; None sends no header.
        reply_timeout_s: Longest wait for the next bytes of a reply (its first token included).
        key_where: Where the person gives or changes the key in the program using this client
            ("with --api-key", "in the server's entry ..."), for the hint when the server
            refuses; "" for a hint that names no place.
    """

    def __init__(self, address: ServerAddress, api_key: str | None = None,
                 reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_S,
                 key_where: str = "") -> None:  # fmt: skip
        self.address = address
        self.has_key = bool(api_key)
        self.key_where = key_where
        self.reply_timeout_s = reply_timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            headers=headers,
            # A connection with a short limit (a quick LAN box, a test) uses it everywhere.
            timeout=httpx.Timeout(
                min(PROBE_TIMEOUT_S, reply_timeout_s),
                connect=min(CONNECT_TIMEOUT_S, reply_timeout_s),
                write=WRITE_TIMEOUT_S,
            ),  # fmt: skip
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def url(self, path: str, base: Base = "api") -> str:
        return (self.address.api if base == "api" else self.address.root) + path

    # -- plain requests -------------------------------------------------------------------------

    def get_json(self, path: str, base: Base = "api") -> Any:
        """GET and decode JSON.

        Raises:
            RemoteError: a subclass saying what went wrong.
        """
        return self._json(self._send("GET", path, base))

    def post_json(self, path: str, body: dict[str, Any], base: Base = "api") -> Any:
        """POST JSON and decode the JSON answer; raises as `get_json`."""
        return self._json(self._send("POST", path, base, body))

    def try_json(self, method: str, path: str, body: dict[str, Any] | None = None,
                 base: Base = "api") -> Any | None:  # fmt: skip
        """An optional endpoint: None when the server lacks it or refuses the request.

        Raises:
            RemoteError: the server cannot be reached, or refuses the API key.
        """
        try:
            return self._json(self._send(method, path, base, body))
        except (RemoteRequestError, RemoteModelError, RemoteProtocolError) as exc:
            log.debug("%s %s not offered: %s", method, self.url(path, base), exc)
            return None

    def _send(self, method: str, path: str, base: Base, body: dict[str, Any] | None = None
              ) -> httpx.Response:  # fmt: skip
        try:
            response = self._http.request(method, self.url(path, base), json=body)
        except httpx.HTTPError as exc:
            raise self.error_for_exception(exc) from exc
        if response.status_code >= 400:
            raise self.error_for_status(response)
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteProtocolError(
                f"The server at {self.address.host} does not answer like an OpenAI-compatible "
                f"server ({response.request.url.path} is not JSON).",
                "Check the address: it should point at the server's API, e.g. "
                "http://host:8080 or http://host:8080/v1.",
            ) from exc

    # -- streams --------------------------------------------------------------------------------

    def open_stream(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST and return the open response, its body not yet read (close it when done).

        Raises:
            RemoteError: as `get_json`; nothing has been received yet.
        """
        timeout = httpx.Timeout(self.reply_timeout_s,
                                connect=min(CONNECT_TIMEOUT_S, self.reply_timeout_s),
                                write=WRITE_TIMEOUT_S)  # fmt: skip
        request = self._http.build_request("POST", self.url(path), json=body, timeout=timeout)
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self.error_for_exception(exc) from exc
        if response.status_code >= 400:
            try:
                response.read()
            except httpx.HTTPError:
                pass
            finally:
                response.close()
            raise self.error_for_status(response)
        return response

    # -- errors ---------------------------------------------------------------------------------

    def error_for_exception(self, exc: Exception) -> RemoteError:
        """A network failure (`httpx.HTTPError`) as a one-line `RemoteError`."""
        host = self.address.host
        if isinstance(exc, httpx.ConnectTimeout):
            return RemoteTimeoutError(
                f"The server at {host} did not accept a connection within "
                f"{_timeout_of(exc, self):g} s.",
                "Check that the computer is on and reachable from this one.",
            )
        if isinstance(exc, httpx.TimeoutException):
            return RemoteTimeoutError(
                f"The server at {host} sent nothing for {_timeout_of(exc, self):g} s.",
                "It may be overloaded, or reading a very long prompt; try again, or raise the "
                "connection's time limit.",
            )
        if isinstance(exc, httpx.ConnectError):
            reason = str(exc).lower()
            if any(words in reason for words in _UNKNOWN_HOST):
                return RemoteUnavailableError(
                    f"The address {host} could not be found.",
                    "Check the server's name, or use its IP address.",
                )
            return RemoteUnavailableError(
                f"Nothing answers at {self.address.root} (connection refused).",
                "Check that the server is running and that the address and port are right.",
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return RemoteUnavailableError(
                f"The server at {host} closed the connection.",
                "It may have stopped or restarted; try again.",
            )
        return RemoteUnavailableError(f"Could not talk to the server at {host}: {_one_line(exc)}.")

    def error_for_status(self, response: httpx.Response) -> RemoteError:
        """An HTTP error answer as a one-line `RemoteError`, with the server's own reason."""
        error = self._error_for_status(response)
        error.status = response.status_code
        return error

    def _error_for_status(self, response: httpx.Response) -> RemoteError:
        host = self.address.host
        status = response.status_code
        reason = server_reason(response)
        said = f": {reason}" if reason else ""
        if status in (401, 403):
            where = f" {self.key_where}" if self.key_where else ""
            if self.has_key:
                return RemoteAuthError(
                    f"The server at {host} refused the API key (HTTP {status}).",
                    f"Check the key for this server{f'; change it{where}' if where else ''}.",
                )
            return RemoteAuthError(
                f"The server at {host} needs an API key (HTTP {status}).",
                f"Give the server's key{where}.",
            )
        path = response.request.url.path
        if status == 404 and "model" in reason.lower():
            return RemoteModelError(f"The server at {host} has no such model{said}.")
        if status in (404, 405):
            return RemoteProtocolError(
                f"The server at {host} has no {path} (HTTP {status}).",
                "Check the address: it should point at an OpenAI-compatible API, e.g. "
                "http://host:8080 or http://host:8080/v1.",
            )
        if status == 429:
            wait = response.headers.get("Retry-After", "")
            return RemoteRequestError(
                f"The server at {host} is busy with other requests (HTTP 429){said}.",
                f"Try again in {wait} s." if wait.isdigit() else "Try again in a moment.",
            )
        if status >= 500:
            return RemoteRequestError(f"The server at {host} failed (HTTP {status}){said}.")
        return RemoteRequestError(
            f"The server at {host} refused the request (HTTP {status}){said}."
        )


def server_reason(response: httpx.Response, limit: int = 200) -> str:
    """The reason a server gave in an error body, on one line; "" if it gave none.

    Understands OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, Ollama's {"error": "..."}
    and a plain-text body.
    """
    try:
        text = response.text
    except (httpx.HTTPError, UnicodeDecodeError):
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return _one_line(text, limit) if "<html" not in text.lower() else ""
    return _one_line(reason_in(data), limit)


def reason_in(data: Any) -> str:
    """The message of an error object as OpenAI, FastAPI, llama.cpp or Ollama write it."""
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if key in data:
                return reason_in(data[key])
        return ""
    if isinstance(data, list):  # FastAPI's validation errors: [{"loc", "msg"}, ...]
        return "; ".join(reason_in(item) or str(item.get("msg", "")) for item in data
                         if isinstance(item, dict))  # fmt: skip
    return str(data) if data is not None else ""


def _one_line(value: object, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _timeout_of(exc: httpx.TimeoutException, client: RemoteClient) -> float:
    try:
        timeout = exc.request.extensions.get("timeout", {})
    except RuntimeError:  # raised by httpx when the exception carries no request
        timeout = {}
    key = {httpx.WriteTimeout: "write", httpx.ConnectTimeout: "connect"}.get(type(exc), "read")
    value = timeout.get(key) if isinstance(timeout, dict) else None
    return float(value) if value else client.reply_timeout_s
