"""Import modules ahead of their first use, on a worker thread, without long GIL holds.

A worker thread that imports still shares the GIL with the window. Python's cyclic garbage
collector runs inside whatever allocation crosses its threshold, and a full collection walks
every object the process has (Qt's wrappers, every module): 27-33 ms with the GIL held, during
which the window cannot paint (bench/ui.py --startup-only). So the collector waits while these
imports run, and what exists then is frozen (gc.freeze): later full collections skip it.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterable


def import_ahead(names: Iterable[str]) -> None:
    """Import each module in `names`, in order, with the garbage collector paused; then move
    every object that exists into the collector's permanent generation.

    Objects frozen this way are never collected, even if they become garbage later: fine for
    modules and the window, which live as long as the app.

    Raises:
        ImportError: A module cannot be imported (the collector runs again all the same).
    """
    gc.disable()
    try:
        for name in names:
            importlib.import_module(name)
    finally:
        gc.freeze()
        gc.enable()
