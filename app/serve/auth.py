"""Who may use the server: loopback only unless a key is set, and the key on every request."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from typing import Any

from engine.errors import HearthError

KEY_BYTES = 24


def is_loopback(host: str) -> bool:
    """True for an address only this computer can reach ("127.0.0.1", "::1", "localhost")."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_host(host: str, port: int = 0) -> tuple[Any, ...]:
    """getaddrinfo's first answer for a listening TCP socket on `host`:`port`.

    Raises:
        HearthError: `host` names no address of this computer (or none at all).
    """
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise HearthError(f"'{host}' is not an address this computer has.",
                          "Use 127.0.0.1, 0.0.0.0 or one of its addresses.") from exc  # fmt: skip


def check_bind(host: str, api_key: str) -> None:
    """Refuse an address that is not one, then listening beyond this computer without a key.

    Raises:
        HearthError: `host` is not an address, or not a loopback one and `api_key` is empty.
    """
    resolve_host(host)
    if not is_loopback(host) and not api_key:
        raise HearthError(
            f"Listening on {host} lets other computers use the model, so it needs an API key.",
            "Give one with --api-key (or $HEARTH_SERVE_API_KEY), or listen on 127.0.0.1.",
        )


def new_key() -> str:
    """A fresh random API key ("sk-hearth-" and 32 URL-safe characters)."""
    return "sk-hearth-" + secrets.token_urlsafe(KEY_BYTES)


def key_matches(authorization: str | None, api_key: str) -> bool:
    """Whether an `Authorization: Bearer <key>` header carries `api_key`, compared in constant
    time. Any request passes when the server has no key."""
    if not api_key:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), api_key.encode("utf-8"))
