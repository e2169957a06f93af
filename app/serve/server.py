"""Run the API with uvicorn on a socket bound first, so a busy port is a sentence, not a trace.

server = ApiServer(app, "127.0.0.1", 8080)   # raises HearthError when it cannot listen
server.serve_forever()                       # `hearth serve`: until Ctrl+C
server.start(); ...; server.stop()           # the window and the tests: on a thread
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from typing import Any

from app.serve.auth import resolve_host
from engine.errors import HearthError

log = logging.getLogger(__name__)

# How long a stopping server lets open replies end before closing them (seconds).
GRACEFUL_S = 2
STARTUP_TIMEOUT_S = 10.0


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port` (0: any free port), not yet listening.

    Raises:
        HearthError: The address is not this computer's, the port is taken or privileged.
    """
    family, kind, proto, _, address = resolve_host(host, port)
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, port) from exc
    sock.set_inheritable(True)
    return sock


def _bind_error(exc: OSError, host: str, port: int) -> HearthError:
    if exc.errno == errno.EADDRINUSE:
        return HearthError(f"Port {port} on {host} is already in use by another program.",
                           "Choose another with --port, or stop that program.")  # fmt: skip
    if exc.errno == errno.EACCES:
        return HearthError(f"Listening on port {port} needs administrator rights.",
                           "Choose a port above 1023 with --port.")  # fmt: skip
    if exc.errno == errno.EADDRNOTAVAIL:
        return HearthError(f"{host} is not an address of this computer.",
                           "Use 127.0.0.1, 0.0.0.0 or one of its addresses.")  # fmt: skip
    return HearthError(f"Cannot listen on {host} port {port}: {exc.strerror or exc}.")


class ApiServer:
    """uvicorn serving `app` on `host`:`port`.

    Args:
        app: An ASGI application (`app.serve.app.build_app`).
        host: The address to listen on.
        port: The TCP port; 0 picks a free one (see `port` once built).
        sock: A socket already bound to `host` (`bind`), used instead of binding one now.

    Raises:
        HearthError: The socket cannot be bound (see `bind`).
    """

    def __init__(self, app: Any, host: str, port: int = 0,
                 sock: socket.socket | None = None) -> None:  # fmt: skip
        import uvicorn

        self.host = host
        self.socket = sock if sock is not None else bind(host, port)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=GRACEFUL_S, ws="none")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. "http://127.0.0.1:8080/v1"."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}/v1"

    def serve_forever(self) -> None:
        """Answer requests on this thread until Ctrl+C (SIGINT or SIGTERM), then close."""
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Answer requests on a thread of their own; returns once the server listens.

        Raises:
            HearthError: It did not start within `timeout_s`.
        """
        self._thread = threading.Thread(target=self.serve_forever, name="api-server",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise HearthError("The API server did not start.")
            time.sleep(0.02)

    @property
    def running(self) -> bool:
        """True while the server's thread (from `start`) runs."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = GRACEFUL_S + 3) -> None:
        """Stop answering and close the socket (open replies get `GRACEFUL_S` to end)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
