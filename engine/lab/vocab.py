"""Which models read a text as the same tokens: a model's vocabulary, from its GGUF metadata.

Perplexity per token, KL divergence and top-1 agreement are only comparable between models that
share a vocabulary (the variants of one model): another vocabulary cuts the text into other
tokens, so its per-token figures count other things, and llama.cpp's perplexity tool refuses KL
divergence across vocabularies. A `Vocabulary` is the tokenizer's kind and its token list
(`tokenizer.ggml.model`, `tokenizer.ggml.tokens`), kept as their size and a digest.
"""

from __future__ import annotations

import hashlib
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from engine.gguf_info import _ARRAY, _SCALAR_FORMATS, _STRING

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
# Byte sizes of GGUF's scalar value types, from the reader's own struct formats.
_SIZES = {kind: struct.calcsize(fmt) for kind, fmt in _SCALAR_FORMATS.items()}
_TOKENS = b"tokenizer.ggml.tokens"
_KIND = b"tokenizer.ggml.model"


@dataclass(frozen=True)
class Vocabulary:
    """A model's vocabulary: how many tokens, and a digest of the tokenizer's kind and tokens.

    Two models share a vocabulary when both are equal: then they read a text as the same tokens.
    """

    size: int
    digest: str


def read_vocabulary(path: str | Path) -> Vocabulary | None:
    """The vocabulary in the GGUF file's metadata; None when the file has none or cannot be read
    (the comparison is then left to the tokens the models make of the text)."""
    try:
        with (
            open(path, "rb") as stream,
            mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            return _scan(data)
    except (OSError, ValueError, struct.error, IndexError):
        return None


def _scan(data: mmap.mmap) -> Vocabulary | None:
    if data[:4] != b"GGUF":
        return None
    at = 24  # magic, version (u32), tensor count (u64)
    (count,) = _U64.unpack_from(data, 16)
    digest = hashlib.blake2b(digest_size=16)
    size = None
    kind = b""
    for _ in range(count):
        (length,) = _U64.unpack_from(data, at)
        key = data[at + 8 : at + 8 + length]
        at += 8 + length
        (value_type,) = _U32.unpack_from(data, at)
        start = at = at + 4
        if value_type == _ARRAY:
            (item_type,) = _U32.unpack_from(data, at)
            (items,) = _U64.unpack_from(data, at + 4)
            at = _skip_array(data, at + 12, item_type, items)
            if key == _TOKENS:
                size = items
                digest.update(data[start:at])
        else:
            at = _skip_value(data, at, value_type)
            if key == _KIND:
                kind = data[start:at]
    if size is None:
        return None
    digest.update(kind)
    return Vocabulary(size, digest.hexdigest())


def _skip_value(data: mmap.mmap, at: int, value_type: int) -> int:
    if value_type == _STRING:
        return at + 8 + _U64.unpack_from(data, at)[0]
    if value_type in _SIZES:
        return at + _SIZES[value_type]
    raise ValueError(f"unknown GGUF value type {value_type}")


def _skip_array(data: mmap.mmap, at: int, item_type: int, items: int) -> int:
    if item_type in _SIZES:
        return at + items * _SIZES[item_type]
    if item_type != _STRING:
        raise ValueError(f"unsupported GGUF array type {item_type}")
    unpack_from = _U64.unpack_from
    for _ in range(items):
        at += 8 + unpack_from(data, at)[0]
    if at > len(data):
        raise ValueError("the file ends inside an array")
    return at


def difference_words(name: str, size: int, reference_name: str, reference_size: int) -> str:
    """Why `name`'s quality is not comparable with the reference's, in plain words."""
    if size and reference_size and size != reference_size:
        sizes = f"{size:,} tokens against {reference_size:,}"
    else:
        sizes = "the same number of tokens, but not the same ones"
    return (
        f"{name} has another vocabulary than the reference {reference_name} ({sizes}), so it "
        "cuts the text into other tokens: its perplexity is per token of its own, and KL "
        "divergence and top-1 agreement need the same tokens. Quality compares only between "
        "models of one vocabulary (variants of one model)."
    )
