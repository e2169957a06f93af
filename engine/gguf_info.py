"""Read a GGUF file's metadata without loading its weights, and check it before llama.cpp does.

Parses only the header, key/value metadata and tensor table (a few MB at most), with every count,
length, type tag and offset checked against the file as it is read, so a damaged or hostile header
cannot make Hearth allocate or loop without bound. Then the metadata is checked against the tensor
table (layers, heads, embedding shape, vocabulary, expert counts), because llama.cpp aborts the
whole process on some of those contradictions; each refusal names what is wrong in words.
"""

from __future__ import annotations

import functools
import hashlib
import re
import stat
import struct
from collections.abc import Callable, Set
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from engine.display import display_text
from engine.errors import ModelFileError
from engine.storage import size_text

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
SUPPORTED_VERSIONS = (2, 3)

# llama.cpp's limits (src/llama-hparams.h, ggml.h): beyond them it aborts rather than refuses.
MAX_LAYERS = 512
MAX_EXPERTS = 1024
MAX_DIMS = 4
# No model is trained for more than this many tokens (the longest claim today is 10M).
MAX_CONTEXT_LENGTH = 1 << 24
MAX_COUNT = 1 << 20  # keys, tensors
MAX_STRING_BYTES = 1 << 26
ROPE_SCALING_TYPES = ("none", "linear", "yarn", "longrope")

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
_INTEGER_TYPES = frozenset({0, 1, 2, 3, 4, 5, 10, 11})
_STRING, _ARRAY = 8, 9
_UINT32 = 4
# Arrays longer than this (token lists) are kept as their length only.
_MAX_KEPT_ARRAY = 4096
_U64 = struct.Struct("<Q")
_I32 = struct.Struct("<i")
# How much of a long string array is read at a time (see _Reader.strings).
_STRING_BLOCK_BYTES = 1 << 20

_LAYER = re.compile(r"^blk\.(\d+)\.")
# llama.cpp architectures without attention heads (llm_arch_is_recurrent).
_RECURRENT = frozenset({"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"})
# Architectures whose every layer holds the same tensors and whose token embeddings are
# [n_embd, n_vocab]: the files people run most. Others (mixed dense/MoE layers, hybrids) are left
# to llama.cpp, whose refusals are caught in a child process (engine/model_probe.py).
_UNIFORM = frozenset({
    "llama", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "gemma", "gemma2", "gemma3", "phi3",
    "mistral3", "granite", "olmo2", "smollm3", "starcoder2", "stablelm", "internlm2", "command-r",
    "cohere2", "exaone", "gpt2", "phi2",
})  # fmt: skip

# llama.cpp's token types (`tokenizer.ggml.token_type`, enum llama_token_type).
_USER_DEFINED, _BYTE = 4, 6
_INT32 = 5

_DAMAGED_HINT = (
    "The file is damaged or was written wrongly; download it again or choose another model."
)


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor table."""

    name: str
    ggml_type: int
    dims: tuple[int, ...]
    nbytes: int
    offset: int = 0

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.dims:
            count *= dim
        return count


@dataclass(frozen=True)
class GGUFHeader:
    """Everything in a GGUF file but the weights.

    Attributes:
        vocab_digest: The vocabulary's digest (see `_VocabularyDigest`), 32 hex digits; "" when
            the file has no token list.
        longest_token_bytes: The most bytes of a text one token can read (see `_longest_read`);
            0 when the file has no token list.
    """

    version: int
    metadata: dict[str, Any]
    tensors: tuple[TensorInfo, ...]
    data_start: int
    file_size: int
    vocab_digest: str = ""
    longest_token_bytes: int = 0


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
    feed_forward_length: int = 0  # the widest layer's; 0 when the file does not say
    # Equal for two files exactly when they read a text as the same tokens (see GGUFHeader).
    vocab_digest: str = ""
    # The most bytes of a text one token can read, by the tokenizer's rules (see _longest_read):
    # a text holds at least its bytes over this many tokens. 0: unknown.
    longest_token_bytes: int = 0

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view (the chat template itself is long, so only its presence)."""
        data = asdict(self)
        data.pop("chat_template")
        data.pop("vocab_digest")
        data.pop("longest_token_bytes")
        data["has_chat_template"] = self.has_chat_template
        return data


@dataclass(frozen=True)
class _LongArray:
    """An array too long to keep (a vocabulary): its length, and for strings how many differ."""

    length: int
    item_type: int
    distinct: int = 0

    def __len__(self) -> int:
        return self.length


