"""Small real disks for tests: a tmpfs of a given size, which can be filled or made read-only.

Mounting needs root (or CAP_SYS_ADMIN); where that is not allowed the tests that need a real
disk skip, and the fault-injection tests beside them cover the same code paths.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, timeout=30).returncode == 0


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted at `folder` for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _mount("-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)):
        pytest.skip("cannot mount a small disk here (needs root); fault injection covers it")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def read_only(folder: Path, on: bool = True) -> None:
    """Remount the small disk at `folder` read-only (or writable again)."""
    import gc
    import time

    # A remount to read-only fails while a file is open for writing: chromadb's clients let go
    # of theirs when collected, so collect and wait a little before giving up.
    for _ in range(20):
        if _mount("-o", f"remount,{'ro' if on else 'rw'}", str(folder)):
            return
        gc.collect()
        time.sleep(0.25)
    raise AssertionError(f"could not remount {folder} {'read-only' if on else 'writable'}")


def fill(folder: Path, leave_bytes: int = 0) -> Path:
    """Fill the disk holding `folder` up to `leave_bytes` free; delete the file to free it."""
    import shutil

    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free - leave_bytes
    with filler.open("wb") as stream:
        block = b"\0" * 2**16
        with contextlib.suppress(OSError):
            while free > 0:
                stream.write(block[: min(len(block), free)])
                free -= len(block)
            stream.flush()
    return filler
