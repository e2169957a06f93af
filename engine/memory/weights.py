"""The tensor table of a GGUF file, grouped the way llama.cpp places weights on devices.

llama.cpp keeps the token embeddings on the CPU, offloads the output layer first and then the
last repeating layers, so the bytes per layer decide how much of a model lands in VRAM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from engine.gguf_info import TensorInfo, read_header
from engine.gguf_split import local_parts

_LAYER_NAME = re.compile(r"^blk\.(\d+)\.")

# ggml types that the x86 CPU backend re-packs into an interleaved copy (CPU_REPACK buffer)
# when AVX2 is available: Q4_0=2, Q4_K=12, IQ4_NL=20, MXFP4=39.
_REPACKED_TYPES = frozenset({2, 12, 20, 39})


@dataclass(frozen=True)
class WeightLayout:
    """Bytes of weights per place they can live.

    Attributes:
        layers: Bytes of each repeating layer (blk.N.*), in order.
        output: The output layer (output.weight, output_norm.weight): offloaded first.
        token_embd: Token embeddings and other tensors that always stay on the CPU.
        layers_repackable: Per layer, bytes the CPU backend also keeps as a re-packed copy.
        output_repackable: The same for the output layer.
    """

    layers: tuple[int, ...]
    output: int
    token_embd: int
    layers_repackable: tuple[int, ...]
    output_repackable: int

    @property
    def total(self) -> int:
        return sum(self.layers) + self.output + self.token_embd


def read_tensor_table(
    path: str | Path, stream: BinaryIO | None = None, file_size: int | None = None
) -> list[TensorInfo]:
    """Names, ggml types, shapes and sizes of every tensor in a GGUF file.

    `stream`, `file_size`: read from this (e.g. a file on the Hub read over HTTP ranges), that
    many bytes long, instead of `path`, which then only names the file in messages; it is
    closed afterwards.

    Raises:
        ModelFileError: the file is missing, not GGUF or damaged.
    """
    return list(read_header(path, stream, file_size).tensors)


def _repackable(tensor: TensorInfo) -> bool:
    """Matrix weights of a re-packable type whose row count is a multiple of 8."""
    return (
        tensor.ggml_type in _REPACKED_TYPES
        and len(tensor.dims) >= 2
        and tensor.dims[1] % 8 == 0
        and tensor.name.endswith(".weight")
        and not tensor.name.startswith("token_embd")
    )


@lru_cache(maxsize=16)
def _layout(path: str, _mtime: float, block_count: int) -> WeightLayout:
    # A split model's tensors are spread over its parts; llama.cpp loads them all.
    tensors = [tensor for part in local_parts(path) for tensor in read_tensor_table(part)]
    return layout_of(tensors, block_count)


def layout_of(tensors: Iterable[TensorInfo], block_count: int) -> WeightLayout:
    """Group a tensor table (of one file, or of every part of a split model) by placement."""
    layers = [0] * block_count
    layers_repack = [0] * block_count
    output = output_repack = token_embd = 0
    for tensor in tensors:
        match = _LAYER_NAME.match(tensor.name)
        repack = tensor.nbytes if _repackable(tensor) else 0
        if match and int(match.group(1)) < block_count:
            layers[int(match.group(1))] += tensor.nbytes
            layers_repack[int(match.group(1))] += repack
        elif tensor.name.startswith("output"):
            output += tensor.nbytes
            output_repack += repack
        else:
            token_embd += tensor.nbytes
    return WeightLayout(tuple(layers), output, token_embd, tuple(layers_repack), output_repack)


def weight_layout(path: str | Path, block_count: int) -> WeightLayout:
    """The weights of `path` grouped by layer (cached per file and modification time)."""
    path = Path(path)
    return _layout(str(path), path.stat().st_mtime, block_count)
