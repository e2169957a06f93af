"""A guard against a PySide6 defect that crashes long sessions on Python 3.11 and older.

PySide6 (6.12 here) returns `True` from `SignalInstance.emit()` without taking a reference to
it, so every signal emitted from Python code takes one reference away from `True`, whatever the
signal carries and whether or not anything is connected. A fresh interpreter holds about 150
references to `True`: after that many emits from Python (a few seconds of streaming, a minute of
indexing progress) the count reaches zero and Python aborts with "deallocating True or False",
at the latest when it exits. Python 3.12 made `True`, `False` and `None` immortal.

A second defect of the same kind takes references from `None`: `QModelIndex.data(role)` on a
Python model whose `data()` returns None for that role (the documents table's progress role, read
by its delegate at every paint of every row) gives back None without a reference, and so does a
dict or list sent through `Signal(dict)` / `Signal(list)` for each `None` in it. A fresh
interpreter holds a few thousand references to `None`; a busy documents table (a watched folder
receiving 500 files) used them up in seconds and Python aborted with "deallocating None". So
`None` gets the same spare references as `True` and `False`. tests/app/test_gui_qt_compat.py
shows each defect.

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


def model_data_leaks_none() -> bool:
    """True when reading a role a Python model answers with None takes a reference from `None`."""
    from PySide6.QtCore import QAbstractListModel, Qt

    class Empty(QAbstractListModel):
        def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt's name)
            return 1

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            return None

    model = Empty()
    index = model.index(0, 0)
    before = sys.getrefcount(None)
    for _ in range(4):
        index.data(Qt.ItemDataRole.UserRole)
    return sys.getrefcount(None) <= before - 4


def apply() -> bool:
    """Give `True`, `False` and `None` enough references to last for ever, once, if this
    PySide6 needs it. Returns whether the guard is in place."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not emit_leaks_true() and not model_data_leaks_none():
        return False
    for value in (True, False, None):
        ctypes.c_ssize_t.from_address(id(value)).value += _SPARE_REFERENCES
    _applied = True
    return True
