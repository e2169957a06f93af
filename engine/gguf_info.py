"""Read a GGUF file's metadata without loading its weights.

Parses only the header, key/value metadata and tensor table (a few MB at most), then checks that the
file is long enough to hold every tensor, so a truncated download is caught before llama.cpp sees it.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# llama.cpp's `general.file_type` values (enum llama_ftype), as people know them.
FILE_TYPE_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}  # fmt: skip

# GGUF value types: struct format for scalars; 8 = string, 9 = array.
_SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                   10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
# Arrays longer than this (token lists) are skipped and kept as their length only.
_MAX_KEPT_ARRAY = 4096


@dataclass(frozen=True)
class ModelInfo:
    """What Hearth knows about a model file before loading it."""

    path: str
    file_size: int
    name: str
    architecture: str
    parameter_count: int
    file_type: str
    context_length: int
    block_count: int
    head_count: int
    head_count_kv: int
    embedding_length: int
    key_length: int
    value_length: int
    sliding_window: int
    swa_layers: int
    vocab_size: int
    chat_template: str | None

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view (the chat template itself is long, so only its presence)."""
        data = asdict(self)
        data.pop("chat_template")
        data["has_chat_template"] = self.has_chat_template
        return data


class _Reader:
    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self._stream = stream
        self._path = path

    def take(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise ModelFileError(
                f"{self._path.name} is cut short (its header ends early).",
                "The file is probably an incomplete download; download it again.",
            )
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > 1 << 26:
            raise ModelFileError(f"{self._path.name} has a damaged header.")
        return self.take(length).decode("utf-8", errors="replace")

    def value(self, value_type: int) -> Any:
        if value_type in _SCALAR_FORMATS:
            return self.scalar(_SCALAR_FORMATS[value_type])
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            item_type = self.scalar("<I")
            count = self.scalar("<Q")
            return self.array(item_type, count)
        raise ModelFileError(f"{self._path.name} has a damaged header (value type {value_type}).")

    def array(self, item_type: int, count: int) -> Any:
        if item_type in _SCALAR_FORMATS and count > _MAX_KEPT_ARRAY:
            self.take(struct.calcsize(_SCALAR_FORMATS[item_type]) * count)
            return _SkippedArray(count)
        items = [self.value(item_type) for _ in range(count)]
        return items if count <= _MAX_KEPT_ARRAY else _SkippedArray(count)


@dataclass(frozen=True)
class _SkippedArray:
    length: int

    def __len__(self) -> int:
        return self.length


def _tensor_bytes(ggml_type: int, dims: list[int]) -> int:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        return 0  # an unknown type: skip the length check for it
    elements = 1
    for dim in dims:
        elements *= dim
    return elements // block_size * type_size


def _int_or_first(value: Any, default: int = 0) -> int:
    """Some architectures store per-layer lists (e.g. KV heads); the first entry stands for all."""
    if isinstance(value, list):
        return int(max(value)) if value else default
    return int(value) if value is not None else default


def read_metadata(
    path: Path, stream: BinaryIO | None = None, file_size: int | None = None
) -> tuple[dict[str, Any], int, list[tuple[str, int, int]]]:
    """Return (metadata, tensor_count, [(name, element_count, end_offset)]) and check the length.

    Args:
        path: The file; with `stream`, only the name used in messages.
        stream: Read from this (e.g. a file on the Hub read over HTTP ranges) instead of `path`;
            it is closed afterwards.
        file_size: The file's size in bytes; required with `stream`.

    Raises:
        ModelFileError: missing, unreadable, not GGUF, or shorter than its tensor table says.
    """
    path = Path(path)
    if stream is None:
        try:
            file_size = path.stat().st_size
            stream = path.open("rb")
        except FileNotFoundError as exc:
            raise ModelFileError(f"Model file not found: {path}") from exc
        except OSError as exc:
            raise ModelFileError(f"Cannot read {path}: {exc.strerror}.") from exc
    assert file_size is not None, "a stream needs its file size"
    with stream:
        if stream.read(4) != GGUF_MAGIC:
            raise ModelFileError(
                f"{path.name} is not a GGUF model file.",
                "Hearth runs models in the GGUF format (files ending in .gguf).",
            )
        reader = _Reader(stream, path)
        version = reader.scalar("<I")
        if version < 2:
            raise ModelFileError(f"{path.name} uses GGUF version {version}, which is too old.")
        tensor_count = reader.scalar("<Q")
        kv_count = reader.scalar("<Q")
        if tensor_count > 1 << 20 or kv_count > 1 << 20:
            raise ModelFileError(f"{path.name} has a damaged header.")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.scalar("<I"))
        tensors = []
        data_needed = 0
        for _ in range(tensor_count):
            name = reader.string()
            n_dims = reader.scalar("<I")
            dims = [reader.scalar("<Q") for _ in range(n_dims)]
            ggml_type = reader.scalar("<I")
            offset = reader.scalar("<Q")
            elements = 1
            for dim in dims:
                elements *= dim
            end = offset + _tensor_bytes(ggml_type, dims)
            data_needed = max(data_needed, end)
            tensors.append((name, elements, end))
        alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
        data_start = -(-stream.tell() // alignment) * alignment
    if data_start + data_needed > file_size:
        missing = data_start + data_needed - file_size
        raise ModelFileError(
            f"{path.name} is incomplete: {missing / 2**20:.1f} MB of model weights are missing.",
            "The download probably stopped early; download the file again.",
        )
    return metadata, tensor_count, tensors


def read_model_info(
    path: str | Path, stream: BinaryIO | None = None, file_size: int | None = None
) -> ModelInfo:
    """Read what a person (and the context planner) needs to know about a GGUF model file.

    `stream` and `file_size` read it from elsewhere than `path`, as in `read_metadata`.
    """
    path = Path(path)
    metadata, _, tensors = read_metadata(path, stream, file_size)
    arch = str(metadata.get("general.architecture", "unknown"))

    def arch_key(key: str, default: Any = 0) -> Any:
        return metadata.get(f"{arch}.{key}", default)

    embedding = _int_or_first(arch_key("embedding_length"))
    heads = _int_or_first(arch_key("attention.head_count"))
    head_dim = embedding // heads if heads else 0
    block_count = _int_or_first(arch_key("block_count"))
    sliding_window = _int_or_first(arch_key("attention.sliding_window"))
    tokens = metadata.get("tokenizer.ggml.tokens", [])
    parameter_count = int(metadata.get("general.parameter_count", 0)) or sum(
        elements for _, elements, _ in tensors
    )
    template = metadata.get("tokenizer.chat_template")
    return ModelInfo(
        path=str(path),
        file_size=path.stat().st_size if file_size is None else file_size,
        name=str(metadata.get("general.name") or path.stem),
        architecture=arch,
        parameter_count=parameter_count,
        file_type=FILE_TYPE_NAMES.get(int(metadata.get("general.file_type", -1)), "unknown"),
        context_length=_int_or_first(arch_key("context_length")),
        block_count=block_count,
        head_count=heads,
        head_count_kv=_int_or_first(arch_key("attention.head_count_kv"), heads) or heads,
        embedding_length=embedding,
        key_length=_int_or_first(arch_key("attention.key_length"), head_dim) or head_dim,
        value_length=_int_or_first(arch_key("attention.value_length"), head_dim) or head_dim,
        sliding_window=sliding_window,
        swa_layers=_count_swa_layers(metadata, arch, block_count, sliding_window),
        vocab_size=len(tokens),
        chat_template=str(template) if template else None,
    )


def _count_swa_layers(metadata: dict[str, Any], arch: str, blocks: int, window: int) -> int:
    """How many layers use sliding-window attention (their KV cache holds only `window` tokens)."""
    if not window:
        return 0
    pattern = metadata.get(f"{arch}.attention.sliding_window_pattern")
    if isinstance(pattern, list):
        return sum(1 for is_swa in pattern[:blocks] if is_swa)
    if isinstance(pattern, int) and pattern > 1:
        # Every `pattern`-th layer is global, the rest are sliding-window.
        return blocks - blocks // pattern
    if arch.startswith("gemma3"):
        # Gemma 3: five local layers for each global one.
        return blocks - blocks // 6
    return blocks
