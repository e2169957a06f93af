"""The KV cache of a prompt's system turn, kept on disk so a new process need not evaluate it.

Every question about documents opens with the same system prompt (about 65 tokens for the
bundled model, ~0.27 s of prefill on two cores). Within one process the session keeps it in the
KV cache between replies; a new process (`hearth ask`, `hearth chat`, the window's first
question) used to evaluate it again. llama.cpp can copy one sequence's KV cache out and back in
(`llama_state_seq_get_data` / `llama_state_seq_set_data`, what its server's slot save and
restore use), so the system turn's keys and values are written once per model and settings and
read back in milliseconds.

A file is named by a digest of everything that decides its contents: the model file (path, size,
modification time), llama.cpp's version, the context settings that shape the cache, and the
prefix's tokens. A file that llama.cpp refuses, or that is damaged, only costs the prefill it
would have saved.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Files kept; the least recently used go first. Each is ~1.5 MB for the bundled model.
MAX_FILES = 16
_SUFFIX = ".kv"


def model_key(model_path: str | Path, context: dict[str, Any]) -> str:
    """What identifies a loaded model's KV layout: the file and the settings that shape its cache.

    Args:
        model_path: The GGUF file.
        context: The settings that shape the KV cache (window, cache types, flash attention,
            sliding window, offload).
    """
    import llama_cpp

    status = os.stat(model_path)
    parts = [str(Path(model_path).resolve()), str(status.st_size), str(status.st_mtime_ns),
             llama_cpp.__version__, repr(sorted(context.items()))]  # fmt: skip
    return "\n".join(parts)


class PrefixCache:
    """KV caches of prompt prefixes, one file each, in `folder`.

    Args:
        folder: Where the files go (created on first write).
        max_files: How many files to keep.
    """

    def __init__(self, folder: Path, max_files: int = MAX_FILES) -> None:
        self.folder = Path(folder)
        self.max_files = max_files

    def _file(self, key: str, tokens: Sequence[int]) -> Path:
        digest = hashlib.sha256(key.encode())
        digest.update(b"\0" + ",".join(map(str, tokens)).encode())
        return self.folder / f"{digest.hexdigest()[:40]}{_SUFFIX}"

    def restore(self, llama: Any, key: str, tokens: Sequence[int]) -> bool:
        """Put the saved KV cache of `tokens` into `llama`'s empty sequence 0.

        Returns:
            True when restored (the cache then holds `tokens`); False when there is no such file
            or llama.cpp refused it (the cache is then left empty).
        """
        import llama_cpp

        path = self._file(key, tokens)
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if not data:
            return False
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        read = llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(data), 0)
        if read != len(data):
            log.warning("Saved prompt cache %s refused; evaluating the prompt instead", path.name)
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            llama.n_tokens = 0
            path.unlink(missing_ok=True)
            return False
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        os.utime(path)  # recently used: kept longest
        return True

    def store(self, llama: Any, key: str, tokens: Sequence[int]) -> None:
        """Save sequence 0 of `llama`, which must hold exactly `tokens`. Failures (a full disk)
        are logged and cost nothing else."""
        import llama_cpp

        try:
            size = llama_cpp.llama_state_seq_get_size(llama._ctx.ctx, 0)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(llama._ctx.ctx, buffer, size, 0)
            if not written:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(prefix=".writing-", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(bytes(buffer)[:written])
                os.replace(scratch, self._file(key, tokens))
            finally:
                Path(scratch).unlink(missing_ok=True)
            self._trim()
        except OSError as exc:
            log.warning("Prompt cache not saved: %s", exc)

    def _trim(self) -> None:
        files = sorted(self.folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        for path in files[: max(0, len(files) - self.max_files)]:
            path.unlink(missing_ok=True)
