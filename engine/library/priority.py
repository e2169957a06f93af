"""Lower the scheduling priority of the calling thread, for background document work.

Linux keeps a nice value per thread, and threads a thread starts (ONNX Runtime's, torch's)
inherit it, so OCR and a folder watcher can yield the CPU to a reply being written without
touching the rest of the process. Elsewhere this does nothing: there the library process as a
whole runs below normal priority.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

# Nice increment for background document work (0 = normal priority, 19 = lowest).
BACKGROUND_NICE = 10


def lower_thread_priority(increment: int = BACKGROUND_NICE) -> bool:
    """Raise the calling thread's nice value by `increment` (at most to 19).

    Returns:
        True when the priority was lowered.
    """
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return False
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
        return True
    except OSError:
        log.info("Could not lower a background thread's priority", exc_info=True)
        return False
