"""Remote engine against the local one on the same model, side by side in one run; prints JSON.

Starts llama-cpp-python's OpenAI-compatible server on 127.0.0.1 with the bundled SmolLM2 and
measures, for the same greedy replies:

- generation tokens/s and time to first token through `RemoteSession` (measured on the client,
  so HTTP and SSE are included) and through the in-process `ModelSession` (ratio remote/local);
- Stop: seconds from `cancel()` to the end of the reply, while tokens stream and while the
  server sends nothing (it is frozen with SIGSTOP, as a server reading a long prompt would be).

    .venv/bin/python bench/remote.py [--runs 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.bundled import default_model_path  # noqa: E402
from engine.cancel import CancelToken  # noqa: E402
from engine.remote import RemoteConnection, RemoteSession  # noqa: E402
from engine.session import LoadSettings, ModelSession, SamplingSettings  # noqa: E402
from engine.stats import GenerationStats  # noqa: E402
from tests.remote_servers import LlamaCppPythonServer  # noqa: E402

PROMPT = [{"role": "user", "content": "Count from 1 to 300, separated by commas."}]


def reply(engine, sampling: SamplingSettings, cancel: CancelToken | None = None) -> GenerationStats:
    for item in engine.chat(PROMPT, sampling, cancel):
        if isinstance(item, GenerationStats):
            return item
    raise RuntimeError("no stats")


def speeds(engines: dict[str, object], runs: int, tokens: int) -> dict[str, dict[str, float]]:
    """Median speed per engine; runs alternate between the engines so load changes hit both."""
    sampling = SamplingSettings(temperature=0.0, max_tokens=tokens, repeat_penalty=1.0)
    stats: dict[str, list[GenerationStats]] = {name: [] for name in engines}
    for engine in engines.values():
        reply(engine, sampling)  # warm-up
    for _ in range(runs):
        for name, engine in engines.items():
            stats[name].append(reply(engine, sampling))
    return {
        name: {
            "generation_tokens_per_s": statistics.median(s.generation_tokens_per_s for s in runs_),
            "ttft_s": statistics.median(s.ttft_s for s in runs_),
            "generated_tokens": statistics.median(s.generated_tokens for s in runs_),
        }
        for name, runs_ in stats.items()
    }


def stop_latency(session: RemoteSession, server: LlamaCppPythonServer, frozen: bool) -> float:
    cancel = CancelToken()
    sampling = SamplingSettings(temperature=0.0, max_tokens=600, repeat_penalty=1.0)
    stopped_at = 0.0

    def stop() -> None:
        nonlocal stopped_at
        stopped_at = time.perf_counter()
        cancel.cancel()

    if frozen:
        server.freeze()
    threading.Timer(0.3, stop).start()
    try:
        stats = reply(session, sampling, cancel)
    finally:
        server.thaw()
    assert stats.stop_reason == "cancelled", stats
    return time.perf_counter() - stopped_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    model = default_model_path()
    local = ModelSession()
    local.load(LoadSettings(model_path=str(model), n_ctx=2048, n_threads=1))
    with tempfile.TemporaryDirectory() as logs, LlamaCppPythonServer(Path(logs), model) as server:
        session = RemoteSession()
        session.connect(RemoteConnection(server.url, context_window=2048))
        measured = speeds({"local": local, "remote": session}, args.runs, args.tokens)
        local.unload()
        stops = {
            "stop_while_streaming_s": stop_latency(session, server, frozen=False),
            "stop_while_server_silent_s": stop_latency(session, server, frozen=True),
        }
        session.unload()
    local_speed, remote_speed = measured["local"], measured["remote"]
    result = {
        "model": model.name,
        "threads": 1,
        "runs": args.runs,
        "local": local_speed,
        "remote": remote_speed,
        "generation_ratio_remote_to_local": remote_speed["generation_tokens_per_s"]
        / local_speed["generation_tokens_per_s"],
        "ttft_overhead_s": remote_speed["ttft_s"] - local_speed["ttft_s"],
        **stops,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
