"""What can go wrong with a remote engine, one class per thing a person would do differently."""

from __future__ import annotations

from engine.errors import HearthError


class RemoteError(HearthError):
    """A remote engine could not be used; the message is one line naming the server.

    Attributes:
        status: The HTTP status the server answered with, 0 when there was no answer.
    """

    status: int = 0


class RemoteAddressError(RemoteError):
    """The address is not an http(s) URL of a server."""


class RemoteUnavailableError(RemoteError):
    """Nothing answers at the address: server down, wrong port, unknown host, connection cut."""


class RemoteTimeoutError(RemoteError):
    """The server took longer than the connection's time limit to answer."""


class RemoteAuthError(RemoteError):
    """The server wants an API key, or refused the one given (HTTP 401/403)."""


class RemoteModelError(RemoteError):
    """The server does not offer the named model, or offers several and none was named."""


class RemoteRequestError(RemoteError):
    """The server answered but refused or failed the request (HTTP 4xx/5xx with its reason)."""


class RemoteProtocolError(RemoteError):
    """Something answers, but not like an OpenAI-compatible server."""


class RemoteReplyError(RemoteError):
    """A reply broke off part-way; the text received before is kept, marked as cut."""
