"""Emitting signals many times must not wear out Python's `True` (a PySide6 6.12 defect)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

import app.qt_compat


class Chatty(QObject):
    said = Signal(str, int)


def test_many_emits_leave_true_alive():
    chatty = Chatty()
    received = []
    chatty.said.connect(lambda text, n: received.append(n))
    before = sys.getrefcount(True)
    for number in range(20000):  # more than True's references in a fresh interpreter
        chatty.said.emit("piece", number)
    assert len(received) == 20000
    assert sys.getrefcount(True) > 1000
    if app.qt_compat.APPLIED:
        assert before > 1 << 39