class _Reader:
    """Reads GGUF values, refusing any length that runs past the end of the file."""

    def __init__(self, stream: BinaryIO, path: Path, size: int) -> None:
        self._stream = stream
        self._path = path
        self._size = size
        # Counted here rather than asked of the stream: a file's tell() is a system call, and a
        # vocabulary is read as some 100,000 small strings.
        self.position = stream.tell()
        # Given every byte read while it is set, as stored (see _VocabularyDigest).
        self.tap: Callable[[bytes], object] | None = None
        # While set, a long array's items are left in `kept` as (item type, strings as stored
        # or a scalar array's bytes) for the caller to take: the token list and its types.
        self.keep = False
        self.kept: tuple[int, Any] | None = None

    @property
    def remaining(self) -> int:
        return self._size - self.position

    def take(self, size: int) -> bytes:
        if size > self.remaining:
            raise self._cut_short()
        data = self._stream.read(size)
        self.position += len(data)
        if self.tap is not None:
            self.tap(data)
        return data

    def _cut_short(self) -> ModelFileError:
        return ModelFileError(
            f"{self._path.name} is cut short (its header ends early).",
            "The file is probably an incomplete download; download it again.",
        )

    def strings(self, count: int) -> list[bytes]:
        """Read `count` strings, as stored (bytes, as llama.cpp compares tokens): `string()`
        inlined, with the same checks, as a vocabulary and its merges are some 100,000 strings
        each (4-7x faster on the bundled models)."""
        if self._stream.seekable():
            return self._strings_in_blocks(count)
        read, unpack, size, tap = self._stream.read, _U64.unpack, self._size, self.tap
        position = self.position
        strings: list[bytes] = []
        append = strings.append
        for _ in range(count):
            head = read(8) if position + 8 <= size else b""
            if len(head) != 8:
                raise self._cut_short()
            (length,) = unpack(head)
            if length > MAX_STRING_BYTES:
                raise damaged(self._path, f"it holds a text of {length:,} bytes")
            if position + 8 + length > size:
                raise self._cut_short()
            data = read(length)
            position += 8 + len(data)
            append(data)
            if tap is not None:
                tap(head)
                tap(data)
        self.position = position
        return strings

    def _strings_in_blocks(self, count: int) -> list[bytes]:
        """`strings` over blocks read whole (one read per 1 MiB, not two per string), then the
        stream put back where the strings end: SmolLM2's header in 50-65 ms, not 72-76."""
        unpack_from, size, tap = _U64.unpack_from, self._size, self.tap
        block_start = self.position  # where `block` begins in the file
        block, at = b"", 0
        strings: list[bytes] = []
        append = strings.append

        def refill(need: int) -> None:
            nonlocal block, block_start, at
            if tap is not None:
                tap(block[:at])  # the strings read so far, as stored
            block_start += at
            kept = block[at:]
            wanted = max(_STRING_BLOCK_BYTES, need) - len(kept)
            block = kept + self._stream.read(max(0, min(wanted, size - block_start - len(kept))))
            at = 0
            if len(block) < need:
                raise self._cut_short()

        for _ in range(count):
            if at + 8 > len(block):
                refill(8)
            (length,) = unpack_from(block, at)
            if length > MAX_STRING_BYTES:
                raise damaged(self._path, f"it holds a text of {length:,} bytes")
            end = at + 8 + length
            if end > len(block):
                refill(8 + length)
                end = 8 + length
            append(block[at + 8 : end])
            at = end
        if tap is not None:
            tap(block[:at])
        self.position = block_start + at
        self._stream.seek(self.position)
        return strings

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > MAX_STRING_BYTES:
            raise damaged(self._path, f"it holds a text of {length:,} bytes")
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
        raise damaged(self._path, f"a value has the unknown type tag {value_type}")

    def array(self, item_type: int, count: int) -> Any:
        if item_type == _ARRAY:
            raise damaged(self._path, "it nests arrays, which GGUF readers do not accept")
        if item_type not in _SCALAR_FORMATS and item_type != _STRING:
            raise damaged(self._path, f"an array has the unknown type tag {item_type}")
        item_size = struct.calcsize(_SCALAR_FORMATS[item_type]) if item_type != _STRING else 8
        if count * item_size > self.remaining:
            self.take(count * item_size)  # refuses: the file ends before the array does
        if item_type in _SCALAR_FORMATS and count > _MAX_KEPT_ARRAY:
            data = self.take(item_size * count)
            if self.keep:
                self.kept = (item_type, data)
            return _LongArray(count, item_type)
        if count <= _MAX_KEPT_ARRAY:
            return [self.value(item_type) for _ in range(count)]
        strings = self.strings(count)
        if self.keep:
            self.kept = (item_type, strings)
        return _LongArray(count, item_type, len(set(strings)))


