"""Secrets (API keys, the Hub token) in the system keyring, through the `keyring` package.

They are never written to Hearth's own files. Where the computer has no keyring (a headless
Linux box without Secret Service, say), or it is locked or broken, `SecretStoreError` says so in
one line, with what to do.
"""

from __future__ import annotations

import logging

from engine.errors import HearthError

log = logging.getLogger(__name__)

SERVICE = "Hearth"
INSTALL_HINT = "Install and unlock one (GNOME Keyring or KWallet on Linux), then try again."


class SecretStoreError(HearthError):
    """The system keyring is missing, locked or failed."""


def get_secret(name: str, what: str = "the key", instead: str = "") -> str | None:
    """The secret stored under `name`, or None if there is none.

    Args:
        what: The secret in words, for the message ("the API key").
        instead: Another way to give it, for the hint ("give the key with --api-key").

    Raises:
        SecretStoreError: no usable keyring.
    """
    import keyring

    try:
        return keyring.get_password(SERVICE, name)
    except Exception as exc:  # backends raise their own errors (D-Bus, locked, missing)
        raise _error(exc, "read", what, instead) from exc


def set_secret(name: str, value: str, what: str = "the key", instead: str = "") -> None:
    """Store `value` under `name`, replacing any earlier one; raises as `get_secret`."""
    import keyring

    try:
        keyring.set_password(SERVICE, name, value)
    except Exception as exc:
        raise _error(exc, "keep", what, instead) from exc


def delete_secret(name: str, what: str = "the key", instead: str = "") -> None:
    """Forget the secret under `name` (nothing happens if there is none); raises as `get_secret`."""
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        pass
    except Exception as exc:
        raise _error(exc, "remove", what, instead) from exc


def _error(exc: Exception, action: str, what: str, instead: str) -> SecretStoreError:
    from keyring.errors import NoKeyringError

    log.info("The keyring could not %s %s: %r", action, what, exc)  # the caller decides
    hint = (
        INSTALL_HINT
        if not instead
        else INSTALL_HINT[: -len(", then try again.")] + (f", or {instead}.")
    )
    if isinstance(exc, NoKeyringError):
        return SecretStoreError(f"This computer has no keyring to {action} {what} in.", hint)
    reason = " ".join(str(exc).split())[:120] or type(exc).__name__
    return SecretStoreError(f"The system keyring could not {action} {what} ({reason}).", hint)
