"""Benchmark of a question about documents; prints one JSON object.

Measures, on one library (the field guide the tests use, or `--pdf FILE`):
  - cold starts: wall seconds of a fresh `hearth search` process, and of a fresh `hearth ask`
    process to its first answer byte and to its end (bundled model, `--max-tokens 16`), with
    the system prompt's KV cache saved by the run before and without it;
  - the parts of a document answer's time to first token in one process, the model loaded:
    retrieval, prompt build and prefill (TTFT), against the TTFT of the same question asked
    without documents, both with a fresh KV cache and with the previous question's prefix
    cached, as the window has it (`doc_ttft_ratio` = doc TTFT / (plain TTFT + retrieval));
  - the TTFT of a follow-up document question in a chat, the first question kept in the history
    as the model read it (with its excerpts) against as typed (`follow_up`).
Runs alternate (search, ask; doc, plain) so machine noise hits both alike; medians with min-max.

Usage: .venv/bin/python bench/ask.py [--pdf FILE] [--runs 5] [--questions 6]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.engine.library.corpus import (  # noqa: E402
    QUESTIONS,
    REAL_PDF_QUESTIONS,
    write_guide_pdf,
)

LIBRARY = "bench"


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": len(values),
    }


def libraries_dir(home: Path) -> Path:
    from app.paths import app_paths

    os.environ["HEARTH_HOME"] = str(home)  # where the `hearth` processes look too
    return app_paths().libraries_dir


def build_library(home: Path, pdf: Path) -> None:
    from engine.library import Library

    with Library.open(libraries_dir(home), LIBRARY, create=True) as library:
        report = library.index([pdf])
    if report.indexed != 1:
        raise SystemExit(f"indexing {pdf} failed: {report.to_dict()}")


def time_process(args: list[str], env: dict) -> tuple[float, float]:
    """(seconds to the first byte on stdout, seconds to exit) of `hearth ARGS`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    first = process.stdout.read(1)
    first_byte = time.perf_counter() - started
    process.stdout.read()
    if process.wait() != 0 or not first:
        raise SystemExit(f"hearth {' '.join(args)} failed (exit {process.returncode})")
    return first_byte, time.perf_counter() - started


def bench_cold_starts(home: Path, questions: list[str], runs: int) -> dict:
    """Cold processes, with the system prompt's saved KV cache and without it (its folder
    removed before the run), alternating. `ask` samples as a person's would (no seed: a seeded
    sampled reply reuses no cache, see engine/session.py)."""
    from app.paths import app_paths

    env = {**os.environ, "HEARTH_HOME": str(home)}
    prompt_cache = app_paths().prompt_cache_dir
    search, ask_first, ask_total, bare_first, bare_total = [], [], [], [], []
    for run in range(runs):
        question = questions[run % len(questions)]
        search.append(time_process(["search", question, "--library", LIBRARY], env)[1])
        ask = ["ask", question, "--library", LIBRARY, "--max-tokens", "16"]
        shutil.rmtree(prompt_cache, ignore_errors=True)
        first, total = time_process(ask, env)  # evaluates the system prompt and saves it
        bare_first.append(first)
        bare_total.append(total)
        first, total = time_process(ask, env)  # restores it
        ask_first.append(first)
        ask_total.append(total)
    return {
        "search_wall_s": spread(search),
        "ask_first_byte_s": spread(ask_first),
        "ask_wall_s": spread(ask_total),
        "ask_without_prompt_cache_first_byte_s": spread(bare_first),
        "ask_without_prompt_cache_wall_s": spread(bare_total),
    }


def first_token_stats(session, messages, sampling):
    for item in session.chat(messages, sampling):
        if not isinstance(item, str):
            return item
    raise RuntimeError("no stats")


def bench_ttft_parts(home: Path, questions: list[str], runs: int) -> dict:
    from engine.bundled import default_model_path
    from engine.library import Library
    from engine.library.answer import plan_answer
    from engine.model_probe import ModelGuard
    from engine.session import LoadSettings, ModelSession, SamplingSettings

    session = ModelSession(ModelGuard(home / "checked-models.json"))
    session.load(LoadSettings(model_path=str(default_model_path())))
    one_token = SamplingSettings(max_tokens=1, temperature=0.0)  # no seed: a seed turns off reuse
    parts: dict[str, list[float]] = {
        "retrieval_s": [],
        "prompt_build_s": [],
        "doc_prompt_tokens": [],
        "doc_ttft_cold_s": [],
        "plain_ttft_cold_s": [],
        "whole_excerpts_prompt_tokens": [],
        "whole_excerpts_ttft_cold_s": [],
        "doc_ttft_warm_s": [],
        "doc_ttft_warm_evaluated_tokens": [],
        "plain_ttft_warm_s": [],
    }
    try:
        with Library.open(libraries_dir(home), LIBRARY) as library:
            library.search(questions[0], k=5)  # first search opens the stores
            for run in range(runs):
                question = questions[run % len(questions)]
                started = time.perf_counter()
                hits = library.search(question, k=5)
                parts["retrieval_s"].append(time.perf_counter() - started)
                started = time.perf_counter()
                plan = plan_answer(question, hits)
                parts["prompt_build_s"].append(time.perf_counter() - started)
                if not plan.found:
                    continue
                plain = [{"role": "user", "content": question}]
                # Cold: nothing of this prompt in the KV cache.
                session.llama.reset()
                doc = first_token_stats(session, plan.messages, one_token)
                session.llama.reset()
                bare = first_token_stats(session, plain, one_token)
                # The same sources read whole, as before excerpts were focused.
                session.llama.reset()
                whole_plan = plan_answer(question, hits, excerpt_chars=None)
                whole = first_token_stats(session, whole_plan.messages, one_token)
                parts["doc_prompt_tokens"].append(doc.prompt_tokens)
                parts["doc_ttft_cold_s"].append(doc.ttft_s)
                parts["plain_ttft_cold_s"].append(bare.ttft_s)
                parts["whole_excerpts_prompt_tokens"].append(whole.prompt_tokens)
                parts["whole_excerpts_ttft_cold_s"].append(whole.ttft_s)
                # Warm: the previous question of the same kind left its prefix in the cache.
                other = questions[(run + 1) % len(questions)]
                other_plan = plan_answer(other, library.search(other, k=5))
                if other_plan.found:
                    first_token_stats(session, other_plan.messages, one_token)
                    doc = first_token_stats(session, plan.messages, one_token)
                    parts["doc_ttft_warm_s"].append(doc.ttft_s)
                    parts["doc_ttft_warm_evaluated_tokens"].append(doc.evaluated_tokens)
                first_token_stats(session, [{"role": "user", "content": other}], one_token)
                parts["plain_ttft_warm_s"].append(
                    first_token_stats(session, plain, one_token).ttft_s
                )
        follow_up = bench_follow_ups(home, session, questions, runs)
    finally:
        session.unload()
    result = {name: spread(values) for name, values in parts.items() if values}
    result["follow_up"] = follow_up
    retrieval = statistics.median(parts["retrieval_s"])
    for kind in ("cold", "warm"):
        doc = parts[f"doc_ttft_{kind}_s"]
        plain = parts[f"plain_ttft_{kind}_s"]
        if doc and plain:
            ratio = statistics.median(doc) / (statistics.median(plain) + retrieval)
            result[f"doc_ttft_ratio_{kind}"] = round(ratio, 3)
    return result


