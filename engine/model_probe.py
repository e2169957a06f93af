"""Open a model file for the first time in a short-lived child process, where an abort costs nothing.

llama.cpp ends the whole process on some malformed files (a failed GGML_ASSERT calls abort()), and
no Python code can catch that. Hearth's own header check (engine/gguf_info.py) refuses every
inconsistency it knows of; for the rest, `ModelGuard.check` loads a file it has never seen in a
spawned child first: the model with a small window on the CPU, a one-token decode and a trial
render of its chat template, under a memory limit and a deadline. A crash, a hang or a refusal
there becomes a plain error in the parent, with llama.cpp's own reason taken from its log; a file
that passes is remembered (by path, size and modification time), so the check costs once per file.

The guard sits in `ModelSession.load`, so the window, the CLI and any server share it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import HearthError, ModelFileError, ModelLoadError
from engine.llama_load import llama_reason

log = logging.getLogger(__name__)

PROBE_WINDOW = 256
PROBE_TIMEOUT_S = 300.0
# The child may use what is free now plus this much; llama.cpp's CPU buffers for a sound file at
# a 256-token window are at most about its size.
MEMORY_HEADROOM_BYTES = 512 * 2**20
_LOG_TAIL_BYTES = 64 * 1024
# The header (metadata and tensor table) of even a large model fits in this.
HEADER_HASH_BYTES = 8 * 2**20


@dataclass(frozen=True)
class ProbeResult:
    """How the trial load in the child ended.

    Attributes:
        outcome: "ok", "refused" (llama.cpp or Hearth said no), "crashed" (ended by a signal or
            exited without answering) or "timeout".
        message: The refusal in words, when there is one.
        log: The tail of what llama.cpp and ggml wrote while loading.
        signal: The signal that ended the child, for "crashed".
        seconds: How long the probe took.
    """

    outcome: str
    message: str = ""
    log: str = ""
    signal: int | None = None
    seconds: float = 0.0

    @property
    def reason(self) -> str:
        """llama.cpp's own reason, from its log ("" when it gave none)."""
        return llama_reason(self.log)


def probe_model(path: str | Path, timeout_s: float = PROBE_TIMEOUT_S,
                memory_limit: int | None = None, check_header: bool = True) -> ProbeResult:  # fmt: skip
    """Load `path` once in a spawned child process and report how it went (never raises for the
    file itself).

    Args:
        path: The GGUF file (already through the header check).
        timeout_s: Longest the child may take; it is killed after that.
        memory_limit: Bytes of private memory the child may allocate (Linux); None: what is
            available now plus MEMORY_HEADROOM_BYTES.
        check_header: Run Hearth's header check in the child first (off only to test that the
            probe holds on its own).
    """
    if memory_limit is None:
        memory_limit = _available_memory() + MEMORY_HEADROOM_BYTES
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    handle, log_path = tempfile.mkstemp(prefix="hearth-probe-", suffix=".log")
    os.close(handle)
    process = context.Process(
        target=_child,
        args=(str(path), log_path, sender, memory_limit, check_header),
        name="hearth-model-probe",
        daemon=True,
    )
    try:
        process.start()
        sender.close()  # the child holds its own end; ours would hide its exit
        answer: tuple[str, str] | None = None
        if receiver.poll(timeout_s):
            try:
                answer = receiver.recv()
            except (EOFError, OSError):
                answer = None
        process.join(timeout=10 if answer is not None else 1)
        timed_out = process.is_alive() and answer is None
        if process.is_alive():
            process.kill()
            process.join()
        logged = _read_tail(log_path)
    finally:
        receiver.close()
        Path(log_path).unlink(missing_ok=True)
    seconds = time.monotonic() - started
    if timed_out:
        return ProbeResult("timeout", log=logged, seconds=seconds)
    if answer is None:
        code = process.exitcode
        sig = -code if code is not None and code < 0 else None
        return ProbeResult("crashed", log=logged, signal=sig, seconds=seconds)
    outcome, message = answer
    return ProbeResult(outcome, message, logged, seconds=seconds)


