"""Remote engines: chats on a model served elsewhere through an OpenAI-compatible API.

- `connections`: `RemoteConnection` (address, model, limits) and `ConnectionStore` (remembered
  connections; API keys in the system keyring).
- `session`: `RemoteSession`, the engine itself (same protocol as the local `ModelSession`).
- `http`, `probe`, `tokens`, `stream`: one server's requests, what it offers, token counting and
  the streamed reply.
"""

from engine.remote.address import ServerAddress
from engine.remote.connections import ConnectionStore, RemoteConnection, remote_label
from engine.remote.errors import (
    RemoteAddressError,
    RemoteAuthError,
    RemoteError,
    RemoteModelError,
    RemoteProtocolError,
    RemoteReplyError,
    RemoteRequestError,
    RemoteTimeoutError,
    RemoteUnavailableError,
)
from engine.remote.session import RemoteInfo, RemoteSession, available_models

__all__ = [
    "ConnectionStore",
    "RemoteAddressError",
    "RemoteAuthError",
    "RemoteConnection",
    "RemoteError",
    "RemoteInfo",
    "RemoteModelError",
    "RemoteProtocolError",
    "RemoteReplyError",
    "RemoteRequestError",
    "RemoteSession",
    "RemoteTimeoutError",
    "RemoteUnavailableError",
    "ServerAddress",
    "available_models",
    "remote_label",
]
