"""Download states and progress records: what a download job reports, ready for a signal or JSON."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class DownloadState(str, Enum):
    """Where a download stands. The last four end a run of the job (paused can be resumed)."""

    QUEUED = "queued"
    CHECKING = "checking"  # free disk, an earlier partial download
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"  # SHA-256 against the Hub's checksum
    DONE = "done"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (DownloadState.DONE, DownloadState.PAUSED, DownloadState.CANCELLED,
                        DownloadState.FAILED)  # fmt: skip


@dataclass(frozen=True)
class DownloadProgress:
    """One report from a download job.

    Attributes:
        job_id: The queue's id for the job.
        repo_id, name: The model on the Hub (`name`: its file, or a split model's first part).
        state: See `DownloadState`.
        done_bytes, total_bytes: Bytes on disk so far and in all, over every part.
        bytes_per_s: Transfer speed over the last few seconds (0 when not transferring).
        seconds_left: Time left at that speed; None when unknown.
        part, parts: The part being transferred (1-based) and how many there are.
        resumed_from: Bytes that were already on disk from an earlier, interrupted run.
        message: For failed, paused and cancelled: why, in one line. For done: where it went.
        path: When done, the model file to load (a split model's first part).
    """

    job_id: str
    repo_id: str
    name: str
    state: DownloadState
    done_bytes: int = 0
    total_bytes: int = 0
    bytes_per_s: float = 0.0
    seconds_left: float | None = None
    part: int = 1
    parts: int = 1
    resumed_from: int = 0
    message: str = ""
    path: str = ""

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


class DownloadControl:
    """Pause and cancel flags for one running job; set from any thread, checked between chunks."""

    def __init__(self) -> None:
        self._pause = threading.Event()
        self._cancel = threading.Event()

    def pause(self) -> None:
        self._pause.set()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def stopping(self) -> bool:
        return self._pause.is_set() or self._cancel.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on pause or cancel; True when stopping."""
        if self._cancel.wait(0):
            return True
        return self._pause.wait(seconds) or self._cancel.is_set()
