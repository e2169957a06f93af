"""Model-file fuzzing through the CLI: mutate GGUF headers and run `hearth chat` on each.

Every mutation changes one number in the header of the bundled models or the tiny test model
(counts, string lengths, type tags, tensor dimensions and offsets, metadata values set to 0, one
off, or huge; see tests/engine/gguf_fuzz.py) and runs `hearth chat --model FILE --max-tokens 1`
in a fresh process. The run passes when every one ends with exit 0 (the file still loads and
answers) or exit 2 with one line on stderr; a signal, another exit code, more than one line, a
traceback or a run past the timeout is a failure. Prints one JSON object: per model, how many
mutations were tried, their outcomes, the failures, the largest memory any run used and the
slowest run.

    .venv/bin/python bench/fuzz_gguf.py                       # about 600 mutations
    .venv/bin/python bench/fuzz_gguf.py --sample 60 --key-sample 40 --models tiny
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.context.tiny_gguf import write_tiny_model  # noqa: E402
from tests.engine.gguf_fuzz import Mutation, mutated, mutations  # noqa: E402


def model_sources(names: list[str], folder: Path) -> dict[str, Path]:
    from engine.bundled import default_model_path, gemma_model_path

    locate = {
        "tiny": lambda: write_tiny_model(folder / "tiny.gguf"),
        "smollm2": default_model_path,
        "gemma3": gemma_model_path,
    }
    return {name: Path(locate[name]()) for name in names}


def run_cli(path: Path, home: Path, timeout: float) -> dict:
    """One `hearth chat` on `path`: exit code, signal, stderr lines, seconds, peak memory."""
    env = {**os.environ, "HEARTH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "app", "chat", "--model", str(path), "--max-tokens", "1",
               "--ctx", "512", "--threads", "1", "hi"]  # fmt: skip
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env,
                                   start_new_session=True)  # fmt: skip
        timer = threading.Timer(timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
    return {
        "code": process.returncode,
        "stderr": stderr.strip(),
        "seconds": seconds,
        "max_rss_mb": usage.ru_maxrss / 1024,
        "timed_out": seconds >= timeout,
    }


def outcome(result: dict) -> str:
    """The kind of ending, or 'FAILURE: why'."""
    code, lines = result["code"], result["stderr"].splitlines()
    if result["timed_out"]:
        return "FAILURE: hang"
    if code < 0:
        return f"FAILURE: signal {signal.Signals(-code).name}"
    if code == 0:
        return "exit 0: still loads and answers"
    if code != 2:
        return f"FAILURE: exit {code}"
    if len(lines) != 1 or "Traceback" in result["stderr"]:
        return "FAILURE: more than one line on stderr"
    if lines[0].startswith("hearth: llama.cpp crashed"):
        return "exit 2: llama.cpp crashed in the child-process probe"
    if lines[0].startswith("hearth: llama.cpp"):
        return "exit 2: refused by llama.cpp (child-process probe)"
    return "exit 2: refused by Hearth's header check"


def fuzz_model(name: str, source: Path, work_dir: Path, args: argparse.Namespace) -> dict:
    todo = mutations(source, sample=args.sample, seed=args.seed, key_sample=args.key_sample)
    lanes = [work_dir / f"{name}-{lane}.gguf" for lane in range(args.jobs)]
    for lane in lanes:
        shutil.copyfile(source, lane)
    results: list[tuple[Mutation, dict]] = []
    lock = threading.Lock()

    def lane_work(lane: int) -> None:
        home = work_dir / f"home-{name}-{lane}"
        for mutation in todo[lane :: args.jobs]:
            with mutated(lanes[lane], mutation):
                result = run_cli(lanes[lane], home, args.timeout)
            with lock:
                results.append((mutation, result))

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lane_work, range(args.jobs)))
    outcomes = Counter(outcome(result) for _, result in results)
    failures = [
        {"mutation": mutation.label, "outcome": outcome(result), "stderr": result["stderr"][-500:]}
        for mutation, result in results
        if outcome(result).startswith("FAILURE")
    ]
    by_kind = Counter(mutation.spot.kind for mutation, _ in results)
    return {
        "file": str(source),
        "tried": len(results),
        "by_spot_kind": dict(sorted(by_kind.items())),
        "outcomes": dict(sorted(outcomes.items())),
        "failures": failures,
        "max_rss_mb": round(max(r["max_rss_mb"] for _, r in results), 1),
        "slowest_s": round(max(r["seconds"] for _, r in results), 1),
        "median_s": round(sorted(r["seconds"] for _, r in results)[len(results) // 2], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny,smollm2,gemma3")
    parser.add_argument("--sample", type=int, default=120, help="mutations beside the key metadata")
    parser.add_argument("--key-sample", type=int, default=80, help="key-metadata mutations")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hearth-fuzz-") as scratch:
        folder = Path(scratch)
        sources = model_sources(args.models.split(","), folder)
        models = {name: fuzz_model(name, path, folder, args) for name, path in sources.items()}
    tried = sum(m["tried"] for m in models.values())
    failures = sum(len(m["failures"]) for m in models.values())
    print(json.dumps({
        "bench": "fuzz_gguf",
        "tried": tried,
        "failures": failures,
        "crashes": sum(1 for m in models.values() for f in m["failures"] if "signal" in f["outcome"]),
        "seconds": round(time.monotonic() - started, 1),
        "jobs": args.jobs,
        "models": models,
    }, indent=2))  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
