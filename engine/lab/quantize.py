"""Make smaller variants of a model with llama.cpp's own quantizer (`llama_model_quantize`).

The quantizer runs in a child process (see `quantize_child`): it can be stopped at once, and it
writes to a hidden temporary file in the target folder that is renamed only once the output has
been checked, so a stopped, failed or crashed quantization never leaves a partial model behind.

Best results come from a full-precision source (F32, F16, BF16) or Q8_0. A lower source works when
the caller allows requantizing, with a warning: what the first quantization lost cannot come back.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.backends import default_threads
from engine.cancel import CancelToken
from engine.catalog import ModelCatalog
from engine.errors import HearthError, ModelFileError
from engine.gguf_info import ModelInfo, read_model_info
from engine.lab.events import LabNotice, LabProgress, ProgressClock
from engine.memory.weights import read_tensor_table
from engine.storage import check_free_space, check_writable, free_bytes

log = logging.getLogger(__name__)

# The variants Hearth offers, as llama.cpp names them, with their `enum llama_ftype` values.
QUANT_TYPES: dict[str, int] = {
    "Q8_0": 7,
    "Q6_K": 18,
    "Q5_K_M": 17,
    "Q4_K_M": 15,
    "Q4_0": 2,
    "Q3_K_M": 12,
    "Q2_K": 10,
}
# Bits per weight of each type's blocks (ggml block layouts: Q8_0 34 bytes per 32 weights,
# Q6_K 210 per 256, Q5_K 176/256, Q4_K 144/256, Q4_0 18/32, Q3_K 110/256, Q2_K 84/256).
TYPE_BITS: dict[str, float] = {
    "Q8_0": 8.5,
    "Q6_K": 6.5625,
    "Q5_K_M": 5.5,
    "Q4_K_M": 4.5,
    "Q4_0": 4.5,
    "Q3_K_M": 3.4375,
    "Q2_K": 2.625,
}
FULL_PRECISION = ("F32", "F16", "BF16")
# K-quant blocks hold 256 weights: llama.cpp gives matrices with rows of another length a fallback
# type (Q5_0, Q5_1 or Q8_0). Its mixes also keep some tensors (attention V, FFN down) a step or two
# higher, and token embeddings and the output layer at up to Q8_0 in small models.
K_BLOCK = 256
K_FALLBACK_BITS = {"Q6_K": 8.5, "Q5_K_M": 6.0, "Q4_K_M": 5.5, "Q3_K_M": 5.5, "Q2_K": 5.5}
MIX_MARGIN = 1.4
EMBEDDING_BITS = 8.5
DISK_MARGIN_BYTES = 64 * 2**20
TENSOR_ALIGNMENT = 32  # GGUF pads every tensor's data to this many bytes
_QUANT_SUFFIX = re.compile(r"[-_.](f32|f16|bf16|q\d(_[a-z0-9]+)*|iq\d\w*)$", re.IGNORECASE)
_POLL_S = 0.1


class RequantizeRefused(HearthError):
    """The source is already quantized below Q8_0 and requantizing was not allowed."""


@dataclass(frozen=True)
class QuantizeRequest:
    """One variant to make.

    Attributes:
        source: The GGUF model to quantize.
        quant_type: One of `QUANT_TYPES` ("Q4_K_M").
        target: Where the variant goes; must not exist yet.
        allow_requantize: Accept a source that is already quantized below Q8_0.
        n_threads: Quantizer threads; 0 means one per physical core.
        chosen_target: The person named `target` (not Hearth's models folder): a folder that
            cannot be written to is then met with "choose another folder".
    """

    source: str
    quant_type: str
    target: str
    allow_requantize: bool = False
    n_threads: int = 0
    chosen_target: bool = False


@dataclass(frozen=True)
class QuantizeCheck:
    """What `check_request` found before starting: warnings, and the disk space needed and free."""

    source: ModelInfo
    warnings: tuple[str, ...]
    estimated_bytes: int
    free_bytes: int
    requantize: bool


@dataclass(frozen=True)
class QuantizeResult:
    """A finished variant, ready to load. `warnings` repeat what was said before starting."""

    source: str
    path: str
    quant_type: str
    source_type: str
    file_size: int
    seconds: float
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_target(source: str | Path, quant_type: str, folder: str | Path) -> Path:
    """`folder/<model>-<TYPE>.gguf`, dropping a type already in the source's name."""
    stem = _QUANT_SUFFIX.sub("", Path(source).stem) or Path(source).stem
    return Path(folder) / f"{stem}-{quant_type}.gguf"


def estimate_output_bytes(source: str | Path, quant_type: str) -> int:
    """An upper estimate of the variant's size in bytes, from the source's tensor table.

    1-D tensors (norms) stay F32; embeddings and the output layer are taken at Q8_0; other
    matrices at the type's bits per weight, with `MIX_MARGIN` for the K-quant mixes' higher-type
    tensors, or at the fallback type when their rows do not fill whole K-quant blocks.
    """
    bits = TYPE_BITS[quant_type]
    tensors = read_tensor_table(source)
    total = 0.0
    for tensor in tensors:
        elements = 1
        for dim in tensor.dims:
            elements *= dim
        if len(tensor.dims) < 2:
            tensor_bits = 32.0
        elif tensor.name.startswith(("token_embd", "output")):
            tensor_bits = max(bits, EMBEDDING_BITS)
        elif quant_type in K_FALLBACK_BITS and tensor.dims[0] % K_BLOCK:
            tensor_bits = K_FALLBACK_BITS[quant_type]
        elif quant_type in K_FALLBACK_BITS:
            tensor_bits = min(bits * MIX_MARGIN, EMBEDDING_BITS)
        else:
            tensor_bits = bits
        total += elements * tensor_bits / 8 + TENSOR_ALIGNMENT
    metadata = Path(source).stat().st_size - sum(t.nbytes for t in tensors)
    return int(total) + max(0, metadata)


def check_request(request: QuantizeRequest) -> QuantizeCheck:
    """Check a request before anything is written.

    Raises:
        ModelFileError: the source is missing, not GGUF or damaged.
        HearthError: unknown type, same type as the source, a source below Q8_0 without
            `allow_requantize`, a target that exists or is the source, or too little disk space.
    """
    if request.quant_type not in QUANT_TYPES:
        raise HearthError(
            f"'{request.quant_type}' is not a quantization type Hearth makes.",
            f"Choose one of {', '.join(QUANT_TYPES)}.",
        )
    info = read_model_info(request.source)
    source_type = info.file_type
    target = Path(request.target)
    if target.resolve() == Path(request.source).resolve():
        raise HearthError("The variant cannot replace the model it is made from.")
    if target.is_dir():
        raise HearthError(f"{target} is a folder.", "Give a file name ending in .gguf.")
    if target.exists():
        raise HearthError(f"{target} already exists.", "Choose another name, or remove it first.")
    if target.suffix.lower() != ".gguf":
        raise HearthError(
            f"The variant's name {target.name} does not end in .gguf.",
            "Name it NAME.gguf: Hearth and llama.cpp know model files by that ending.",
        )
    if source_type == request.quant_type:
        raise HearthError(f"{Path(request.source).name} is already {source_type}.")
    warnings = []
    requantize = source_type not in FULL_PRECISION
    if requantize and source_type != "Q8_0":
        if not request.allow_requantize:
            raise RequantizeRefused(
                f"{Path(request.source).name} is already quantized ({source_type}); quantizing it "
                "again loses more quality, which cannot come back.",
                "Start from an F16, BF16 or Q8_0 file if you have one, or allow requantizing.",
            )
        warnings.append(
            f"The source is already {source_type}: the {request.quant_type} variant made from it "
            "is worse than one made from a full-precision file, and quality lost cannot come back."
        )
        if TYPE_BITS[request.quant_type] > info.file_size * 8 / max(info.parameter_count, 1):
            warnings.append(
                f"{request.quant_type} is larger than the {source_type} source but no better."
            )
    folder = target.parent
    if not folder.is_dir():
        raise HearthError(f"{folder} is a file, not a folder." if folder.exists()
                          else f"The folder {folder} does not exist.")  # fmt: skip
    check_writable(folder, f"make the {request.quant_type} variant in {folder}",
                   chosen=request.chosen_target)  # fmt: skip
    estimated = estimate_output_bytes(request.source, request.quant_type)
    check_free_space(folder, estimated + DISK_MARGIN_BYTES,
                     f"make the {request.quant_type} variant in {folder}")  # fmt: skip
    free = free_bytes(folder)
    return QuantizeCheck(info, tuple(warnings), estimated, free, requantize)


def quantize(
    request: QuantizeRequest,
    cancel: CancelToken | None = None,
    catalog: ModelCatalog | None = None,
) -> Iterator[LabProgress | LabNotice | QuantizeResult]:
    """Make the variant: notices, progress per tensor, then one `QuantizeResult`.

    When cancelled (or when the consumer stops reading), the quantizer is stopped, the stream ends
    without a result and nothing is left on disk.

    Args:
        catalog: Where the finished variant is added, so it is offered with the other models.

    Raises:
        ModelFileError, HearthError: see `check_request`; also when llama.cpp fails (its reason in
            the message) or the quantizer process dies.
    """
    cancel = cancel or CancelToken()
    checked = check_request(request)
    for warning in checked.warnings:
        yield LabNotice(warning, "warning", request.source)
    target = Path(request.target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    weights = {t.name: max(1, t.nbytes) for t in read_tensor_table(request.source)}
    clock = ProgressClock(sum(weights.values()), len(weights))
    started = time.monotonic()
    process, conn = _start(request, temporary, checked.requantize)
    finished = False
    try:
        error = ""
        code: int | None = None
        current: str | None = None
        while code is None:
            if cancel.cancelled:
                return
            if not conn.poll(_POLL_S):
                if not process.is_alive() and not conn.poll():
                    break
                continue
            try:
                message = conn.recv()
            except EOFError:
                break
            if message[0] == "tensor":
                _, index, count, name = message
                if current is not None:
                    clock.advance(weights.get(current, 0))
                current = name
                clock.step, clock.total_steps = index, count
                yield clock.progress(f"{request.quant_type}: {name}", request.source)
            elif message[0] == "done":
                code, error = message[1], message[2]
        if code is None:
            process.join(1.0)
            raise HearthError(
                f"The quantizer stopped unexpectedly (exit code {process.exitcode}).",
                "The machine may have run out of memory; close other programs and try again.",
            )
        if code != 0:
            raise HearthError(
                f"llama.cpp could not quantize {Path(request.source).name} to "
                f"{request.quant_type}: {error or 'no reason given'}.",
                _failure_hint(target.parent),
            )
        try:
            read_model_info(temporary)
        except ModelFileError as exc:
            raise HearthError(
                f"The {request.quant_type} variant came out damaged ({exc.message}).",
                _failure_hint(target.parent),
            ) from exc
        if target.exists():  # made by someone else while this one ran: keep theirs
            raise HearthError(f"{target} appeared while quantizing; nothing was replaced.")
        try:
            os.replace(temporary, target)
        except OSError as exc:
            raise HearthError(f"Could not save {target}: {exc.strerror}.") from exc
        finished = True
    finally:
        _stop(process, conn)
        if not finished:
            temporary.unlink(missing_ok=True)
    if catalog is not None:
        catalog.add_made(target)
    clock.advance(clock.total_weight)
    yield clock.progress(f"{request.quant_type}: done", request.source)
    yield QuantizeResult(
        source=str(request.source),
        path=str(target),
        quant_type=request.quant_type,
        source_type=checked.source.file_type,
        file_size=target.stat().st_size,
        seconds=round(time.monotonic() - started, 2),
        warnings=checked.warnings,
    )


def _start(request: QuantizeRequest, temporary: Path, requantize: bool) -> tuple[Any, Any]:
    from engine.lab.quantize_child import run

    # "spawn": a forked copy of a process with live threads (the window, the model) is not safe.
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(
        target=run,
        args=(
            child_end,
            str(Path(request.source)),
            str(temporary),
            QUANT_TYPES[request.quant_type],
            request.n_threads or default_threads(),
            requantize,
        ),
        name="hearth-quantize",
        daemon=True,
    )
    try:
        process.start()
    except OSError as exc:
        raise HearthError(
            f"The quantizer could not be started: {exc}", "Free some memory and try again."
        ) from exc
    finally:
        child_end.close()  # the child has its own copy; ours would hide its exit from us
    return process, parent_end


def _stop(process: Any, conn: Any) -> None:
    """End the quantizer now if it still runs (stop, error or a consumer that went away)."""
    if process.is_alive():
        process.kill()
    process.join(5.0)
    conn.close()


def _failure_hint(folder: Path) -> str:
    try:
        if free_bytes(folder) < DISK_MARGIN_BYTES:
            return "The disk is full; free some space and try again."
    except OSError:
        pass
    return "Details are in the log file."
