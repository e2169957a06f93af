"""Where every number in a GGUF header lives, so tests and the fuzz benchmark can change them.

`header_spots` walks a (sound) GGUF file and lists each count, length, type tag, tensor dimension,
tensor offset and integer metadata value with its byte offset and width. `patch` writes a copy
with some bytes replaced; `with_metadata` rebuilds a file with one key's value replaced.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
           10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_INTEGER_TYPES = {0, 1, 2, 3, 4, 5, 10, 11}


@dataclass(frozen=True)
class Spot:
    """One number in the header.

    Attributes:
        kind: "count" (tensor/key/array counts), "length" (string lengths), "type" (value type
            tags and tensor types), "dims" (a tensor's dimension count), "dim", "offset"
            (tensor data offsets) or "value" (an integer metadata value).
        what: Which key or tensor it belongs to.
        offset: Byte offset in the file.
        fmt: struct format of the number (its width).
    """

    kind: str
    what: str
    offset: int
    fmt: str


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.spots: list[Spot] = []

    def number(self, fmt: str, kind: str = "", what: str = "") -> int:
        value = struct.unpack_from(fmt, self.data, self.at)[0]
        if kind:
            self.spots.append(Spot(kind, what, self.at, fmt))
        self.at += struct.calcsize(fmt)
        return value

    def string(self, what: str, record: bool) -> str:
        length = self.number("<Q", "length" if record else "", what)
        text = self.data[self.at : self.at + length].decode("utf-8", errors="replace")
        self.at += length
        return text

    def value(self, kind: int, key: str) -> None:
        if kind in _SCALAR:
            self.number(_SCALAR[kind], "value" if kind in _INTEGER_TYPES else "", key)
        elif kind == 8:
            self.string(key, record=True)
        else:
            item = self.number("<I", "type", key)
            count = self.number("<Q", "count", key)
            for index in range(count):
                # Record only the first few items of long arrays (vocabularies).
                if item == 8:
                    self.string(key, record=index < 3)
                else:
                    self.number(_SCALAR[item], "value" if index < 3 and item in _INTEGER_TYPES
                                else "", key)  # fmt: skip


def header_spots(path: str | Path) -> list[Spot]:
    """Every mutable number in the header of `path`, in file order."""
    with open(path, "rb") as stream:
        head = stream.read(64 * 2**20)
    walker = _Walker(head)
    walker.at = 4
    walker.number("<I", "value", "version")
    tensors = walker.number("<Q", "count", "tensor count")
    keys = walker.number("<Q", "count", "key count")
    for _ in range(keys):
        key = walker.string("key name", record=True)
        kind = walker.number("<I", "type", key)
        walker.value(kind, key)
    for _ in range(tensors):
        name = walker.string("tensor name", record=True)
        dims = walker.number("<I", "dims", name)
        for _ in range(dims):
            walker.number("<Q", "dim", name)
        walker.number("<I", "type", name)
        walker.number("<Q", "offset", name)
    return walker.spots


def patch(source: str | Path, target: str | Path, edits: dict[int, bytes]) -> Path:
    """A copy of `source` with the bytes at each offset replaced."""
    target = Path(target)
    shutil.copyfile(source, target)
    with target.open("r+b") as stream:
        for offset, data in edits.items():
            stream.seek(offset)
            stream.write(data)
    return target


def with_metadata(source: str | Path, target: str | Path, key: str, value_type: int,
                  value: bytes) -> Path:  # fmt: skip
    """A copy of `source` with `key`'s typed value replaced by raw `value` bytes (the header
    may change length: the data section is re-aligned)."""
    data = Path(source).read_bytes()
    walker = _Walker(data)
    walker.at = 4
    walker.number("<I")
    tensors = walker.number("<Q")
    keys = walker.number("<Q")
    alignment = 32
    start = end = -1
    for _ in range(keys):
        key_start = walker.at
        name = walker.string("", record=False)
        kind = walker.number("<I")
        value_start = walker.at
        walker.value(kind, name)
        if name == "general.alignment":
            alignment = struct.unpack_from("<I", data, value_start)[0]
        if name == key:
            start, end = key_start, walker.at
    if start < 0:
        raise KeyError(key)
    for _ in range(tensors):
        walker.string("", record=False)
        dims = walker.number("<I")
        walker.at += 8 * dims + 4 + 8  # dimensions, type, offset
    header_end = walker.at
    data_start = -(-header_end // alignment) * alignment
    encoded = key.encode()
    entry = struct.pack("<Q", len(encoded)) + encoded + struct.pack("<I", value_type) + value
    header = data[:start] + entry + data[end:header_end]
    padding = b"\0" * (-len(header) % alignment)
    Path(target).write_bytes(header + padding + data[data_start:])
    return Path(target)
