"""GET requests for file transfers, with the body read in large pieces straight off the socket.

httpx hands a body over in 64 KiB pieces parsed by h11 and joined again into chunks, which costs
about three times the CPU of reading the socket directly: on loopback, a 98 MB file took 1.0 s
through `iter_raw` and 0.3 s through `http.client`'s `read1` (curl: 0.5 s with its start-up). A
download is the one place where that shows, so it uses the standard library's `http.client`.
Through a proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), httpx is kept: it knows how to use one.

Redirects are followed (the Hub sends files to its CDN); the access token goes only to the Hub's
own host, as httpx does.
"""

from __future__ import annotations

import http.client
import urllib.request
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from engine.hub.connection import CONNECT_TIMEOUT, READ_TIMEOUT, HubConnection, tls_context

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class TransferError(Exception):
    """The network failed: `connecting` is True when no connection could be made at all."""

    def __init__(self, cause: BaseException, connecting: bool) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.cause = cause
        self.connecting = connecting


class Response(Protocol):
    """An open response: its status, headers, and its body piece by piece."""

    status: int

    def header(self, name: str) -> str: ...

    def read_some(self, limit: int) -> bytes:
        """Up to `limit` bytes (b"" at the end); raises TransferError."""
        ...

    def close(self) -> None: ...


def open_get(connection: HubConnection, client: Any, url: str, headers: dict[str, str]) -> Response:
    """GET `url` and return the response once its headers are in (redirects followed).

    Args:
        client: The connection's httpx client, used when a proxy is configured.

    Raises:
        TransferError: the connection failed or dropped.
    """
    if _proxy_for(url):
        return _HttpxResponse(client, url, headers)
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        sent = dict(headers)
        if connection.token and parts.netloc == connection.host:
            sent["Authorization"] = f"Bearer {connection.token}"
        conn = _connect(parts.scheme, parts.hostname or "", parts.port)
        try:
            target = parts.path or "/"
            conn.request("GET", target + (f"?{parts.query}" if parts.query else ""), headers=sent)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransferError(exc, connecting=False) from exc
        location = response.getheader("location")
        if response.status in _REDIRECTS and location:
            conn.close()
            url = urljoin(url, location)
            continue
        return _RawResponse(conn, response)
    raise TransferError(RuntimeError(f"more than {MAX_REDIRECTS} redirects"), connecting=False)


def _connect(scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=CONNECT_TIMEOUT,
                                           context=tls_context())  # fmt: skip
    else:
        conn = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT)
    try:
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(READ_TIMEOUT)
    except OSError as exc:
        conn.close()
        raise TransferError(exc, connecting=True) from exc
    return conn


def _proxy_for(url: str) -> str:
    """The proxy configured for `url` in the environment, or ""."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all") or ""
    if proxy and urllib.request.proxy_bypass(parts.hostname or ""):
        return ""
    return proxy


class _RawResponse:
    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self._conn = conn
        self._response = response
        self.status = response.status

    def header(self, name: str) -> str:
        return self._response.getheader(name) or ""

    def read_some(self, limit: int) -> bytes:
        try:
            return self._response.read1(limit)
        except (OSError, http.client.HTTPException) as exc:
            raise TransferError(exc, connecting=False) from exc

    def close(self) -> None:
        self._conn.close()


class _HttpxResponse:
    """The same through httpx (for a proxy); its errors become TransferError as well."""

    def __init__(self, client: Any, url: str, headers: dict[str, str]) -> None:
        import httpx

        self._errors = (httpx.TransportError, OSError)
        try:
            self._context = client.stream("GET", url, headers=headers)
            self._response = self._context.__enter__()
        except self._errors as exc:
            connecting = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise TransferError(exc, connecting=connecting) from exc
        self.status = self._response.status_code
        self._chunks: Iterator[bytes] | None = None

    def header(self, name: str) -> str:
        return str(self._response.headers.get(name, ""))

    def read_some(self, limit: int) -> bytes:
        if self._chunks is None:
            self._chunks = self._response.iter_raw(limit)
        try:
            return next(self._chunks, b"")
        except self._errors as exc:
            raise TransferError(exc, connecting=False) from exc

    def close(self) -> None:
        self._context.__exit__(None, None, None)
