"""The child process that runs llama.cpp's quantizer, so that a quantization can be stopped at once.

`llama_model_quantize` is one blocking C call with no way to interrupt it; run in a process of its
own it can be killed, and the parent removes the half-written file. Progress comes from the line
llama.cpp logs as it starts each tensor ("[  12/ 236]  blk.1.attn_k.weight - [...], type = ...",
`llama_model_quantize_impl` in llama.cpp's src/llama-quant.cpp).
"""

from __future__ import annotations

import ctypes
import os
import re
from pathlib import Path
from typing import Any

# llama.cpp's per-tensor progress line: "[   3/ 236]   token_embd.weight - [  640, 262144, ...".
TENSOR_LINE = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]\s+(\S+)")
GGML_LOG_LEVEL_ERROR = 4


def run(conn: Any, source: str, target: str, ftype: int, n_threads: int, requantize: bool) -> None:
    """Quantize `source` into `target` and report through `conn`; the entry point of the child.

    Messages sent: ("tensor", index, count, name) as each tensor starts, then ("done", code,
    error_text) where code 0 means success. If the parent goes away the child removes `target`
    and exits, so no orphan keeps writing.
    """
    import llama_cpp

    parent = os.getppid()
    errors: list[str] = []

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def on_log(level: int, text: bytes, user_data: Any) -> None:
        line = text.decode("utf-8", errors="replace")
        if level == GGML_LOG_LEVEL_ERROR:
            errors.append(line.strip())
        match = TENSOR_LINE.match(line)
        if match is None:
            return
        if os.getppid() != parent:
            Path(target).unlink(missing_ok=True)
            os._exit(3)
        conn.send(("tensor", int(match.group(1)), int(match.group(2)), match.group(3)))

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = n_threads
    params.allow_requantize = requantize
    try:
        code = llama_cpp.llama_model_quantize(
            source.encode("utf-8"), target.encode("utf-8"), ctypes.byref(params)
        )
    except Exception as exc:  # a C++ exception surfaces as a Python one in some builds
        errors.append(str(exc))
        code = -1
    conn.send(("done", int(code), " ".join(line for line in errors if line)[-500:]))
    conn.close()
