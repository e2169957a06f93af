"""Pass frequent updates on at most once per interval, merging what arrives in between.

    batch = Throttle(send, interval_s=1 / 30, merge=lambda old, new: old + new)
    for piece in stream:
        batch(piece)        # calls send(...) at most ~30 times a second
    batch.flush()           # and once more with whatever is left

It runs on the producing thread and needs no event loop, so a model that writes 300 tokens a
second costs the window 30 updates, not 300. The default merge keeps the newest value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Text reaches the window at most this often: smooth to read, and far below what floods it.
TOKEN_INTERVAL_S = 1 / 30


def _newest(_old: T, new: T) -> T:
    return new


class Throttle(Generic[T]):
    """Calls `emit` with the merged pending value when `interval_s` has passed since the last call.

    Args:
        emit: Receives each merged value.
        interval_s: The shortest time between two calls of `emit`.
        merge: Combines a pending value with a newer one (default: keep the newer).
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        emit: Callable[[T], None],
        interval_s: float,
        merge: Callable[[T, T], T] = _newest,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._interval = interval_s
        self._merge = merge
        self._clock = clock
        self._pending: T | None = None
        self._has_pending = False
        self._last = float("-inf")

    def __call__(self, value: T) -> None:
        if self._has_pending:
            self._pending = self._merge(self._pending, value)  # type: ignore[arg-type]
        else:
            self._pending, self._has_pending = value, True
        if self._clock() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Send what is pending now, if anything."""
        if not self._has_pending:
            return
        value, self._pending, self._has_pending = self._pending, None, False
        self._last = self._clock()
        self._emit(value)  # type: ignore[arg-type]