class _VocabularyDigest:
    """A digest of the vocabulary as stored, taken while the header is read (no second walk).

    BLAKE2b (16 bytes) of the token list's value bytes (`tokenizer.ggml.tokens`, an array:
    item type, count, and each token's length and bytes) followed by the tokenizer kind's
    (`tokenizer.ggml.model`, a single value). Two files read a text as the same tokens when
    their digests are equal; quality per token compares only between such models.
    """

    TOKENS = "tokenizer.ggml.tokens"
    KIND = "tokenizer.ggml.model"
    TYPES = "tokenizer.ggml.token_type"  # not digested: read for `_longest_read`

    def __init__(self) -> None:
        self._tokens = hashlib.blake2b(digest_size=16)
        self._kind: list[bytes] = []

    def tap(self, key: str, value_type: int) -> Callable[[bytes], object] | None:
        """Where the bytes of `key`'s value go; None for a value the digest does not cover."""
        if key == self.TOKENS and value_type == _ARRAY:
            return self._tokens.update
        if key == self.KIND and value_type != _ARRAY:
            return self._kind.append
        return None

    def hexdigest(self) -> str:
        digest = self._tokens.copy()
        for part in self._kind:
            digest.update(part)
        return digest.hexdigest()


def damaged(path: Path, what: str) -> ModelFileError:
    """The refusal for a header that cannot be right: `what` says why, in words."""
    return ModelFileError(f"{path.name} is damaged: {display_text(what)}.", _DAMAGED_HINT)


def _short(name: str, limit: int = 64) -> str:
    """A name read from the file, shortened for a message (a damaged length can make it huge)."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _tensor_bytes(ggml_type: int, dims: list[int] | tuple[int, ...]) -> int:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        return 0
    elements = 1
    for dim in dims:
        elements *= dim
    return elements // block_size * type_size


def _block_size(ggml_type: int) -> int:
    """ggml's block size for a tensor type; 0 for a type this build does not know."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        return int(GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)][0])
    except (ValueError, KeyError):
        return 0


def read_header(
    path: str | Path, stream: BinaryIO | None = None, file_size: int | None = None
) -> GGUFHeader:
    """The header, metadata and tensor table of a GGUF file, each part checked as it is read.

    A file on disk that has not changed since it was last read (same size, mtime and inode) is
    not read again: a load asks for its header several times (fit check, memory estimate,
    session), and parsing one is ~0.1 s of Python that holds the GIL against the window.

    Args:
        path: The file; with `stream`, only the name used in messages.
        stream: Read from this (e.g. a file on the Hub read over HTTP ranges) instead of `path`;
            it is closed afterwards.
        file_size: The file's size in bytes; required with `stream`.

    Raises:
        ModelFileError: missing, unreadable, not GGUF, damaged, or shorter than its tensor table.
    """
    if stream is None:
        try:
            found = Path(path).stat()
        except OSError:
            pass  # read below, which says why in words
        else:
            if stat.S_ISREG(found.st_mode):
                return _cached_header(str(path), found.st_size, found.st_mtime_ns, found.st_ino)
    return _read_header(Path(path), stream, file_size)


@functools.lru_cache(maxsize=16)
def _cached_header(path: str, _size: int, _mtime_ns: int, _inode: int) -> GGUFHeader:
    return _read_header(Path(path), None, None)


def check_gguf_file(path: str | Path) -> None:
    """Refuse a path that cannot be a GGUF model, reading no more than its first four bytes:
    quick enough to answer while a person waits (the full check is `read_header`).

    Raises:
        ModelFileError: missing, a folder, a pipe or device, unreadable, empty or not GGUF,
            in the same words as `read_header`.
    """
    path = Path(path)
    stream, file_size = _open_model_file(path)
    with stream:
        _check_start(path, stream, file_size)


def _open_model_file(path: Path) -> tuple[BinaryIO, int]:
    """The file opened for reading, and its size; refused in words when it is not a file."""
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise ModelFileError(f"{path.name} is a folder, not a model file.",
                                 "Choose a .gguf file in it.")  # fmt: skip
        # A pipe or device would block the read (a pipe until a writer comes) or never end;
        # llama.cpp maps model files into memory, which only a regular file allows.
        if not stat.S_ISREG(status.st_mode):
            raise ModelFileError(
                f"{path.name} is not a model file: it is a pipe or a device, not a file on a disk.",
                "Choose a .gguf file.",
            )
        return path.open("rb"), status.st_size
    except FileNotFoundError as exc:
        raise ModelFileError(f"Model file not found: {path}") from exc
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror}.") from exc


