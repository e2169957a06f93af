"""`hearth quantize` and `hearth bench`: the benchmark lab from a terminal.

Progress and notices go to stderr, results to stdout; `--json` prints one JSON object. Ctrl+C
stops cleanly: a quantization leaves no file, a benchmark keeps and prints what it measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from app.interrupts import interruptible
from app.paths import app_paths
from engine.display import duration_text
from engine.errors import HearthError

LIST_HELP = "comma-separated"


def register(subparsers: Any) -> None:
    from engine.lab.quantize import QUANT_TYPES

    quantize = subparsers.add_parser(
        "quantize",
        help="make a smaller variant of a model with llama.cpp's quantizer",
        description="Quantize a GGUF model into another type and add it to your models. Best from "
        "F16, BF16 or Q8_0; an already quantized source needs --allow-requantize.",
    )
    quantize.add_argument("source", metavar="SRC", help="the GGUF model to quantize")
    quantize.add_argument("--type", required=True, metavar="TYPE",
                          help=f"one of {', '.join(QUANT_TYPES)}")  # fmt: skip
    quantize.add_argument("--out", metavar="PATH",
                          help="where to write the variant (default: Hearth's models folder)")  # fmt: skip
    quantize.add_argument("--allow-requantize", action="store_true",
                          help="accept a source already quantized below Q8_0")  # fmt: skip
    quantize.add_argument("--threads", default="0", help="quantizer threads (0: physical cores)")
    quantize.add_argument("--json", action="store_true", help="print the result as JSON")
    quantize.set_defaults(func=run_quantize)

    bench = subparsers.add_parser("bench", help="measure models side by side on this machine")
    actions = bench.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="measure speed, memory and quality of models",
        description="Measure each model (and K/V cache setting) in one run, interleaved and "
        "repeated: load time, prompt processing and generation tokens/s, time to first token, "
        "peak memory beside the engine's estimate, perplexity on a text, and KL divergence and "
        "top-1 agreement against the highest-precision model. Results are saved as JSON and CSV.",
    )
    run.add_argument("models", nargs="+", metavar="MODEL", help="GGUF files")
    run.add_argument("--reference", metavar="MODEL",
                     help="judge the others against this one (default: the most precise)")  # fmt: skip
    run.add_argument("--text", metavar="FILE",
                     help="text for perplexity (default: a bundled public-domain sample)")  # fmt: skip
    run.add_argument("--repeats", default="3", help="speed runs per model (3)")
    run.add_argument("--prompt-lengths", default="512,4096,16384", metavar="LIST",
                     help=f"prompt-processing lengths in tokens, {LIST_HELP} (512,4096,16384)")  # fmt: skip
    run.add_argument("--gen-tokens", default="64", metavar="N", help="tokens per generation run")
    run.add_argument("--ttft-prompt", default="512", metavar="N",
                     help="prompt tokens before generation and time to first token (512)")  # fmt: skip
    run.add_argument("--kv-types", default="f16", metavar="LIST",
                     help=f"K/V cache types to compare, {LIST_HELP}: f16, q8_0, q4_0 (f16)")  # fmt: skip
    run.add_argument("--flash-attn", default="on", choices=("off", "on", "both"),
                     help="flash attention (quantized V caches always use it)")  # fmt: skip
    run.add_argument("--chunk-tokens", default="512", metavar="N",
                     help="tokens per perplexity chunk (512, as llama-perplexity)")  # fmt: skip
    run.add_argument("--chunks", default="8", metavar="N", help="perplexity chunks, 0: all (8)")
    run.add_argument("--no-speed", action="store_true", help="skip speed and memory")
    run.add_argument("--no-quality", action="store_true", help="skip perplexity and KL")
    run.add_argument("--questions", metavar="FILE",
                     help="task questions (JSON) to answer from --library")  # fmt: skip
    run.add_argument("--library", metavar="NAME", help="the document library the questions ask")
    run.add_argument("--constraint", action="append", default=[], metavar="TEXT",
                     help="recommend under a limit: 'at least 20 tokens/s', 'under 8 GB'")  # fmt: skip
    run.add_argument("--threads", default="0", help="CPU threads (0: physical cores)")
    run.add_argument("--gpu-layers", default="auto", help="layers on the GPU: a number or 'auto'")
    run.add_argument("--save", metavar="PATH",
                     help="results file (.json, with a .csv beside it); default: Hearth's data")  # fmt: skip
    run.add_argument("--no-save", action="store_true", help="do not save the results")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(func=run_bench_run)

    show = actions.add_parser("show", help="reopen saved results (JSON or CSV)")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--constraint", action="append", default=[], metavar="TEXT")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_bench_show)


# --- quantize --------------------------------------------------------------------------------------


def models_dir() -> Path:
    """Where Hearth puts models it makes (and downloads): its data folder's models/."""
    return app_paths().data_dir / "models"


