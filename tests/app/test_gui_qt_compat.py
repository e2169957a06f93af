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


class Reporter(QObject):
    progress = Signal(dict)


def test_many_dicts_with_none_leave_none_alive():
    reporter = Reporter()
    received = []
    reporter.progress.connect(received.append)
    # Like the documents panel's progress: several None values per update.
    for number in range(40000):  # more than None's references in a fresh interpreter
        reporter.progress.emit({"file": number, "pages": None, "chunks": None, "error": None})
    assert len(received) == 40000
    assert sys.getrefcount(None) > 1000
