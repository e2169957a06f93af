"""`hearth serve` against the engine in-process, on the same model in one run; prints one JSON object.

Starts `hearth serve` (a child process, as a person runs it) on 127.0.0.1 with the bundled
SmolLM2, and the same model in this process, then measures with OpenAI's Python client:

- generation tokens/s of one greedy reply through the API (timed on the client: HTTP, SSE and
  JSON included) and in-process (`ModelSession.chat`), runs alternating, medians, and their ratio;
- time to first token over HTTP;
- with 1, 4 and 8 clients at once: total tokens/s and the 95th percentile of request latency
  (requests queue for the one model, so latency grows with the clients and throughput does not).

    .venv/bin/python bench/serve.py [--runs 3] [--tokens 128] [--concurrent-tokens 32]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import openai  # noqa: E402

from app.serve.options import ServeOptions  # noqa: E402
from engine.bundled import default_model_path  # noqa: E402
from engine.session import LoadSettings, ModelSession  # noqa: E402
from engine.stats import GenerationStats  # noqa: E402
from tests.remote_servers import free_port  # noqa: E402

PROMPT = "Count from 1 to 300, separated by commas."
KEY = "sk-hearth-bench"
STARTUP_S = 180.0


def start_server(model: Path, port: int, n_ctx: int, threads: int,
                 home: Path) -> subprocess.Popen[bytes]:  # fmt: skip
    """`hearth serve` in a child process; returns once /v1/models answers."""
    command = [sys.executable, "-m", "app", "serve", "--model", str(model), "--port", str(port),
               "--api-key", KEY, "--ctx", str(n_ctx), "--threads", str(threads)]  # fmt: skip
    env = {**os.environ, "HEARTH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                               cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "serve.log").read_text(errors="replace")[-2000:])
        try:
            headers = {"Authorization": f"Bearer {KEY}"}
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", headers=headers).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("hearth serve did not start")


def http_reply(client: openai.OpenAI, model: str, tokens: int) -> dict[str, float]:
    """One streamed greedy reply, timed on the client."""
    started = time.perf_counter()
    first = last = 0.0
    used = 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=tokens,
        temperature=0, extra_body={"repeat_penalty": 1.0}, stream=True,
        stream_options={"include_usage": True})  # fmt: skip
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter() - started
            first = first or now
            last = now
        if chunk.usage is not None:
            used = chunk.usage.completion_tokens
    decode = last - first
    return {"ttft_s": first, "latency_s": time.perf_counter() - started, "tokens": used,
            "generation_tokens_per_s": (used - 1) / decode if decode > 0 and used > 1 else 0.0}  # fmt: skip


def local_reply(session: ModelSession, tokens: int) -> GenerationStats:
    # The server's defaults (prompt lookup on), with what the HTTP request sets.
    sampling = replace(ServeOptions().sampling, temperature=0.0, max_tokens=tokens,
                       repeat_penalty=1.0)  # fmt: skip
    for item in session.chat([{"role": "user", "content": PROMPT}], sampling):
        if isinstance(item, GenerationStats):
            return item
    raise RuntimeError("no stats")


def concurrent(base_url: str, model: str, clients: int, tokens: int) -> dict[str, float]:
    """`clients` streaming requests at once: tokens/s over all of them and p95 latency."""
    results: list[dict[str, float]] = []
    lock = threading.Lock()

    def one() -> None:
        client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=600)
        result = http_reply(client, model, tokens)
        with lock:
            results.append(result)

    started = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = sorted(r["latency_s"] for r in results)
    p95 = latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)]
    return {"clients": clients, "requests": len(results),
            "throughput_tokens_per_s": round(sum(r["tokens"] for r in results) / wall, 2),
            "p95_latency_s": round(p95, 3),
            "median_ttft_s": round(statistics.median(r["ttft_s"] for r in results), 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--concurrent-tokens", type=int, default=32)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: cores)")
    args = parser.parse_args()
    model = default_model_path()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        port = free_port()
        server = start_server(model, port, args.ctx, args.threads, home)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=600)
            name = client.models.list().data[0].id
            session = ModelSession()
            session.load(
                LoadSettings(model_path=str(model), n_ctx=args.ctx, n_threads=args.threads)
            )
            http_reply(client, name, 16)  # warm-ups
            local_reply(session, 16)
            over_http, in_process = [], []
            for _ in range(args.runs):  # alternating, so a busy moment hits both
                over_http.append(http_reply(client, name, args.tokens))
                in_process.append(local_reply(session, args.tokens))
            session_threads = session.report.n_threads if session.report else 0
            session.unload()
            http_tps = statistics.median(r["generation_tokens_per_s"] for r in over_http)
            local_tps = statistics.median(s.generation_tokens_per_s for s in in_process)
            report = {
                "model": name,
                "tokens": args.tokens,
                "runs": args.runs,
                "cpu_count": os.cpu_count(),
                "threads": session_threads,
                "http_generation_tokens_per_s": round(http_tps, 2),
                "in_process_generation_tokens_per_s": round(local_tps, 2),
                "ratio": round(http_tps / local_tps, 3) if local_tps else None,
                "http_ttft_s": round(statistics.median(r["ttft_s"] for r in over_http), 3),
                "in_process_ttft_s": round(statistics.median(s.ttft_s for s in in_process), 3),
                "concurrency": [
                    concurrent(base_url, name, clients, args.concurrent_tokens)
                    for clients in (1, 4, 8)
                ],  # fmt: skip
            }
        finally:
            server.terminate()
            server.wait(30)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
