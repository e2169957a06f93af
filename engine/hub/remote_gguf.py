"""Read a GGUF file's header on the Hub over HTTP range requests, without downloading its weights.

The engine's own parser (`engine.gguf_info`, `engine.memory.weights`) reads a `RangeStream` as it
would a local file. The header (metadata, vocabulary, tensor table) is fetched from the start in
requests that double in size (1 MiB, 2 MiB, ... 16 MiB), so a small header costs one request and a
large vocabulary a handful; the weights that follow are never requested.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, cast

from engine.errors import ModelFileError
from engine.gguf_info import ModelInfo, read_model_info
from engine.hub.connection import HubConnection, HubError
from engine.hub.listing import RemoteFile, RemoteModel
from engine.memory.weights import WeightLayout, layout_of, read_tensor_table

FIRST_REQUEST = 1 << 20
LARGEST_REQUEST = 16 << 20
# No real header comes near this; a file that claims one is damaged or not GGUF.
MAX_HEADER_BYTES = 256 << 20


class _RemotePrefix:
    """The bytes fetched so far from the start of one remote file, shared by its streams."""

    def __init__(self, client: Any, url: str, size: int, name: str) -> None:
        self.client = client
        self.url = url
        self.size = size
        self.name = name
        self.data = bytearray()
        self.requests = 0
        self._next_request = FIRST_REQUEST

    def ensure(self, end: int) -> None:
        """Fetch until the first `end` bytes (or the whole file, if shorter) are here."""
        end = min(end, self.size)
        while len(self.data) < end:
            if len(self.data) >= MAX_HEADER_BYTES:
                raise ModelFileError(f"{self.name} has a header larger than any real model's.")
            start = len(self.data)
            stop = min(self.size, start + max(self._next_request, end - start)) - 1
            self._fetch(start, stop)
            self._next_request = min(self._next_request * 2, LARGEST_REQUEST)

    def _fetch(self, start: int, stop: int) -> None:
        self.requests += 1
        headers = {"Range": f"bytes={start}-{stop}"}
        with self.client.stream("GET", self.url, headers=headers) as response:
            if response.status_code not in (200, 206):
                response.read()
                response.raise_for_status()
            # A server that ignores ranges answers 200 with the whole file: skip to `start`.
            skip = start if response.status_code == 200 else 0
            wanted = stop - start + 1
            got = bytearray()
            for chunk in response.iter_bytes():
                got += chunk
                if len(got) >= skip + wanted:
                    break
        piece = bytes(got[skip : skip + wanted])
        if not piece:
            raise ModelFileError(f"{self.name} ended early on the Hub.")
        self.data += piece


class RangeStream(io.RawIOBase):
    """A read-only, seekable view of a remote file's first bytes (see `_RemotePrefix`)."""

    def __init__(self, prefix: _RemotePrefix) -> None:
        super().__init__()
        self._prefix = prefix
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._prefix.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        self._prefix.ensure(self._pos + len(view))
        piece = self._prefix.data[self._pos : self._pos + len(view)]
        view[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


@dataclass(frozen=True)
class RemoteHeader:
    """What the header of a model on the Hub says, and what reading it cost.

    Attributes:
        info: As `read_model_info` gives for a local file; for a split model, its file size and
            parameter count cover every part.
        layout: The weights by layer (every part), for `estimate_memory(layout=...)`.
        bytes_fetched: Bytes downloaded to read the header(s).
        requests: HTTP range requests made.
        seconds: Wall time for all of it.
    """

    info: ModelInfo
    layout: WeightLayout
    bytes_fetched: int
    requests: int
    seconds: float


def read_remote_header(connection: HubConnection, model: RemoteModel) -> RemoteHeader:
    """Read the header of every part of `model` over range requests.

    Raises:
        HubError: the Hub cannot be reached or refused.
        ModelFileError: the file is not GGUF or its header is damaged.
    """
    started = time.perf_counter()
    prefixes: list[_RemotePrefix] = []
    with connection.http_client() as client:
        try:
            for part in model.parts:
                prefixes.append(_prefix(connection, client, model, part))
            info = _read_info(prefixes[0])
            tensors = [t for prefix in prefixes for t in read_tensor_table(
                prefix.name, _stream(prefix), prefix.size)]  # fmt: skip
        except (HubError, ModelFileError):
            raise
        except Exception as exc:
            raise connection.explain(exc, f"read the header of {model.name}") from exc
    if len(model.parts) > 1:
        parameters = sum(_elements(t.dims) for t in tensors)
        info = replace(info, file_size=model.size, parameter_count=parameters)
    return RemoteHeader(
        info=info,
        layout=layout_of(tensors, info.block_count),
        bytes_fetched=sum(len(prefix.data) for prefix in prefixes),
        requests=sum(prefix.requests for prefix in prefixes),
        seconds=time.perf_counter() - started,
    )


def _prefix(
    connection: HubConnection, client: Any, model: RemoteModel, part: RemoteFile
) -> _RemotePrefix:
    url = connection.resolve_url(model.repo_id, model.revision, part.path)
    return _RemotePrefix(client, url, part.size, part.path.rsplit("/", 1)[-1])


def _stream(prefix: _RemotePrefix) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(RangeStream(prefix), buffer_size=64 * 1024))


def _read_info(prefix: _RemotePrefix) -> ModelInfo:
    return read_model_info(prefix.name, stream=_stream(prefix), file_size=prefix.size)


def _elements(dims: tuple[int, ...]) -> int:
    count = 1
    for dim in dims:
        count *= dim
    return count
