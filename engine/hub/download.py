"""Download a model from the Hub: resumable, verified, and added to the catalog when complete.

`download_model` is a plain function that yields `DownloadProgress` records (a Qt worker only
forwards them). Bytes go to a `.part` file in the cache folder through HTTP range requests, so an
interrupted download (paused, a dropped connection, the app killed) continues where it stopped.
A part moves into the models folder only after its SHA-256 matches the Hub's LFS checksum; on a
mismatch the part is deleted and the job says so. A split model's parts are fetched one after
another into one folder, which is how llama.cpp loads them (from the first part).

Why not `huggingface_hub.hf_hub_download`: it resumes from its own `.incomplete` files, but it
cannot be paused or cancelled from another thread (only by killing its thread), reports progress
only through a tqdm bar, writes into the Hugging Face cache layout (blobs and symlinks) instead of
the models folder, and does not check the finished file against the LFS checksum.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import queue
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.catalog import DownloadRecord, ModelCatalog
from engine.errors import HearthError
from engine.hub.connection import HubConnection, HubError
from engine.hub.listing import RemoteFile, RemoteModel
from engine.hub.progress import DownloadControl, DownloadProgress, DownloadState
from engine.hub.raw_http import Response, TransferError, open_get
from engine.hub.store import DownloadStore
from engine.storage import check_free_space, nearest_existing

log = logging.getLogger(__name__)

# Free space kept beyond the download itself: 2% of it, at least 256 MiB.
DISK_MARGIN_MIN = 256 * 2**20
DISK_MARGIN_SHARE = 0.02
# A dropped connection, a stalled one or a 5xx answer is retried this many times, waiting 1, 2,
# 4... s between. A refused connection is not: the machine is offline and the person hears so.
RETRIES = 5
RETRY_WAIT_MAX = 8.0
CHUNK = 1 << 20
PROGRESS_INTERVAL = 0.25  # seconds between progress records while transferring
SPEED_WINDOW = 3.0  # seconds of history behind the speed shown


class DownloadError(HubError):
    """A download that stopped; `kept` says whether the partial file is kept for resuming."""

    def __init__(self, message: str, hint: str = "", kept: bool = True) -> None:
        super().__init__(message, hint)
        self.kept = kept


@dataclass(frozen=True)
class DownloadRequest:
    """One model to download. `license` is kept with it in the catalog."""

    model: RemoteModel
    license: str = ""


def disk_margin(size: int) -> int:
    return max(DISK_MARGIN_MIN, int(size * DISK_MARGIN_SHARE))


def download_model(
    connection: HubConnection,
    request: DownloadRequest,
    store: DownloadStore,
    catalog: ModelCatalog,
    control: DownloadControl | None = None,
    job_id: str = "",
) -> Iterator[DownloadProgress]:
    """Download `request.model` (every part), verify it, add it to the catalog.

    Yields progress records; the last one is DONE (with `path`), PAUSED (the part is kept and a
    later call resumes), CANCELLED (the part is deleted) or FAILED (with a one-line `message`).
    Never raises for a failure a person can act on.
    """
    control = control or DownloadControl()
    model = request.model
    base = DownloadProgress(job_id, model.repo_id, model.name, DownloadState.CHECKING,
                            total_bytes=model.size, parts=len(model.parts))  # fmt: skip
    yield base
    meter = _Meter(base, model)  # a failure says how far the download got
    try:
        if not model.complete:
            raise DownloadError(
                f"{model.name} is a split model and the Hub is missing some of its parts.",
                kept=False,
            )
        existing = _check_before_start(store, catalog, model)
        if existing is not None:
            yield replace(base, state=DownloadState.DONE, done_bytes=model.size,
                          path=str(existing), message=f"Already downloaded: {existing}")  # fmt: skip
            return
        yield from _fetch_all(connection, request, store, catalog, control, meter)
    except DownloadError as exc:
        if not exc.kept:
            store.discard(model)
        yield meter.state(DownloadState.FAILED, str(exc))
    except HearthError as exc:
        yield meter.state(DownloadState.FAILED, str(exc))
    except Exception as exc:  # a bug: keep the part, say so in one line, details in the log
        log.exception("Download of %s failed", model.name)
        yield meter.state(DownloadState.FAILED, f"Unexpected error: {exc}")


def _check_before_start(
    store: DownloadStore, catalog: ModelCatalog, model: RemoteModel
) -> Path | None:
    """The model's path when it is already downloaded; else raise when the disk is too small."""
    first = store.final_path(model, 0)
    if any(Path(r.path) == first and Path(r.path).is_file() for r in catalog.downloads()):
        return first
    record = store.load_record(model)
    remaining = 0
    for index, part in enumerate(model.parts):
        if _placed(store, model, index):
            continue
        partial = store.part_path(model, index)
        have = partial.stat().st_size if record and partial.is_file() else 0
        remaining += max(0, part.size - have)
    check_free_space(store.cache_dir, remaining + disk_margin(model.size), f"download {model.name}")
    if _device(store.models_dir) != _device(store.cache_dir):
        check_free_space(store.models_dir, model.size + disk_margin(model.size),
                         f"move {model.name} into {store.models_dir}")  # fmt: skip
    return None


