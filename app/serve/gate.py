"""How many requests may wait for the model: one runs, up to `limit` wait in order, more get 429."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from app.serve.errors import ApiError

# What a request is assumed to take before any has finished (seconds).
FIRST_ESTIMATE_S = 5.0


class Gate:
    """Admits requests while at most `limit` would wait behind the running one. Thread-safe.

    Args:
        limit: Requests that may wait (0: only the one being answered).

    Attributes:
        served: Requests that ran to their end (answered, failed or cancelled).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.served = 0
        self._active = 0
        self._lock = threading.Lock()
        self._average_s = FIRST_ESTIMATE_S

    @property
    def active(self) -> int:
        """Requests admitted and not yet ended (the running one included)."""
        return self._active

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a place for one request while the block runs.

        Raises:
            ApiError: 429 with `Retry-After` (seconds) when the queue is full.
        """
        with self._lock:
            if self._active > self.limit:
                retry = max(1, math.ceil(self._average_s * (self._active - self.limit)))
                raise ApiError(
                    429,
                    f"The model is busy: {self._active} requests are running or waiting "
                    f"(at most {self.limit} may wait). Try again in {retry} s.",
                    code="queue_full",
                    headers={"Retry-After": str(retry)},
                )
            self._active += 1
        started = time.monotonic()
        try:
            yield
        finally:
            took = time.monotonic() - started
            with self._lock:
                self._active -= 1
                self.served += 1
                self._average_s = 0.8 * self._average_s + 0.2 * took
