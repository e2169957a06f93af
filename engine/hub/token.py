"""The Hub access token (for gated models), kept in the system keyring, never in the settings file."""

from __future__ import annotations

from engine.hub.connection import HubError

SERVICE = "Hearth"
USERNAME = "huggingface-token"


def _keyring():  # type: ignore[no-untyped-def]
    """The keyring module, or HubError when this system has no keyring to keep secrets in."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError as exc:
        raise HubError("The keyring package is not installed, so no token can be kept.") from exc
    if isinstance(keyring.get_keyring(), fail.Keyring):
        raise HubError(
            "This system has no keyring to keep the access token in.",
            "Install and unlock one (GNOME Keyring, KWallet, or the OS keychain), then try again.",
        )
    return keyring


def load_token() -> str:
    """The stored token, or "" when none is stored or there is no keyring (downloads of public
    models need no token)."""
    try:
        keyring = _keyring()
        return keyring.get_password(SERVICE, USERNAME) or ""
    except HubError:
        return ""
    except Exception:  # a locked or broken keyring: work without the token
        return ""


def save_token(token: str) -> None:
    """Store `token` (an empty one deletes it).

    Raises:
        HubError: no keyring, or it refused.
    """
    keyring = _keyring()
    token = token.strip()
    try:
        if token:
            keyring.set_password(SERVICE, USERNAME, token)
        elif keyring.get_password(SERVICE, USERNAME) is not None:
            keyring.delete_password(SERVICE, USERNAME)
    except Exception as exc:
        raise HubError(f"The keyring refused to store the token: {exc}.") from exc
