"""A guard against two PySide6 defects that would crash long sessions on Python 3.11.

PySide6 6.12 gives back references it never took:
- `SignalInstance.emit()` returns `True` without taking a reference to it, so every emit from
  Python takes one reference away from `True`;
- a dict passed through a `Signal(dict)` comes back with its `None` values unreferenced, so every
  such emit takes one reference away from `None` per `None` value (progress and stats dicts
  carry several).
After enough emits (minutes of streaming, or one long indexing run) the count reaches zero and
Python aborts ("deallocating True" / "deallocating None"), at the latest when it exits.
Python 3.12 made both immortal; on older versions we give them enough references to last for
ever. Applied once, on import, only when a defect is actually seen.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

# Far more emits than any session can make (about 10^12), far below the counter's limit.
_SPARE_REFERENCES = 1 << 40


class _Probe(QObject):
    ping = Signal()
    carry = Signal(dict)


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python takes a reference away from `True`."""
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.ping.emit()
    return sys.getrefcount(True) < before


def dict_signal_leaks_none() -> bool:
    """True when a dict sent through a signal takes references away from `None`."""
    probe = _Probe()
    probe.carry.connect(lambda _payload: None)
    payload = {str(n): None for n in range(8)}
    before = sys.getrefcount(None)
    probe.carry.emit(payload)
    # Other code can move None's count by a few; eight leaked references is the defect.
    return sys.getrefcount(None) <= before - len(payload)


def apply() -> bool:
    """Protect `True`, `False` and `None` if this PySide6 needs it. Returns whether it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    protect = []
    if emit_leaks_true():
        protect += [True, False]
    if dict_signal_leaks_none():
        protect.append(None)
    for value in protect:
        ctypes.c_ssize_t.from_address(id(value)).value += _SPARE_REFERENCES
    return bool(protect)


APPLIED = apply()