def _child(path: str, log_path: str, sender: Any, memory_limit: int, check_header: bool) -> None:
    """The child's whole life: load, decode one token, render the template, answer, exit."""
    # ggml writes its assertion messages to stderr and its crash backtrace (through gdb, where
    # installed) to stdout: both go to the log file, never to the parent's terminal.
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    _limit_memory(memory_limit)
    try:
        import llama_cpp

        from engine.gguf_info import read_model_info
        from engine.llama_load import LoadSettings, create_llama
        from engine.memory.allocation import LogCapture
        from engine.prompt_format import PromptFormat

        captured = LogCapture()

        @llama_cpp.llama_log_callback  # type: ignore[misc]
        def to_log(level: int, text: bytes, user_data: Any) -> None:
            captured.append(text.decode("utf-8", errors="replace"))
            os.write(fd, text)

        llama_cpp.llama_log_set(to_log, None)
        info = read_model_info(path, check=check_header)
        settings = LoadSettings(path, n_ctx=PROBE_WINDOW, n_threads=1, n_gpu_layers=0, n_batch=64)
        llama = create_llama(settings, captured, verbose=True)
        tokens = llama.tokenize(b"Hello", add_bos=True, special=False)
        llama.eval(tokens[:8] or [llama.token_bos()])
        PromptFormat.for_model(llama, info).tokens([{"role": "user", "content": "Hello"}])
        sender.send(("ok", ""))
    except HearthError as exc:
        sender.send(("refused", exc.message))
    except BaseException as exc:  # anything else is a refusal too, in the child's own words
        sender.send(("refused", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()
        sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: llama.cpp's destructors are not worth the risk here


def _limit_memory(limit: int) -> None:
    """Cap the child's private memory, so a file that asks for terabytes gets an error instead."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ValueError, OSError) as exc:
        log.debug("could not limit the probe's memory: %s", exc)


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def _read_tail(path: str) -> str:
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - _LOG_TAIL_BYTES))
            return stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


class ModelGuard:
    """Which model files have been opened safely before; probes the others.

    Args:
        record: A JSON file that keeps the files that passed across runs; None keeps them in
            memory for this process only.
        timeout_s: Longest a probe may take.
    """

    def __init__(self, record: Path | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.record = Path(record) if record is not None else None
        self.timeout_s = timeout_s
        self._passed: set[str] = set()
        self._lock = threading.Lock()
        self.probes = 0  # how many files were probed (for tests and logs)

    def check(self, path: str | Path) -> None:
        """Return when `path` is known to open safely; otherwise probe it first.

        Raises:
            ModelFileError: the file made llama.cpp crash, hang or refuse it as damaged.
            ModelLoadError: llama.cpp refused it for another reason.
        """
        key = _file_key(path)
        if key is None or self._trusted(key, Path(path)):
            return
        self.probes += 1
        result = probe_model(path, self.timeout_s)
        log.info("Probed %s: %s in %.1f s", path, result.outcome, result.seconds)
        if result.outcome != "ok":
            log.warning("llama.cpp log while probing %s:\n%s", path, result.log[-4000:])
            raise probe_error(Path(path).name, result)
        self._remember(key)

    def _trusted(self, key: str, path: Path) -> bool:
        if _is_bundled(path):
            return True
        with self._lock:
            if key in self._passed:
                return True
            if self.record is not None and key in self._load():
                self._passed.add(key)
                return True
        return False

    def _remember(self, key: str) -> None:
        with self._lock:
            self._passed.add(key)
            if self.record is None:
                return
            keys = self._load() | {key}
            try:
                from engine.atomic_io import write_json_atomic

                write_json_atomic(self.record, {"version": 1, "passed": sorted(keys)})
            except HearthError as exc:  # not fatal: the file is probed again next time
                log.warning("Could not remember the checked model: %s", exc)

    def _load(self) -> set[str]:
        assert self.record is not None
        try:
            data = json.loads(self.record.read_text(encoding="utf-8"))
            return {str(key) for key in data.get("passed", [])}
        except (OSError, ValueError, AttributeError):
            return set()


def probe_error(name: str, result: ProbeResult) -> HearthError:
    """The error a person sees for a probe that did not pass."""
    reason = (result.reason or result.message).rstrip(".")
    because = f": {reason}" if reason else ""
    if result.outcome == "timeout":
        return ModelLoadError(
            f"Opening {name} did not finish within {PROBE_TIMEOUT_S:g} seconds, so Hearth "
            "stopped trying.",
            "The file may be damaged, or on a very slow disk.",
        )
    if result.outcome == "crashed":
        how = f" ({signal.Signals(result.signal).name})" if result.signal else ""
        return ModelFileError(
            f"llama.cpp crashed while opening {name}{how}{because}.",
            "The file is damaged or not a model llama.cpp can run; Hearth did not load it.",
        )
    if result.message.startswith("MemoryError") or "memory" in reason:
        return ModelLoadError(f"llama.cpp could not open {name}{because}.",
                              "It needs more memory than this machine has free.")  # fmt: skip
    return ModelFileError(
        f"llama.cpp refused {name}{because}.",
        "The file may be damaged, or made for a newer version of llama.cpp.",
    )


def _file_key(path: str | Path) -> str | None:
    """Path, size, modification time and a hash of the first HEADER_HASH_BYTES: a file edited
    in place within the clock's resolution still counts as a new file."""
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
        with resolved.open("rb") as stream:
            head = hashlib.blake2b(stream.read(HEADER_HASH_BYTES), digest_size=16).hexdigest()
    except OSError:
        return None  # the load itself reports a missing or unreadable file
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{head}"


def _is_bundled(path: Path) -> bool:
    """The models that ship with Hearth are known to load."""
    from engine.bundled import GEMMA_MODEL_FILE, default_model_path, gemma_model_path

    resolved = path.resolve()
    # Gemma's file is assembled on first use: only look it up for a file of its name.
    locators = [default_model_path] + ([gemma_model_path] if path.name == GEMMA_MODEL_FILE else [])
    for locate in locators:
        try:
            if locate().resolve() == resolved:
                return True
        except (HearthError, OSError):
            continue
    return False


DEFAULT_GUARD = ModelGuard()
