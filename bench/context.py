"""Context benchmark: the memory estimate against llama.cpp's real buffers, and 128K fill times.

Prints one JSON object:
- "memory": for the bundled models at several windows and K/V cache types, the estimate per part
  next to what llama.cpp allocated (read from its log), and their ratio;
- "fill": on the tiny 128K test model, the time to fill 32K, 64K and 128K tokens (one growing
  prompt, each step reusing the cache of the one before) and the prefill tokens/s of each step.

- "lean": compute buffers with logits reserved for every batch token (before) and for the
  sampled token plus the longest draft (after), for SmolLM2 and Gemma 3 270M;
- "flash_speed": prefill and decode tokens/s with flash attention off and on, interleaved.

    .venv/bin/python bench/context.py [--max-fill 131072] [--batch 2048] [--skip-memory]
                                      [--skip-fill] [--lean-only] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.bundled import default_model_path, gemma_model_path  # noqa: E402
from engine.gguf_info import read_model_info  # noqa: E402
from engine.memory.estimate import estimate_memory  # noqa: E402
from engine.session import LoadSettings, ModelSession, SamplingSettings  # noqa: E402
from engine.stats import GenerationStats  # noqa: E402
from tests.engine.context.tiny_gguf import write_tiny_model  # noqa: E402

CACHE_TYPES = ("f16", "q8_0", "q4_0")
FILL_STEPS = (32768, 65536, 131072)


def memory_rows(path: Path, windows: tuple[int, ...], flash_f16: bool = False) -> list[dict]:
    info = read_model_info(path)
    rows = []
    session = ModelSession()
    for n_ctx in windows:
        for cache in CACHE_TYPES:
            flash = flash_f16 or cache != "f16"
            report = session.load(
                LoadSettings(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    type_k=cache,
                    type_v=cache,
                    flash_attn=flash,
                    n_gpu_layers=0,
                )  # fmt: skip
            )
            actual = session.allocation
            estimate = estimate_memory(info, n_ctx, cache, cache, report.flash_attn, 0)
            rows.append(
                {
                    "model": info.name,
                    "n_ctx": n_ctx,
                    "cache": cache,
                    "flash_attn": report.flash_attn,
                    "estimate_mib": _mib(estimate.parts()) | {"total": _mib1(estimate.total)},
                    "actual_mib": _mib(actual.parts()) | {"total": _mib1(actual.total)},
                    "ratio": round(estimate.total / actual.total, 4),
                }
            )
    session.unload()
    return rows


def lean_rows(paths: list[Path], n_ctx: int = 4096) -> list[dict]:
    """Compute buffers as llama.cpp allocates them, per model and flash attention setting, with
    logits reserved for every batch token (llama.cpp's default, "before") and for the sampled
    token plus the longest draft (Hearth's `max_outputs`, "after")."""
    import engine.llama_load as llama_load

    rows = []
    current = llama_load.max_outputs
    for path in paths:
        for flash in (False, True):
            sizes = {}
            for label, outputs in (("before", lambda s: s.n_batch), ("after", current)):
                llama_load.max_outputs = outputs  # type: ignore[assignment]
                session = ModelSession()
                try:
                    session.load(LoadSettings(model_path=str(path), n_ctx=n_ctx, flash_attn=flash,
                                              n_gpu_layers=0))  # fmt: skip
                    assert session.allocation is not None
                    sizes[label] = session.allocation.parts()
                finally:
                    session.unload()
                    llama_load.max_outputs = current
            estimate = estimate_memory(read_model_info(path), n_ctx, flash_attn=flash)
            rows.append(
                {
                    "model": path.name,
                    "n_ctx": n_ctx,
                    "flash_attn": flash,
                    "compute_before_mib": _mib1(sizes["before"]["compute"]),
                    "compute_after_mib": _mib1(sizes["after"]["compute"]),
                    "total_before_mib": _mib1(sum(sizes["before"].values())),
                    "total_after_mib": _mib1(sum(sizes["after"].values())),
                    "estimate_after_mib": _mib1(estimate.total),
                    "estimate_ratio": round(estimate.total / sum(sizes["after"].values()), 4),
                }
            )
    return rows


def flash_speed(path: Path, rounds: int, n_ctx: int = 4096) -> dict:
    """Prefill and decode tokens/s with flash attention off and on, interleaved, greedy, on one
    prompt of about 1,000 tokens (the size of a question with five document excerpts)."""
    sessions = {}
    for flash in (False, True):
        sessions[flash] = ModelSession()
        sessions[flash].load(LoadSettings(model_path=str(path), n_ctx=n_ctx, flash_attn=flash,
                                          n_gpu_layers=0))  # fmt: skip
    sampling = SamplingSettings(temperature=0, max_tokens=96, repeat_penalty=1.0,
                                lookup_draft_tokens=0)  # fmt: skip
    excerpt = (
        "The keeper climbs the tower at dusk, trims the wick, winds the clockwork that turns "
        "the lens and writes the wind, the sea and every passing ship into the logbook. "
    )
    question = "Excerpts:\n\n" + excerpt * 30 + "\n\nQuestion: What does the keeper do at dusk?"
    messages = [{"role": "user", "content": question}]
    rates: dict[str, dict[bool, list[float]]] = {"prefill": {False: [], True: []},
                                                 "decode": {False: [], True: []}}  # fmt: skip
    prompt_tokens = 0
    try:
        for index in range(rounds):
            for flash in (False, True) if index % 2 == 0 else (True, False):
                sessions[flash].llama.reset()
                for item in sessions[flash].chat(messages, sampling):
                    if isinstance(item, GenerationStats):
                        rates["prefill"][flash].append(item.prompt_tokens_per_s)
                        rates["decode"][flash].append(item.generation_tokens_per_s)
                        prompt_tokens = item.prompt_tokens
    finally:
        for session in sessions.values():
            session.unload()
    result: dict = {"model": path.name, "prompt_tokens": prompt_tokens}
    for kind, by_flash in rates.items():
        off, on = (statistics.median(by_flash[flash]) for flash in (False, True))
        result[kind] = {
            "tokens_per_s_off": round(off, 2),
            "tokens_per_s_on": round(on, 2),
            "on_over_off": round(on / off, 3),
            "runs_off": [round(r, 1) for r in by_flash[False]],
            "runs_on": [round(r, 1) for r in by_flash[True]],
        }
    return result


def fill_rows(max_fill: int, n_batch: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    path = write_tiny_model(folder / "tiny-llama-128k.gguf")
    session = ModelSession()
    started = time.perf_counter()
    session.load(LoadSettings(model_path=str(path), n_ctx=131072, n_batch=n_batch,
                              flash_attn=True, n_gpu_layers=0))  # fmt: skip
    load_s = time.perf_counter() - started
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    tokens = session.tokenize(words * (max_fill // 40 + 1000))
    steps = [step for step in FILL_STEPS if step <= max_fill]
    tokens = tokens[: steps[-1] - 8]  # room for the one generated token
    rows = []
    total = 0.0
    for step in steps:
        prompt = tokens[: min(step, len(tokens))]
        begun = time.perf_counter()
        stats = None
        for item in session.generate(prompt, SamplingSettings(temperature=0, max_tokens=1)):
            if isinstance(item, GenerationStats):
                stats = item
        elapsed = time.perf_counter() - begun
        total += elapsed
        assert stats is not None
        rows.append(
            {
                "tokens": len(prompt),
                "evaluated": stats.evaluated_tokens,
                "reused": stats.cached_tokens,
                "step_s": round(elapsed, 2),
                "time_to_fill_s": round(total, 2),
                "prefill_tokens_per_s": round(stats.prompt_tokens_per_s, 1),
                "stop_reason": stats.stop_reason,
            }
        )
    allocation = session.allocation
    session.unload()
    return {
        "model": "tiny-llama-128k (2 layers, 1 head of 16, f32, random weights)",
        "n_batch": n_batch,
        "flash_attn": True,
        "load_s": round(load_s, 2),
        "allocated_mib": _mib(allocation.parts()) if allocation else {},
        "steps": rows,
    }


def _mib1(size: int) -> float:
    return round(size / 2**20, 2)


def _mib(parts: dict[str, int]) -> dict[str, float]:
    return {name: _mib1(size) for name, size in parts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-fill", type=int, default=131072)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-fill", action="store_true")
    parser.add_argument(
        "--lean-only",
        action="store_true",
        help="only compute buffers before and after, and flash attention speed",
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result: dict = {}
    result["lean"] = lean_rows([default_model_path(), gemma_model_path()])
    result["flash_speed"] = [
        flash_speed(path, args.rounds) for path in (default_model_path(), gemma_model_path())
    ]
    if args.lean_only:
        print(json.dumps(result, indent=2))
        return 0
    if not args.skip_memory:
        rows = memory_rows(default_model_path(), (2048, 8192))
        rows += memory_rows(gemma_model_path(), (2048, 8192, 32768))
        ratios = [row["ratio"] for row in rows]
        result["memory"] = {
            "rows": rows,
            "worst_ratio": max(ratios, key=lambda r: abs(r - 1)),
            "within_10_percent": all(abs(r - 1) <= 0.10 for r in ratios),
        }
    if not args.skip_fill:
        result["fill"] = fill_rows(args.max_fill, args.batch)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
