"""Ctrl+C handlers set a token and write past Python's buffered standard error, so a Ctrl+C
that lands while progress is being printed cannot fail with a reentrant-write error."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from app.interrupts import interruptible


class _RefusingStream:
    """Stands in for a stderr that is in the middle of a write: any write is a reentrant one."""

    def write(self, _text: str) -> int:
        raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")

    def flush(self) -> None:
        raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")


def test_the_first_ctrl_c_cancels_and_says_so_without_touching_sys_stderr(monkeypatch, capfd):
    previous = signal.getsignal(signal.SIGINT)
    with interruptible() as cancel:
        monkeypatch.setattr(sys, "stderr", _RefusingStream())
        os.kill(os.getpid(), signal.SIGINT)  # handled before the next line runs
        assert cancel.cancelled
        monkeypatch.undo()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # the second stops at once
    assert signal.getsignal(signal.SIGINT) is previous
    assert "stopping..." in capfd.readouterr().err
