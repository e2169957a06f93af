"""Real OpenAI-compatible servers on 127.0.0.1 for the remote-engine tests.

`LlamaCppPythonServer` runs llama-cpp-python's own server (`python -m llama_cpp.server`) on the
bundled SmolLM2 model; `LlamaServer` runs llama.cpp's `llama-server` when a binary is at hand
(HEARTH_LLAMA_SERVER, or build/llama-server/bin/llama-server from `make llama-server`).
Faults are real too: `freeze` (SIGSTOP) makes a server that accepts connections but answers
nothing, `kill` (SIGKILL) one that dies mid-reply.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BUILT_LLAMA_SERVER = ROOT / "build" / "llama-server" / "bin" / "llama-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llama_server_binary() -> str | None:
    """llama.cpp's server binary, if this machine has one."""
    for candidate in (os.environ.get("HEARTH_LLAMA_SERVER"), str(BUILT_LLAMA_SERVER),
                      shutil.which("llama-server")):  # fmt: skip
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class _Server:
    """A server process on a free loopback port; use as a context manager."""

    startup_s = 120.0

    def __init__(self, log_dir: Path, api_key: str | None = None) -> None:
        self.port = free_port()
        self.api_key = api_key
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self) -> _Server:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
        self._wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + self.startup_s
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.log_tail()}")
            try:
                if (
                    httpx.get(self.url + "/v1/models", headers=headers, timeout=2).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the server did not start in {self.startup_s:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def freeze(self) -> None:
        """Stop the process: it still accepts connections (the kernel does), answers nothing."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class LlamaCppPythonServer(_Server):
    """llama-cpp-python's server on `model` (one request at a time, no usage in streams)."""

    def __init__(self, log_dir: Path, model: Path, api_key: str | None = None,
                 n_ctx: int = 2048) -> None:  # fmt: skip
        super().__init__(log_dir, api_key)
        self.model = Path(model)
        self.n_ctx = n_ctx

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
                   "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
                   "--n_threads", "1"]  # fmt: skip
        if self.api_key:
            command += ["--api_key", self.api_key]
        return command


class LlamaServer(_Server):
    """llama.cpp's llama-server on `model`, one slot of `n_ctx` tokens."""

    def __init__(self, log_dir: Path, model: Path, binary: str, api_key: str | None = None,
                 n_ctx: int = 2048) -> None:  # fmt: skip
        super().__init__(log_dir, api_key)
        self.model = Path(model)
        self.binary = binary
        self.n_ctx = n_ctx

    def command(self) -> list[str]:
        command = [self.binary, "--model", str(self.model), "--host", "127.0.0.1",
                   "--port", str(self.port), "--ctx-size", str(self.n_ctx), "--parallel", "1",
                   "--threads", "1", "--no-webui"]  # fmt: skip
        if self.api_key:
            command += ["--api-key", self.api_key]
        return command


def stream_with_fault(items: Iterable[object], after: int, fault: Callable[[], None]):
    """Read a reply, calling `fault` once `after` text pieces have arrived.

    Returns:
        (the text pieces, the final `GenerationStats`).
    """
    from engine.stats import GenerationStats

    pieces: list[str] = []
    for item in items:
        if isinstance(item, GenerationStats):
            return pieces, item
        pieces.append(str(item))
        if len(pieces) == after:
            fault()
    raise AssertionError("the reply ended without stats")
