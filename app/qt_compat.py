"""A guard against a PySide6 defect that crashes long sessions on Python 3.11 and older.

PySide6 (6.12 here) returns `True` from `SignalInstance.emit()` without taking a reference to
it, so every signal emitted from Python code takes one reference away from `True`, whatever the
signal carries and whether or not anything is connected. A fresh interpreter holds about 150
references to `True`: after that many emits from Python (a few seconds of streaming, a minute of
indexing progress) the count reaches zero and Python aborts with "deallocating True or False",
at the latest when it exits. Python 3.12 made `True`, `False` and `None` immortal.

(A second defect, a dict or list sent through `Signal(dict)` / `Signal(list)` losing a reference
to each `None` in it, no longer concerns Hearth: its signals carry typed records as
`Signal(object)`, which passes the object itself. tests/app/test_gui_qt_compat.py shows both.)

Every entry point that runs Qt calls `apply()` before the first emit: the window (app.gui),
`hearth --self-test`, the benchmarks and the test suite.
"""

from __future__ import annotations

import ctypes
import sys

# Far more emits than any session can make (about 10^12), far below the counter's limit.
_SPARE_REFERENCES = 1 << 40
_applied = False


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python takes a reference away from `True`."""
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    before = sys.getrefcount(True)
    for _ in range(4):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - 4


def apply() -> bool:
    """Give `True` and `False` enough references to last for ever, once, if this PySide6 needs
    it. Returns whether the guard is in place."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not emit_leaks_true():
        return False
    for value in (True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += _SPARE_REFERENCES
    _applied = True
    return True