def _fetch_all(
    connection: HubConnection,
    request: DownloadRequest,
    store: DownloadStore,
    catalog: ModelCatalog,
    control: DownloadControl,
    meter: _Meter,
) -> Iterator[DownloadProgress]:
    model = request.model
    record = store.load_record(model)
    if not record:
        store.discard(model)  # parts left by another revision of the same file
    etags: dict[str, str] = dict(record.get("etags", {}))
    store.save_record(model, etags)
    with connection.http_client() as client:
        for index, part in enumerate(model.parts):
            if _placed(store, model, index):
                meter.skip(part.size)
                continue
            transfer = _PartTransfer(connection, client, store, model, index, etags, control)
            yield from transfer.run(meter)
            if control.stopping:
                break
            yield meter.state(DownloadState.VERIFYING)
            transfer.verify()
            _move(store.part_path(model, index), store.final_path(model, index))
            meter.part_done()
    if control.cancelled:
        store.discard(model)
        yield meter.state(
            DownloadState.CANCELLED, "Download cancelled; the partial file was deleted."
        )
        return
    if control.paused:
        yield meter.state(DownloadState.PAUSED, "Paused; resume to continue where it stopped.")
        return
    first = store.final_path(model, 0)
    catalog.add_download(_record(request, store))
    store.discard(model)
    yield replace(meter.state(DownloadState.DONE, f"Downloaded to {first}"), path=str(first))


def _placed(store: DownloadStore, model: RemoteModel, index: int) -> bool:
    """Only verified parts are ever moved into the models folder, so one there of the right size
    is complete."""
    final = store.final_path(model, index)
    return final.is_file() and final.stat().st_size == model.parts[index].size


