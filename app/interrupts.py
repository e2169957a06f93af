"""Ctrl+C in the command line: the first stops the job cleanly, the second stops at once.

A Python signal handler runs between two bytecodes of the main thread, which may be in the middle
of writing progress to standard error. Printing from the handler then re-enters the same
buffered stream and fails with "reentrant call inside <_io.BufferedWriter name='<stderr>'>",
which ended `hearth quantize` with "unexpected error" instead of stopping it. So a handler here
only sets a token, and writes with os.write, straight to the file descriptor.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from engine.cancel import CancelToken


def say_from_handler(text: str) -> None:
    """Write `text` to standard error from a signal handler, past Python's buffered stream."""
    # No terminal to tell (OSError, ValueError): stopping matters, not the words.
    with contextlib.suppress(OSError, ValueError):
        os.write(sys.__stderr__.fileno() if sys.__stderr__ else 2, text.encode("utf-8", "replace"))


class interruptible:  # noqa: N801 (used as a statement: `with interruptible() as cancel`)
    """Within the block, the first Ctrl+C cancels the token it gives (the job stops cleanly and
    says so) and a second raises KeyboardInterrupt; the previous handler comes back after."""

    def __enter__(self) -> CancelToken:
        self.cancel = CancelToken()

        def on_interrupt(*_: Any) -> None:
            if self.cancel.cancelled:
                raise KeyboardInterrupt
            self.cancel.cancel()
            say_from_handler("\nstopping...\n")

        self.previous = signal.signal(signal.SIGINT, on_interrupt)
        return self.cancel

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)
