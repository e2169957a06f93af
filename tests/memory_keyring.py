"""A keyring held in memory: the system keyring's stand-in on a headless test machine.

`keyring` dispatches to it exactly as to GNOME Keyring or KWallet; `use_memory_keyring` and
`use_no_keyring` (keyring's own "fail" backend, as on a machine without one) swap it in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keyring
from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    # Subclasses register with keyring; a priority that raises makes this one "not viable", so
    # keyring never picks it on its own and only the tests that install it see it.
    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("installed only by use_memory_keyring")

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@contextlib.contextmanager
def use_memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@contextlib.contextmanager
def use_no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
