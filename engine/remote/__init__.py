"""Remote engines: chats on a model served elsewhere through an OpenAI-compatible API.

- `connections`: `RemoteConnection` (address, model, limits) and `ConnectionStore` (remembered
  connections; API keys in the system keyring).
- `session`: `RemoteSession`, the engine itself (same protocol as the local `ModelSession`).
- `http`, `probe`, `tokens`, `stream`: one server's requests, what it offers, token counting and
  the streamed reply.
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.remote.address import ServerAddress
    from engine.remote.connections import (
        ConnectionStore,
        RemoteConnection,
        RemoteInfo,
        remote_label,
    )
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
    from engine.remote.session import RemoteSession, available_models

_EXPORTS = {
    "ServerAddress": "address",
    "ConnectionStore": "connections",
    "RemoteConnection": "connections",
    "remote_label": "connections",
    "RemoteAddressError": "errors",
    "RemoteAuthError": "errors",
    "RemoteError": "errors",
    "RemoteModelError": "errors",
    "RemoteProtocolError": "errors",
    "RemoteReplyError": "errors",
    "RemoteRequestError": "errors",
    "RemoteTimeoutError": "errors",
    "RemoteUnavailableError": "errors",
    "RemoteInfo": "connections",
    "RemoteSession": "session",
    "available_models": "session",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
