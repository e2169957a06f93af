"""A cancel flag shared between the thread that runs a job and the one that may stop it."""

from __future__ import annotations

import threading


class CancelToken:
    """Checked between tokens and between chunks; setting it never blocks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def reset(self) -> None:
        self._event.clear()
