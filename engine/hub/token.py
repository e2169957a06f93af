"""The Hub access token (for gated models), kept in the system keyring, never in the settings file."""

from __future__ import annotations

from engine.hub.connection import HubError
from engine.secrets import SecretStoreError, delete_secret, get_secret, set_secret

TOKEN_NAME = "huggingface-token"
WHAT = "the access token"


def load_token() -> str:
    """The stored token, or "" when none is stored or there is no usable keyring (downloads of
    public models need no token)."""
    try:
        return get_secret(TOKEN_NAME, WHAT) or ""
    except SecretStoreError:
        return ""


def save_token(token: str) -> None:
    """Store `token` (an empty one deletes it).

    Raises:
        HubError: no keyring, or it refused.
    """
    token = token.strip()
    try:
        if token:
            set_secret(TOKEN_NAME, token, WHAT)
        else:
            delete_secret(TOKEN_NAME, WHAT)
    except SecretStoreError as exc:
        raise HubError(exc.message, exc.hint) from exc
