"""Secrets (API keys, tokens) in the system keyring, through the `keyring` package.

They are never written to Hearth's own files. Where the computer has no keyring (a headless
Linux box without Secret Service, say) the error says so and what to do instead.
"""

from __future__ import annotations

import logging

from engine.errors import HearthError

log = logging.getLogger(__name__)

SERVICE = "Hearth"


class SecretStoreError(HearthError):
    """The system keyring is missing, locked or failed."""


def get_secret(name: str) -> str | None:
    """The secret stored under `name`, or None if there is none.

    Raises:
        SecretStoreError: no usable keyring.
    """
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, name)
    except KeyringError as exc:
        raise _error(exc, "read") from exc


def set_secret(name: str, value: str) -> None:
    """Store `value` under `name`, replacing any earlier one.

    Raises:
        SecretStoreError: no usable keyring (nothing was stored).
    """
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, name, value)
    except KeyringError as exc:
        raise _error(exc, "store") from exc


def delete_secret(name: str) -> None:
    """Forget the secret under `name`; nothing happens if there is none.

    Raises:
        SecretStoreError: no usable keyring.
    """
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        pass
    except KeyringError as exc:
        raise _error(exc, "remove") from exc


def _error(exc: Exception, action: str) -> SecretStoreError:
    from keyring.errors import NoKeyringError

    log.warning("Keyring could not %s a secret: %s", action, exc)
    if isinstance(exc, NoKeyringError):
        return SecretStoreError(
            f"This computer has no system keyring to {action} the key in.",
            "Install and unlock one (GNOME Keyring or KWallet on Linux), or give the key each "
            "time instead (--api-key, or the HEARTH_API_KEY environment variable).",
        )
    return SecretStoreError(
        f"The system keyring could not {action} the key ({' '.join(str(exc).split())[:120]}).",
        "Unlock the keyring and try again.",
    )