def _check_start(path: Path, stream: BinaryIO, file_size: int) -> None:
    """Refuse an empty file or one that does not begin with GGUF's magic; reads four bytes."""
    if file_size == 0:
        raise ModelFileError(f"{path.name} is empty: it holds no model.",
                             "Download it again, or choose another .gguf file.")  # fmt: skip
    if stream.read(4) != GGUF_MAGIC:
        raise ModelFileError(f"{path.name} is not a GGUF model file.", _not_gguf_hint(path))


def _read_header(path: Path, stream: BinaryIO | None, file_size: int | None) -> GGUFHeader:
    if stream is None:
        stream, file_size = _open_model_file(path)
    assert file_size is not None, "a stream needs its file size"
    with stream:
        _check_start(path, stream, file_size)
        reader = _Reader(stream, path, file_size)
        version = reader.scalar("<I")
        if version < SUPPORTED_VERSIONS[0]:
            raise ModelFileError(f"{path.name} uses GGUF version {version}, which is too old.")
        if version > SUPPORTED_VERSIONS[-1]:
            raise ModelFileError(
                f"{path.name} uses GGUF version {version}, newer than this Hearth can read.",
                "Update Hearth, or choose another model.",
            )
        tensor_count = reader.scalar("<Q")
        kv_count = reader.scalar("<Q")
        if tensor_count > MAX_COUNT or kv_count > MAX_COUNT:
            raise damaged(path, f"it claims {max(tensor_count, kv_count):,} entries")
        metadata: dict[str, Any] = {}
        value_types: dict[str, int] = {}
        vocabulary = _VocabularyDigest()
        kept: dict[str, tuple[int, Any]] = {}  # the long token list and types, for a moment
        for _ in range(kv_count):
            key = reader.string()
            value_type = reader.scalar("<I")
            if key in metadata:
                raise damaged(path, f"the key {_short(key)} appears twice")
            reader.tap = vocabulary.tap(key, value_type)
            reader.keep = key in (_VocabularyDigest.TOKENS, _VocabularyDigest.TYPES)
            metadata[key] = reader.value(value_type)
            reader.tap, reader.keep = None, False
            if reader.kept is not None:
                kept[key], reader.kept = reader.kept, None
            value_types[key] = value_type
        has_tokens = value_types.get(_VocabularyDigest.TOKENS) == _ARRAY
        vocab_digest = vocabulary.hexdigest() if has_tokens else ""
        longest = _longest_read(metadata, kept) if has_tokens else 0
        del kept
        alignment = _alignment(path, metadata, value_types)
        tensors = _read_tensor_table(reader, path, tensor_count)
        data_start = -(-reader.position // alignment) * alignment
    _check_offsets(path, tensors, alignment)
    data_needed = max((t.offset + t.nbytes for t in tensors), default=0)
    if data_start + data_needed > file_size:
        missing = data_start + data_needed - file_size
        raise ModelFileError(
            f"{path.name} is incomplete: {size_text(missing)} of model weights are missing.",
            "The download probably stopped early; download the file again.",
        )
    return GGUFHeader(
        version, metadata, tuple(tensors), data_start, file_size, vocab_digest, longest
    )


def _alignment(path: Path, metadata: dict[str, Any], value_types: dict[str, int]) -> int:
    if "general.alignment" not in metadata:
        return DEFAULT_ALIGNMENT
    alignment = metadata["general.alignment"]
    if value_types["general.alignment"] != _UINT32 or alignment <= 0 or alignment & (alignment - 1):
        raise damaged(path, f"its alignment {alignment!r} is not a power of two")
    return int(alignment)


def _read_tensor_table(reader: _Reader, path: Path, count: int) -> list[TensorInfo]:
    tensors: list[TensorInfo] = []
    names: set[str] = set()
    for _ in range(count):
        name = reader.string()
        if name in names:
            raise damaged(path, f"the tensor {_short(name)} appears twice")
        names.add(name)
        n_dims = reader.scalar("<I")
        if n_dims > MAX_DIMS:
            raise damaged(path, f"the tensor {_short(name)} has {n_dims:,} dimensions")
        dims = tuple(reader.scalar("<q") for _ in range(n_dims))
        if any(dim < 0 for dim in dims):
            raise damaged(path, f"the tensor {_short(name)} has a negative size")
        elements = 1
        for dim in dims:
            elements *= dim
        if elements >= 1 << 63:
            raise damaged(path, f"the tensor {_short(name)} has more elements than can be counted")
        ggml_type = reader.scalar("<I")
        block = _block_size(ggml_type)
        if block == 0:
            raise damaged(path, f"the tensor {_short(name)} has the unknown type {ggml_type}")
        if dims and dims[0] % block:
            raise damaged(path, f"the rows of tensor {_short(name)} do not fit its type's blocks")
        offset = reader.scalar("<Q")
        tensors.append(TensorInfo(name, ggml_type, dims, _tensor_bytes(ggml_type, dims), offset))
    return tensors


def _check_offsets(path: Path, tensors: list[TensorInfo], alignment: int) -> None:
    """Tensors follow each other in the data section, each padded to the alignment (as
    llama.cpp's GGUF reader requires)."""
    expected = 0
    for tensor in tensors:
        if tensor.offset != expected:
            raise damaged(
                path,
                f"the tensor {_short(tensor.name)} starts at byte {tensor.offset:,} of the data, "
                f"not at {expected:,}",
            )
        expected += -(-tensor.nbytes // alignment) * alignment


# --- how much of a text one token reads -----------------------------------------------------------


class _Vocabulary:
    """A token list as stored, with each token's type (llama.cpp's numbers)."""

    def __init__(self, tokens: list[bytes], type_of: Callable[[int], int]) -> None:
        self.tokens = tokens
        self.type_of = type_of

    @functools.cached_property
    def texts(self) -> Set[bytes]:
        """Every token's text; made only when a rule asks (see `_spelled_by_merges`)."""
        return frozenset(self.tokens)


def _read_by_byte_level_bpe(vocabulary: _Vocabulary, index: int) -> int:
    """GPT-2's byte-level BPE ("gpt2"): each character of a token stands for one byte of text
    (its bytes_to_unicode map: "Ġ", two bytes stored, reads a space), as llama.cpp maps a text
    to such characters before merging. A user-defined token is matched as written, even with
    special tokens off. Control tokens count too: merging looks tokens up by their text alone,
    whatever their type, so one the merges can spell is read like any other."""
    token = vocabulary.tokens[index]
    if vocabulary.type_of(index) == _USER_DEFINED:
        return len(token)
    try:
        return len(token.decode("utf-8"))
    except UnicodeDecodeError:  # merging makes only whole characters: read as written, if at all
        return len(token)


def _read_by_sentencepiece(vocabulary: _Vocabulary, index: int) -> int:
    """SentencePiece ("llama"): "▁" stands for a space, but a text may hold "▁" itself (three
    bytes) and llama.cpp reads it as the same piece, so a token reads what it stores (control
    tokens too, as merging could spell them). A byte token ("<0x0A>") reads the one byte it
    stands for, unless merging could spell its text."""
    token = vocabulary.tokens[index]
    if vocabulary.type_of(index) == _BYTE and not _spelled_by_merges(token, vocabulary.texts):
        return 1
    return len(token)


def _spelled_by_merges(token: bytes, texts: Set[bytes]) -> bool:
    """Whether llama.cpp's SentencePiece merging could end in `token`'s text: it joins two
    neighbours whose joined text is a token, each one character or itself a token."""
    if not token.isascii():
        return True  # not cut between characters here: taken as spelled, the safe side
    last = len(token) - 1
    return any((cut == 1 or token[:cut] in texts) and (cut == last or token[cut:] in texts)
               for cut in range(1, len(token)))  # fmt: skip


# How many bytes of text a token reads, by `tokenizer.ggml.model`; others: what it stores.
_READS: dict[str, Callable[[_Vocabulary, int], int]] = {
    "gpt2": _read_by_byte_level_bpe,
    "llama": _read_by_sentencepiece,
}


def _longest_read(metadata: dict[str, Any], kept: dict[str, tuple[int, Any]]) -> int:
    """The most bytes of a text one token can read: a text holds at least its bytes over this
    many tokens. Stored forms are never shorter than what they read ("Ġ" for a space), so the
    longest stored token bounds it; `_READS` says how much less a token reads for llama.cpp's
    two common tokenizers. Other tokenizers, and files whose token types are missing or not
    32-bit numbers, keep the stored bound.

    Only tokens stored longer than the best found so far can beat it, and they are few: they
    are picked out by numpy (loaded with `gguf` already), not a loop over the vocabulary, so
    this adds 1-6 ms to a header's 30-100 ms.

    Args:
        metadata: The header's metadata (short arrays as lists).
        kept: The long token list and types, as `_Reader.kept` left them.
    """
    import numpy as np

    names = _VocabularyDigest
    tokens = _token_strings(metadata.get(names.TOKENS), kept.get(names.TOKENS))
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    stored = int(lengths.max(initial=0))
    reads = _READS.get(str(metadata.get(names.KIND)))
    type_of = _token_types(metadata.get(names.TYPES), kept.get(names.TYPES), len(tokens))
    if reads is None or type_of is None:
        return stored
    vocabulary = _Vocabulary(tokens, type_of)
    best, upper = 0, stored  # `best`: the most any token stored longer than `upper` reads
    while upper > best:
        lower = max(best, upper // 2)
        found = np.flatnonzero((lengths > lower) & (lengths <= upper))
        for index in found[np.argsort(-lengths[found], kind="stable")].tolist():
            if len(tokens[index]) <= best:
                break
            best = max(best, reads(vocabulary, index))
        upper = lower
    return best


def _token_strings(listed: Any, kept: tuple[int, Any] | None) -> list[bytes]:
    """The token list's strings as stored; [] when there is none."""
    if kept is not None:
        item_type, items = kept
        return items if item_type == _STRING else []
    if isinstance(listed, list):
        return [str(token).encode("utf-8", "surrogatepass") for token in listed]
    return []


def _token_types(
    listed: Any, kept: tuple[int, Any] | None, tokens: int
) -> Callable[[int], int] | None:
    """A token's type by its index, or None when some token has none or they are not 32-bit
    numbers (llama.cpp reads them as such whatever the file says). Long lists are read only
    where asked: few tokens are."""
    if kept is not None:
        item_type, data = kept
        if item_type != _INT32 or len(data) < 4 * tokens:
            return None
        return lambda index: int(_I32.unpack_from(data, 4 * index)[0])
    if isinstance(listed, list) and all(type(item) is int for item in listed):
        return listed.__getitem__ if len(listed) >= tokens else None
    return None


# --- the metadata against the tensors -------------------------------------------------------------


class _Checker:
    """Reads architecture keys with their types checked; refusals name the file."""

    def __init__(self, path: Path, metadata: dict[str, Any]) -> None:
        self.path = path
        self.metadata = metadata
        self.arch = str(metadata.get("general.architecture", ""))

    def count(self, key: str, default: int = 0, blocks: int = 0) -> int:
        """A non-negative integer (or, for per-layer keys, the largest of a list of them)."""
        value = self.metadata.get(f"{self.arch}.{key}", default)
        items = value if isinstance(value, list) else [value]
        if isinstance(value, _LongArray) or not items:
            raise damaged(self.path, f"{_short(self.arch + '.' + key)} is not a number")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise damaged(self.path, f"{_short(self.arch + '.' + key)} is not a whole number")
        if any(v < 0 for v in items):
            raise damaged(self.path, f"{_short(self.arch + '.' + key)} is negative")
        if isinstance(value, list) and blocks and len(value) != blocks:
            raise damaged(
                self.path,
                f"{_short(self.arch + '.' + key)} lists {len(value):,} layers, not {blocks:,}",
            )
        return int(max(items))

    def has(self, key: str) -> bool:
        return f"{self.arch}.{key}" in self.metadata


def check_consistency(path: Path, header: GGUFHeader) -> None:
    """Refuse metadata that contradicts the tensor table or breaks llama.cpp's own limits.

    Raises:
        ModelFileError: saying which value is wrong and why.
    """
    metadata = header.metadata
    check = _Checker(path, metadata)
    if not check.arch:
        raise damaged(path, "it does not say which model architecture it is")
    tokens = metadata.get("tokenizer.ggml.tokens")
    if tokens is not None and (not isinstance(tokens, (list, _LongArray)) or len(tokens) == 0):
        raise damaged(path, "its vocabulary is empty")
    vocab = len(tokens) if tokens is not None else 0
    if isinstance(tokens, _LongArray) and tokens.distinct != vocab:
        raise damaged(path, f"its vocabulary lists {vocab - tokens.distinct:,} tokens twice")
    if isinstance(tokens, list) and len(set(tokens)) != vocab:
        raise damaged(path, f"its vocabulary lists {vocab - len(set(tokens)):,} tokens twice")
    for key in ("tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
        other = metadata.get(key)
        if tokens is not None and other is not None and len(other) < vocab:
            raise damaged(path, f"{_short(key)} has {len(other):,} entries for {vocab:,} tokens")
    if not check.has("block_count"):
        return  # not a language model llama.cpp would run (a vocabulary, a vision encoder)
    blocks = check.count("block_count")
    _check_layers(path, header, blocks)
    context = check.count("context_length")
    if context > MAX_CONTEXT_LENGTH:
        raise damaged(path, f"it claims a context length of {context:,} tokens, which no model has")
    if check.count("nextn_predict_layers") > blocks:
        raise damaged(path, "it has more prediction layers than layers")
    _check_experts(path, check, blocks)
    scaling = metadata.get(f"{check.arch}.rope.scaling.type", "linear")
    if scaling not in ROPE_SCALING_TYPES:
        raise damaged(
            path, f"its rope scaling type {str(scaling)[:40]!r} is not one llama.cpp knows"
        )
    embedding = check.count("embedding_length")
    heads = check.count("attention.head_count", blocks=blocks)
    heads_kv = check.count("attention.head_count_kv", heads, blocks=blocks)
    if check.arch not in _RECURRENT and check.has("attention.head_count") and heads == 0:
        raise damaged(path, "its layers have 0 attention heads")
    if heads and heads_kv > heads:
        raise damaged(path, f"it has more key/value heads ({heads_kv:,}) than heads ({heads:,})")
    if check.arch in _UNIFORM:
        _check_uniform(path, header, check, blocks, embedding, heads, vocab)


def _check_layers(path: Path, header: GGUFHeader, blocks: int) -> None:
    if blocks == 0:
        raise damaged(path, "it says it has 0 layers")
    if blocks > MAX_LAYERS:
        held = _layer_indices(header)
        of = f" but holds the weights of {len(held):,}" if held else ""
        raise damaged(path, f"it says it has {blocks:,} layers{of}; llama.cpp runs at most "
                            f"{MAX_LAYERS}")  # fmt: skip
    held = _layer_indices(header)
    if held and held != set(range(blocks)):
        if max(held) >= blocks:
            raise damaged(path, f"it says it has {blocks:,} layers but holds weights for "
                                f"layer {max(held):,}")  # fmt: skip
        raise damaged(path, f"it says it has {blocks:,} layers but holds the weights of "
                            f"{len(held):,}")  # fmt: skip


def _layer_indices(header: GGUFHeader) -> set[int]:
    return {int(m.group(1)) for t in header.tensors if (m := _LAYER.match(t.name))}


def _check_experts(path: Path, check: _Checker, blocks: int) -> None:
    experts = check.count("expert_count")
    used = check.count("expert_used_count", blocks=blocks)
    groups = check.count("expert_group_count")
    if experts > MAX_EXPERTS:
        raise damaged(path, f"it says it has {experts:,} experts; llama.cpp runs at most "
                            f"{MAX_EXPERTS:,}")  # fmt: skip
    if used > experts or (experts and not used) or (experts and groups >= experts):
        raise damaged(path, f"it uses {used:,} of {experts:,} experts per token")
    if not experts and groups:
        raise damaged(path, "it has expert groups but no experts")
    if groups > 1:
        group_used = check.count("expert_group_used_count")
        if experts % groups or not 0 < group_used < groups:
            raise damaged(path, "its expert groups do not divide its experts")


def _check_uniform(path: Path, header: GGUFHeader, check: _Checker, blocks: int, embedding: int,
                   heads: int, vocab: int) -> None:  # fmt: skip
    """Shapes every layer of the common dense architectures must have."""
    if embedding == 0:
        raise damaged(path, "its embedding length is 0")
    if heads and not check.has("attention.key_length") and embedding % heads:
        raise damaged(path, f"its {embedding:,}-wide embeddings do not split into {heads:,} heads")
    by_name = {t.name: t for t in header.tensors}
    embed = by_name.get("token_embd.weight")
    if embed is None:
        raise damaged(path, "it lacks the token embeddings (token_embd.weight)")
    want = (embedding, vocab) if vocab else (embedding,)
    if tuple(embed.dims[: len(want)]) != want or len(embed.dims) != 2:
        shape = " × ".join(f"{d:,}" for d in embed.dims)
        of = f" for {vocab:,} tokens" if vocab else ""
        raise damaged(path, f"its token embeddings are {shape}, but its metadata says "
                            f"{embedding:,}-wide embeddings{of}")  # fmt: skip
    per_layer: dict[int, set[str]] = {i: set() for i in range(blocks)}
    for name in by_name:
        match = _LAYER.match(name)
        if match:
            per_layer[int(match.group(1))].add(name[match.end() :])
    everyone = set().union(*per_layer.values())
    for index, names in per_layer.items():
        missing = sorted(everyone - names)
        if missing:
            raise damaged(path, f"it lacks the tensor blk.{index}.{_short(missing[0])} that its other "
                                "layers have")  # fmt: skip


def _int_or_first(value: Any, default: int = 0) -> int:
    """Some architectures store per-layer lists (e.g. KV heads); the largest stands for all."""
    if isinstance(value, list):
        return int(max(value)) if value else default
    return int(value) if value is not None else default


def read_model_info(
    path: str | Path,
    check: bool = True,
    stream: BinaryIO | None = None,
    file_size: int | None = None,
) -> ModelInfo:
    """Read what a person (and the context planner) needs to know about a GGUF model file.

    Args:
        check: Refuse metadata that contradicts the tensor table (see `check_consistency`);
            the first part of a split model holds only some layers and is not checked.
        stream, file_size: Read from `stream` (e.g. a file on the Hub read over HTTP ranges),
            `file_size` bytes long, instead of `path`, as in `read_header`.

    Raises:
        ModelFileError: the file is missing, not GGUF, damaged or inconsistent, in words.
    """
    # An unchanged file's header is parsed once (see read_header); the rest is ~1 ms.
    return _model_info(Path(path), check, stream, file_size)


def _model_info(
    path: Path, check: bool, stream: BinaryIO | None, file_size: int | None
) -> ModelInfo:
    header = read_header(path, stream, file_size)
    if check and int(header.metadata.get("split.count", 1) or 1) <= 1:
        check_consistency(path, header)
    metadata = header.metadata
    arch = str(metadata.get("general.architecture", "unknown"))

    def arch_key(key: str, default: Any = 0) -> Any:
        value = metadata.get(f"{arch}.{key}", default)
        return value if isinstance(value, (int, float, list)) else default

    try:
        embedding = _int_or_first(arch_key("embedding_length"))
        heads = _int_or_first(arch_key("attention.head_count"))
        head_dim = embedding // heads if heads else 0
        block_count = _int_or_first(arch_key("block_count"))
        sliding_window = _int_or_first(arch_key("attention.sliding_window"))
        file_type = metadata.get("general.file_type", -1)
        parameter_count = metadata.get("general.parameter_count", 0)
    except (TypeError, ValueError) as exc:
        raise damaged(path, "a layer count or size is not a number") from exc
    tokens = metadata.get("tokenizer.ggml.tokens", [])
    if not isinstance(parameter_count, int) or parameter_count <= 0:
        parameter_count = sum(t.elements for t in header.tensors)
    template = metadata.get("tokenizer.chat_template")
    return ModelInfo(
        path=str(path),
        file_size=header.file_size,
        name=str(metadata.get("general.name") or path.stem),
        architecture=arch,
        parameter_count=parameter_count,
        file_type=FILE_TYPE_NAMES.get(file_type if isinstance(file_type, int) else -1, "unknown"),
        context_length=_int_or_first(arch_key("context_length")),
        block_count=block_count,
        head_count=heads,
        head_count_kv=_int_or_first(arch_key("attention.head_count_kv"), heads) or heads,
        embedding_length=embedding,
        key_length=_int_or_first(arch_key("attention.key_length"), head_dim) or head_dim,
        value_length=_int_or_first(arch_key("attention.value_length"), head_dim) or head_dim,
        sliding_window=sliding_window,
        swa_layers=_count_swa_layers(metadata, arch, block_count, sliding_window),
        vocab_size=len(tokens) if isinstance(tokens, (list, _LongArray)) else 0,
        chat_template=str(template) if isinstance(template, str) and template else None,
        feed_forward_length=_widest(arch_key("feed_forward_length")),
        vocab_digest=header.vocab_digest,
        longest_token_bytes=header.longest_token_bytes,
    )


def _widest(value: Any) -> int:
    """A per-model size, or the largest of per-layer sizes; 0 when unusable."""
    if isinstance(value, list):
        value = max((v for v in value if isinstance(v, int)), default=0)
    return value if isinstance(value, int) and value > 0 else 0


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


def _not_gguf_hint(path: Path) -> str:
    """What to do about a file that is not GGUF: a .gguf name suggests a download that saved
    something else (an error page, a login form)."""
    if path.suffix.lower() == ".gguf":
        return ("Its name ends in .gguf, but what is inside is something else: a download may "
                "have saved an error page. Download it again.")  # fmt: skip
    return "Hearth runs models in the GGUF format (files ending in .gguf)."