def bench_follow_ups(home: Path, session, questions: list[str], runs: int) -> dict:
    """TTFT of the second document question of a chat, as the window asks it, with the first
    question in the history as the model read it (its excerpts kept: the KV cache holds it)
    against the question as typed (what Hearth sent before: evaluated again)."""
    from engine.chat.answer import Question, answer
    from engine.chat.engine import LocalEngine
    from engine.chat.events import QuestionRead, ReplyEnded, TextArrived
    from engine.library import Library
    from engine.library.answer import plan_answer
    from engine.session import SamplingSettings

    engine = LocalEngine(session)
    # The first reply as long as the window lets it be (greedy); the follow-up only to its TTFT.
    full = SamplingSettings(temperature=0.0)
    one_token = SamplingSettings(temperature=0.0, max_tokens=1)
    stats: dict[str, dict[str, list[float]]] = {
        kind: {"ttft_s": [], "evaluated_tokens": []} for kind in ("as_read", "as_typed")
    }
    reply_tokens: list[float] = []
    with Library.open(libraries_dir(home), LIBRARY) as library:

        def retrieve(_name, text, k, _cancel):
            return plan_answer(text, library.search(text, k=k)).sources

        def turn(text: str, history: tuple, conversation: int, sampling: SamplingSettings):
            question = Question(text, "You are a helpful assistant.", history, sampling=sampling,
                                library=LIBRARY, conversation=conversation)  # fmt: skip
            events = list(answer(engine, question, retrieve))
            read = next((e.text for e in events if isinstance(e, QuestionRead)), text)
            reply = "".join(e.text for e in events if isinstance(e, TextArrived))
            end = events[-1]
            assert isinstance(end, ReplyEnded)
            return read, reply, end.stats

        for run in range(runs):
            first, second = questions[run % len(questions)], questions[(run + 1) % len(questions)]
            for kind in ("as_read", "as_typed"):  # alternating, so noise hits both alike
                session.llama.reset()
                read, reply, ended = turn(first, (), run, full)
                reply_tokens.append(ended.generated_tokens)
                asked = read if kind == "as_read" else first
                history = ({"role": "user", "content": asked},
                           {"role": "assistant", "content": reply})  # fmt: skip
                _, _, after = turn(second, history, run, one_token)
                stats[kind]["ttft_s"].append(after.ttft_s)
                stats[kind]["evaluated_tokens"].append(after.evaluated_tokens)
    result: dict = {
        kind: {name: spread(values) for name, values in parts.items()}
        for kind, parts in stats.items()
    }
    result["first_reply_tokens"] = spread(reply_tokens)
    result["ttft_ratio_as_typed_to_as_read"] = round(
        statistics.median(stats["as_typed"]["ttft_s"])
        / statistics.median(stats["as_read"]["ttft_s"]),
        2,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, help="index this PDF (default: the field guide)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--only", choices=["cold", "ttft"])
    args = parser.parse_args()
    # An installed Hearth has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE
    # would compile Hearth's modules in every cold start and time that instead.
    for folder in ("app", "engine"):
        compileall.compile_dir(ROOT / folder, quiet=2)
    with tempfile.TemporaryDirectory(prefix="hearth-bench-ask-") as folder:
        home = Path(folder)
        pdf = args.pdf.resolve() if args.pdf else write_guide_pdf(home / "field-guide.pdf")
        questions = [q for q, _ in (REAL_PDF_QUESTIONS if args.pdf else QUESTIONS)]
        questions = questions[: args.questions]
        print("indexing", pdf, file=sys.stderr)
        build_library(home, pdf)
        result: dict = {"pdf": str(pdf), "questions": len(questions)}
        if args.only in (None, "cold"):
            print("cold starts", file=sys.stderr)
            result["cold"] = bench_cold_starts(home, questions, args.runs)
        if args.only in (None, "ttft"):
            print("TTFT parts", file=sys.stderr)
            result["ttft"] = bench_ttft_parts(home, questions, args.runs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