def run_quantize(args: argparse.Namespace) -> int:
    from engine.catalog import ModelCatalog
    from engine.lab.events import LabNotice, LabProgress
    from engine.lab.quantize import (
        QuantizeRequest,
        QuantizeResult,
        RequantizeRefused,
        check_request,
        default_target,
        quantize,
    )
    from engine.storage import size_text

    quant_type = args.type.upper()
    if args.out:
        target = Path(args.out).expanduser()
    else:
        target = default_target(args.source, quant_type, models_dir())
        target.parent.mkdir(parents=True, exist_ok=True)
    request = QuantizeRequest(
        source=args.source,
        quant_type=quant_type,
        target=str(target),
        allow_requantize=args.allow_requantize,
        n_threads=_count(args.threads, "--threads", minimum=0),
        chosen_target=bool(args.out),
    )
    try:
        check_request(request)
    except RequantizeRefused as exc:
        raise HearthError(exc.message, "Add --allow-requantize to go ahead anyway.") from exc
    printer = ProgressPrinter(sys.stderr, every_step=False)
    result: QuantizeResult | None = None
    with interruptible() as cancel:
        catalog = ModelCatalog(app_paths().models_file)
        for event in quantize(request, cancel, catalog):
            if isinstance(event, LabProgress):
                printer.progress(event)
            elif isinstance(event, LabNotice):
                printer.notice(event)
            else:
                result = event
    printer.done()
    if result is None:
        print("hearth: quantization stopped; nothing was written.", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(
            f"{result.path}: {result.quant_type} from {result.source_type}, "
            f"{size_text(result.file_size)} in {result.seconds:.1f} s (added to your models)"
        )
    return 0


# --- bench run --------------------------------------------------------------------------------


def run_bench_run(args: argparse.Namespace) -> int:
    from engine.lab import (
        BenchPlan,
        BenchResults,
        LabNotice,
        LabProgress,
        QualitySettings,
        parse_constraint,
        prepare,
        run_bench,
    )

    constraints = [parse_constraint(text) for text in args.constraint]
    plan = BenchPlan(
        models=tuple(args.models),
        reference=args.reference,
        configs=_configs(args.kv_types, args.flash_attn),
        speed=not args.no_speed,
        prompt_lengths=tuple(_counts(args.prompt_lengths, "--prompt-lengths")),
        gen_tokens=_count(args.gen_tokens, "--gen-tokens", minimum=2),
        ttft_prompt_tokens=_count(args.ttft_prompt, "--ttft-prompt"),
        repeats=_count(args.repeats, "--repeats"),
        quality=not args.no_quality,
        text_path=args.text,
        quality_settings=QualitySettings(
            _count(args.chunk_tokens, "--chunk-tokens", minimum=16),
            _count(args.chunks, "--chunks", minimum=0),
        ),
        task=_task(args.questions, args.library),
        n_threads=_count(args.threads, "--threads", minimum=0),
        n_gpu_layers=args.gpu_layers,
    )
    save_to = None if args.no_save else Path(args.save).expanduser() if args.save else None
    if save_to is not None:  # said now, not after the whole run
        from engine.storage import check_writable, nearest_existing

        check_writable(nearest_existing(save_to.parent), f"save the results as {save_to.name}",
                       chosen=True)  # fmt: skip
    prepared = prepare(plan)
    printer = ProgressPrinter(sys.stderr)
    results: BenchResults | None = None
    with interruptible() as cancel:
        for event in run_bench(prepared, cancel):
            if isinstance(event, LabProgress):
                printer.progress(event)
            elif isinstance(event, LabNotice):
                printer.notice(event)
            else:
                results = event
    printer.done()
    assert results is not None
    saved: tuple[Path, Path] | None = None
    try:
        if not args.no_save:
            saved = results.save(save_to or _default_save())
    finally:  # a save that fails (a disk filled during the run) still shows what was measured
        _report(results, constraints, args.json, saved)
    return 130 if results.cancelled else 0


def run_bench_show(args: argparse.Namespace) -> int:
    from engine.lab import load_results, parse_constraint

    constraints = [parse_constraint(text) for text in args.constraint]
    _report(load_results(args.file), constraints, args.json, None)
    return 0


def _report(
    results: Any, constraints: list, as_json: bool, saved: tuple[Path, Path] | None
) -> None:
    from engine.lab import incomparable_reason, pareto_front, quality_metric, recommend

    advice = recommend(results.results, constraints)
    front = pareto_front(results.results)
    reason = incomparable_reason(results.results)
    if as_json:
        data = results.to_dict()
        data["recommendation"] = {
            "text": advice.text,
            "choice": advice.choice.model if advice.choice else None,
            "best": advice.best.model if advice.best else None,
            "quality_metric": advice.metric,
            "quality_comparable": not reason,
            "quality_note": reason,
            "constraints": [c.text for c in constraints],
        }
        data["pareto_front"] = [
            {"model": r.model, "label": r.label, "config": data_config(r)} for r in front
        ]
        data["saved"] = [str(path) for path in saved] if saved else []
        print(json.dumps(data, indent=2))
        return
    print_table(results.results, sys.stdout)
    if reason:
        print(f"\n≠ Quality not comparable: {reason}")
    if front:
        metric = quality_metric(front) or ""
        names = ", ".join(r.label for r in front)
        print(f"\nSpeed/quality Pareto front ({metric.replace('_', ' ')}): {names}")
    print(f"\n{advice.text}")
    if results.cancelled:
        print("(stopped early: some figures are missing)")
    if saved:
        print(f"\nSaved {saved[0]} and {saved[1]}")


def data_config(result: Any) -> dict[str, Any]:
    return {"type_k": result.config.type_k, "type_v": result.config.type_v,
            "flash_attn": result.config.flash_attn}  # fmt: skip


def print_table(results: Iterable[Any], stream: TextIO) -> None:
    """The results as an aligned text table: medians with their min-max range; the reference's
    KL divergence and top-1 read "reference", and a model of another vocabulary's quality is
    marked not comparable (≠)."""
    from engine.lab.results import TTFT_FORMAT

    headings = ("model", "type", "backend", "load s", "prompt t/s", "gen t/s", "TTFT s",
                "RAM used", "est. RAM", "PPL", "KL", "top-1")  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for result in results:
        if result.error:
            rows.append((result.label, result.file_type, f"failed: {result.error}"))
            continue
        # The reference's own KL and top-1 are no score; another vocabulary's do not compare.
        standing = result.quality_standing
        against = standing in ("reference", "not comparable")
        rows.append(
            (
                result.label,
                result.file_type,
                result.backend,
                _spread(result.load_s, "{:.2f}"),
                _spread(result.prompt_speed, "{:.0f}"),
                _spread(result.gen_tokens_per_s, "{:.1f}"),
                _spread(result.ttft_s, TTFT_FORMAT),
                _size(result.ram_used.median if result.ram_used else None),
                _size(result.estimated_ram_bytes),
                _value(result.perplexity, "{:.3f}")
                + (" ≠" if standing == "not comparable" else ""),
                standing if against else _value(result.kl_divergence, "{:.4f}"),
                standing if against else _value(result.top1_agreement, "{:.1%}"),
            )
        )
    widths = [
        max(len(str(r[i])) for r in [headings, *rows] if i < len(r)) for i in range(len(headings))
    ]
    for row in [headings, *rows]:
        print(
            "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip(),
            file=stream,
        )


def _spread(spread: Any, fmt: str) -> str:
    if spread is None:
        return "-"
    text = fmt.format(spread.median)
    if spread.high > spread.low:
        text += f" ({fmt.format(spread.low)}-{fmt.format(spread.high)})"
    return text


def _value(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _size(size: float | None) -> str:
    from engine.storage import size_text

    return "-" if size is None else size_text(size)


def _default_save() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return app_paths().data_dir / "benchmarks" / f"bench-{stamp}.json"


# --- arguments -------------------------------------------------------------------------------


def _count(text: str, option: str, minimum: int = 1) -> int:
    """`text` as a whole number of at least `minimum`; the refusal says both, in one line."""
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise HearthError(f"{option} must be a whole number of {minimum} or more, not '{text}'.")
    return value


def _counts(text: str, option: str) -> list[int]:
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not parts:
        raise HearthError(f"{option} needs at least one number.")
    counts = []
    for part in parts:
        number = part[:-1] if part.endswith("k") else part
        if not number.isdigit() or int(number) < 1:  # said as written: "-5", not "-5"[:-1]
            raise HearthError(f"{option} takes positive whole numbers of tokens, not '{part}'.")
        counts.append(int(number) * (1024 if part.endswith("k") else 1))
    return counts


def _configs(kv_types: str, flash_attn: str) -> tuple[Any, ...]:
    from engine.lab import RunConfig
    from engine.session import KV_CACHE_TYPES

    types = [part.strip().lower() for part in kv_types.split(",") if part.strip()]
    for name in types:
        if name not in KV_CACHE_TYPES:
            raise HearthError(
                f"Unknown K/V cache type '{name}'.", f"Choose from {', '.join(KV_CACHE_TYPES)}."
            )
    if not types:
        raise HearthError("--kv-types needs at least one type.")
    flash = {"off": (False,), "on": (True,), "both": (False, True)}[flash_attn]
    configs = []
    for name in types:
        for on in flash:
            # A quantized V cache needs flash attention: "off" cannot apply to it.
            config = RunConfig(name, name, on or name != "f16")
            if config not in configs:
                configs.append(config)
    return tuple(configs)


def _task(questions: str | None, library: str | None) -> tuple[Any, ...]:
    if not questions:
        if library:
            raise HearthError("--library is used with --questions.")
        return ()
    from engine.lab import load_questions, prepare_task
    from engine.library import DEFAULT_LIBRARY, Library

    items = load_questions(questions)
    with Library.open(app_paths().libraries_dir, library or DEFAULT_LIBRARY, create=False) as lib:
        return prepare_task(items, lambda question: lib.search(question, k=5))


# --- terminal ------------------------------------------------------------------------------------


class ProgressPrinter:
    """Lab progress on a terminal: a live line on a tty; otherwise one line per step, or per
    tenth of the job when its steps are many and short (the tensors of a quantization)."""

    def __init__(self, stream: TextIO, every_step: bool = True) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.every_step = every_step
        self._last_draw = 0.0
        self._last_label = ""
        self._last_tenth = -1

    def progress(self, event: Any) -> None:
        eta = f"{duration_text(event.eta_s)} left" if event.eta_s is not None else ""
        if self.live:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and event.fraction < 1.0:
                return
            self._last_draw = now
            bar = "#" * int(event.fraction * 20)
            line = f"[{bar:<20}] {event.fraction:4.0%}{', ' + eta if eta else ''}  {event.label}"
            self.stream.write("\r\033[K" + line[:160])
            self.stream.flush()
            return
        tenth = int(event.fraction * 10)
        if self.every_step and event.label != self._last_label:
            print(f"[{event.step}/{event.total_steps}] {event.label}"
                  f"{f' ({eta})' if eta else ''}", file=self.stream)  # fmt: skip
        elif not self.every_step and tenth > self._last_tenth:
            print(f"{event.fraction:4.0%} {event.label}{f' ({eta})' if eta else ''}",
                  file=self.stream)  # fmt: skip
        self._last_label = event.label
        self._last_tenth = max(self._last_tenth, tenth)

    def notice(self, event: Any) -> None:
        self.done()
        print(f"[{event.level}: {event.message}]", file=self.stream)

    def done(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()