def _record(request: DownloadRequest, store: DownloadStore) -> DownloadRecord:
    model = request.model
    parts = tuple(str(store.final_path(model, i)) for i in range(len(model.parts)))
    return DownloadRecord(
        path=parts[0],
        parts=parts,
        repo_id=model.repo_id,
        revision=model.revision,
        file=model.name,
        quant=model.quant,
        size=model.size,
        sha256=tuple(part.sha256 for part in model.parts),
        license=request.license,
        downloaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


class _Meter:
    """Bytes done over all parts, speed over the last few seconds, and when to report."""

    def __init__(self, base: DownloadProgress, model: RemoteModel) -> None:
        self.base = base
        self.model = model
        self.index = 0
        self.finished_bytes = 0  # parts complete
        self.current = 0  # bytes of the part in progress
        self.resumed_from = 0
        self._history: deque[tuple[float, int]] = deque()
        self._last_report = 0.0

    @property
    def done(self) -> int:
        return self.finished_bytes + self.current

    def skip(self, size: int) -> None:
        self.finished_bytes += size
        self.resumed_from += size
        self.index += 1

    def part_done(self) -> None:
        self.finished_bytes += self.current
        self.current = 0
        self.index += 1

    def start_part(self, have: int) -> None:
        self.current = have
        self.resumed_from += have
        self._history.clear()

    def add(self, count: int) -> DownloadProgress | None:
        """Count bytes; a record when it is time to report one."""
        self.current += count
        now = time.monotonic()
        self._history.append((now, self.done))
        while self._history and now - self._history[0][0] > SPEED_WINDOW:
            self._history.popleft()
        if now - self._last_report < PROGRESS_INTERVAL:
            return None
        self._last_report = now
        return self.state(DownloadState.DOWNLOADING)

    def speed(self) -> float:
        if len(self._history) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._history[0], self._history[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def state(self, state: DownloadState, message: str = "") -> DownloadProgress:
        speed = self.speed() if state == DownloadState.DOWNLOADING else 0.0
        left = (self.model.size - self.done) / speed if speed > 0 else None
        return replace(self.base, state=state, done_bytes=self.done, bytes_per_s=speed,
                       seconds_left=left, part=min(self.index + 1, len(self.model.parts)),
                       resumed_from=self.resumed_from, message=message)  # fmt: skip


class _PartTransfer:
    """One part: resume from its `.part` file, retry what can be retried, hash as bytes arrive."""

    def __init__(
        self,
        connection: HubConnection,
        client: Any,
        store: DownloadStore,
        model: RemoteModel,
        index: int,
        etags: dict[str, str],
        control: DownloadControl,
    ) -> None:
        self.connection = connection
        self.client = client
        self.store = store
        self.model = model
        self.file: RemoteFile = model.parts[index]
        self.path = store.part_path(model, index)
        self.url = connection.resolve_url(model.repo_id, model.revision, self.file.path)
        self.etags = etags
        self.control = control
        self.hasher = _checksum(self.file)

    def run(self, meter: _Meter) -> Iterator[DownloadProgress]:
        have = self._resume_point()
        meter.start_part(have)
        yield meter.state(DownloadState.DOWNLOADING)
        failures = 0
        while have < self.file.size and not self.control.stopping:
            try:
                with contextlib.closing(self._fetch(have)) as chunks:
                    for count in chunks:
                        have += count
                        progress = meter.add(count)
                        if progress is not None:
                            yield progress
                        if self.control.stopping:
                            return
                failures = 0
            except _Retryable as exc:
                failures += 1
                if failures > RETRIES:
                    raise DownloadError(
                        f"The download of {self.model.name} stopped: {exc}.",
                        "The part already downloaded is kept; try again later to resume.",
                    ) from exc
                log.warning("Download of %s: %s; retry %d", self.file.path, exc, failures)
                if self.control.wait(min(RETRY_WAIT_MAX, 2.0 ** (failures - 1))):
                    return
            have = self.path.stat().st_size if self.path.exists() else 0

    def verify(self) -> None:
        """Raises DownloadError (part deleted) when the bytes are not the Hub's file."""
        expected = self.file.sha256 or self.file.blob_id
        if expected and self.hasher.hexdigest() != expected.lower():
            self.store.discard(self.model)
            raise DownloadError(
                f"{self.file.path} did not match the Hub's checksum (SHA-256), so it was "
                "deleted: the download was damaged on the way or the file changed on the Hub.",
                "Download it again.",
                kept=False,
            )

    def _resume_point(self) -> int:
        """Bytes already on disk from an earlier run, hashed so that the checksum covers them."""
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            return 0
        have = self.path.stat().st_size
        if have > self.file.size:
            self.path.write_bytes(b"")
            return 0
        with self.path.open("rb") as stream:
            while chunk := stream.read(CHUNK * 8):
                self.hasher.update(chunk)
        return have

    def _restart(self) -> None:
        self.path.write_bytes(b"")
        self.hasher = _checksum(self.file)

    def _fetch(self, start: int) -> Generator[int, None, None]:
        """Append the bytes from `start` on to the part file, yielding each chunk's length."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        etag = self.etags.get(self.file.path)
        if start and etag:
            headers["If-Range"] = etag  # a changed file comes back whole (200), not spliced
        try:
            response = open_get(self.connection, self.client, self.url, headers)
        except TransferError as exc:
            problem = _transfer_problem(exc, self.connection.host)
            if exc.connecting:  # offline: say so now, not after retries
                raise DownloadError(
                    f"The download of {self.model.name} stopped: {problem}.",
                    f"{self.connection.unreachable_hint()} The part already downloaded is kept.",
                ) from exc
            raise _Retryable(problem) from exc
        try:
            status = response.status
            if status == 416 and start == self.file.size:
                return
            if status >= 500 or status in (408, 429):
                raise _Retryable(f"the Hub answered HTTP {status}")
            if status not in (200, 206):
                raise _refused(status, self.model.name)
            if status == 200 and start:
                self._restart()  # the server sent the whole file again
                start = 0
            if status == 206 and not response.header("content-range").startswith(f"bytes {start}-"):
                raise _Retryable("the Hub answered with the wrong part of the file")
            self._remember_etag(response.header("etag"))
            yield from self._write(response, start)
        except TransferError as exc:
            raise _Retryable(_transfer_problem(exc, self.connection.host)) from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DownloadError(
                    f"The disk filled up while downloading {self.model.name}.",
                    "Free some space, then resume: the part already downloaded is kept.",
                ) from exc
            raise
        finally:
            response.close()

    def _write(self, response: Response, start: int) -> Iterator[int]:
        with self.path.open("r+b") as out:
            out.seek(start)
            out.truncate()
            sink = _Sink(out, self.hasher)
            written = start
            try:
                while written < self.file.size:
                    chunk = response.read_some(min(CHUNK, self.file.size - written))
                    if not chunk:
                        break
                    sink.put(chunk)
                    written += len(chunk)
                    yield len(chunk)
                    if self.control.stopping:
                        break
            finally:
                sink.close()
                out.flush()
                os.fsync(out.fileno())
        if written < self.file.size and not self.control.stopping:
            raise _Retryable("the connection closed before the end of the file")

    def _remember_etag(self, etag: str) -> None:
        if etag and self.etags.get(self.file.path) != etag:
            self.etags[self.file.path] = etag
            self.store.save_record(self.model, self.etags)


class _Retryable(Exception):
    pass


class _Sink:
    """Writes and hashes chunks on a thread of its own, so that the network is read meanwhile
    (file writes and SHA-256 both release the GIL; hashing alone runs at about 1 GB/s).
    `close` waits until every chunk is on disk and hashed, then raises the first write error."""

    def __init__(self, out: Any, hasher: Any) -> None:
        self._out = out
        self._hasher = hasher
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="download-writer", daemon=True)
        self._thread.start()

    def put(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._chunks.put(chunk)

    def close(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is not None:
                continue  # drain, so that `put` never blocks on a dead writer
            try:
                self._out.write(chunk)
                self._hasher.update(chunk)
            except OSError as exc:
                self._error = exc


def _transfer_problem(exc: TransferError, host: str) -> str:
    """A dropped or refused connection in a few words."""
    from engine.hub.connection import CONNECT_TIMEOUT, READ_TIMEOUT, reason

    timed_out = isinstance(exc.cause, TimeoutError) or "timeout" in type(exc.cause).__name__.lower()
    if exc.connecting:
        if timed_out:
            return f"{host} did not answer within {CONNECT_TIMEOUT:.0f} s"
        return f"{host} cannot be reached ({reason(exc.cause)})"
    if timed_out:
        return f"no data came for {READ_TIMEOUT:.0f} s"
    return "the connection closed before the end of the file"


def _refused(status: int, name: str) -> HubError:
    """The Hub said no to the file itself (not a passing trouble)."""
    if status in (401, 403):
        return HubError(
            f"Could not download {name}: the Hub refused access (HTTP {status}).",
            "Check the access token in Settings; a gated model needs its conditions accepted.",
        )
    if status == 404:
        return HubError(f"Could not download {name}: the file is not on the Hub any more.")
    return HubError(f"Could not download {name}: the Hub answered HTTP {status}.")


def _checksum(file: RemoteFile) -> Any:
    """SHA-256 for LFS files; for a file kept in git, its blob id (SHA-1 of a "blob N" header)."""
    if file.sha256 or not file.blob_id:
        return hashlib.sha256()
    hasher = hashlib.sha1(usedforsecurity=False)
    hasher.update(f"blob {file.size}\0".encode())
    return hasher


def _device(path: Path) -> int:
    return nearest_existing(path).stat().st_dev


def _move(source: Path, target: Path) -> None:
    """Put a verified part in place atomically (through a copy when the folders are on two disks)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        staging = target.with_name(f".{target.name}.moving")
        shutil.copyfile(source, staging)
        os.replace(staging, target)
        source.unlink()


ProgressListener = Callable[[DownloadProgress], None]
