"""A guard against a PySide6 defect that would crash long sessions on Python 3.11.

PySide6 6.12's `SignalInstance.emit()` returns `True` without taking a reference to it, so every
emit from Python takes one reference away from `True`. After a few thousand emits (a few minutes
of streaming) the count reaches zero and Python aborts ("bool_dealloc: deallocating True").
Python 3.12 made `True` immortal; on older versions we give it (and `False`) enough references
to last for ever. Applied once, on import, only when the defect is actually seen.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

# Far more emits than any session can make (about 10^12), far below the counter's limit.
_SPARE_REFERENCES = 1 << 40


class _Probe(QObject):
    ping = Signal()


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python takes a reference away from `True`."""
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.ping.emit()
    return sys.getrefcount(True) < before


def apply() -> bool:
    """Protect `True` and `False` if this PySide6 needs it. Returns whether it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not emit_leaks_true():
        return False
    for value in (True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += _SPARE_REFERENCES
    return True


APPLIED = apply()
