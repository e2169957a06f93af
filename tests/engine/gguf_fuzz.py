"""Header mutations of GGUF files, for the fuzz test and bench/fuzz_gguf.py.

Every mutation changes one number in the header (see `gguf_edit.header_spots`): counts, string
lengths, type tags, tensor dimensions and offsets, and integer metadata values, each set to values
that break readers (0, one off, the type's maximum, huge). A mutated file is written by patching a
working copy in place, so even a 100 MB model costs only a few bytes per mutation.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.engine.gguf_edit import Spot, header_spots

# Metadata whose values models are most sensitive to: every value is tried for these.
KEY_PARTS = ("block_count", "context_length", "embedding_length", "feed_forward_length",
             "head_count", "head_count_kv", "key_length", "value_length", "rope.dimension_count",
             "sliding_window", "expert_count", "expert_used_count", "alignment",
             "tokenizer.ggml.tokens", "token_id", "file_type")  # fmt: skip


@dataclass(frozen=True)
class Mutation:
    """One number of the header set to `value`."""

    spot: Spot
    value: int
    original: int

    @property
    def label(self) -> str:
        return f"{self.spot.kind} of {self.spot.what} @{self.spot.offset}: {self.original} -> {self.value}"

    def patch(self) -> tuple[int, bytes]:
        width = struct.calcsize(self.spot.fmt)
        unsigned = self.spot.fmt.upper()
        return self.spot.offset, struct.pack(unsigned, self.value & ((1 << (8 * width)) - 1))


def _values(spot: Spot, original: int) -> list[int]:
    width = 8 * struct.calcsize(spot.fmt)
    top = (1 << width) - 1
    common = [0, 1, original - 1, original + 1, top, top >> 1, 1 << (width - 1)]
    extra = {
        "count": [original * 2, 1 << 31, 1 << 40],
        "length": [original + 7, 1 << 32, 1 << 40],
        "type": list(range(0, 14)) + [15, 24, 39, 42, 255],
        "dims": [0, 2, 3, 4, 5, 17],
        "dim": [original * 2, original // 2, 1 << 31, 1 << 62],
        "offset": [original + 32, original - 32, original + 1, 1 << 40],
        "value": [original * 2, original * 1000, 4096, 1 << 24, 1 << 31],
    }[spot.kind]
    return sorted({v for v in common + extra if v != original and v >= 0})


def mutations(path: str | Path, sample: int | None = None, seed: int = 0,
              key_sample: int | None = None) -> list[Mutation]:  # fmt: skip
    """Mutations of `path`'s header: those of the key metadata (a seeded sample of `key_sample`,
    all when None), and a seeded sample of `sample` from the rest (all when None), spread evenly
    over the kinds of spot."""
    data = Path(path).read_bytes()[: 64 * 2**20]
    every: list[Mutation] = []
    for spot in header_spots(path):
        original = struct.unpack_from(spot.fmt.upper(), data, spot.offset)[0]
        every += [Mutation(spot, value, original) for value in _values(spot, original)]
    key = [m for m in every if m.spot.kind == "value" and any(p in m.spot.what for p in KEY_PARTS)]
    chosen_keys = set(key)
    rest = [m for m in every if m not in chosen_keys]
    rng = random.Random(seed)
    if key_sample is not None and key_sample < len(key):
        key = sorted(rng.sample(key, key_sample), key=key.index)
    if sample is None or sample >= len(rest):
        return key + rest
    by_kind: dict[str, list[Mutation]] = {}
    for mutation in rest:
        by_kind.setdefault(mutation.spot.kind, []).append(mutation)
    chosen: list[Mutation] = []
    kinds = sorted(by_kind)
    for index, kind in enumerate(kinds):
        share = sample // len(kinds) + (1 if index < sample % len(kinds) else 0)
        pool = by_kind[kind]
        chosen += rng.sample(pool, min(share, len(pool)))
    return key + chosen


@contextmanager
def mutated(work: Path, mutation: Mutation) -> Iterator[Path]:
    """`work` (a copy of the original file) with `mutation` applied, restored afterwards."""
    offset, data = mutation.patch()
    with work.open("r+b") as stream:
        stream.seek(offset)
        before = stream.read(len(data))
        stream.seek(offset)
        stream.write(data)
    try:
        yield work
    finally:
        with work.open("r+b") as stream:
            stream.seek(offset)
            stream.write(before)
