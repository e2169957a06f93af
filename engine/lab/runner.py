"""Run a benchmark plan: every model and setting on this machine, interleaved and repeated.

`run_bench` is a plain generator for the thread that owns the model (a window's model thread, a
terminal's main thread): it yields `LabProgress` and `LabNotice` records as it goes and ends with
one `BenchResults`, also when stopped (then `cancelled` is set and the rows hold what was measured).

Each repeat visits every (model, setting) row in turn, rotated so that no row always runs first;
a visit loads the model (timed), measures prompt processing and generation, and on the first
repeat also quality and the task score, then unloads it. The reference row goes first, so that
its token distributions are ready when the others are judged against it.
"""

from __future__ import annotations

import logging
import platform
import time
from collections import defaultdict
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from engine.cancel import CancelToken
from engine.context.fit import window_choices
from engine.errors import HearthError
from engine.lab.evaluate import TokenEvaluator
from engine.lab.events import LabCancelled, LabNotice, LabProgress, ProgressClock
from engine.lab.peak import PeakMemory
from engine.lab.plan import BenchPlan, PlannedModel, PlannedStep, PreparedPlan, RunConfig, prepare
from engine.lab.quality import QualityResult, ReferenceDistribution, measure_quality
from engine.lab.results import BenchResults, ModelResult, Spread
from engine.lab.speed import filler_tokens, generation, prompt_tokens_per_s
from engine.lab.task import TaskScore, score_task
from engine.memory import probe_gpus
from engine.memory.allocation import AllocationReport
from engine.memory.estimate import estimate_memory
from engine.session import LoadReport, LoadSettings, ModelSession

log = logging.getLogger(__name__)

LabEvent = LabProgress | LabNotice
T = TypeVar("T")


@dataclass
class _Row:
    """What has been measured for one (model, setting) so far."""

    load_s: list[float] = field(default_factory=list)
    prompt: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    gen: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    peak_ram: list[float] = field(default_factory=list)
    model_ram: list[float] = field(default_factory=list)
    peak_vram: list[float] = field(default_factory=list)
    report: LoadReport | None = None
    allocation: AllocationReport | None = None
    backend: str = ""
    quality: QualityResult | None = None
    task: TaskScore | None = None
    notes: list[str] = field(default_factory=list)
    error: str = ""


def run_bench(
    plan: BenchPlan | PreparedPlan, cancel: CancelToken | None = None
) -> Iterator[LabEvent | BenchResults]:
    """Measure `plan`; yields progress and notices, then one `BenchResults`.

    A model that fails to load or run gets its error in its row and the run goes on.

    Raises:
        HearthError, ModelFileError: the plan cannot start (see `plan.prepare`).
    """
    prepared = plan if isinstance(plan, PreparedPlan) else prepare(plan)
    return _Run(prepared, cancel or CancelToken()).events()


class _Run:
    def __init__(self, prepared: PreparedPlan, cancel: CancelToken) -> None:
        self.prepared = prepared
        self.plan = prepared.plan
        self.cancel = cancel
        self.rows: dict[tuple[str, RunConfig], _Row] = {
            (model.path, config): _Row() for model, config in prepared.rows()
        }
        self.clock = ProgressClock(sum(s.cost for s in prepared.steps), len(prepared.steps))
        self.reference: ReferenceDistribution | None = None
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def events(self) -> Iterator[LabEvent | BenchResults]:
        started = time.monotonic()
        for note in self.prepared.notes:
            yield LabNotice(note, "warning")
        cancelled = False
        try:
            for visit in _visits(self.prepared.steps):
                yield from self._visit(visit)
        except LabCancelled:
            cancelled = True
        if not cancelled:
            self.clock.advance(self.clock.total_weight)
            yield self.clock.progress("done")
        yield self._results(time.monotonic() - started, cancelled)

    # -- one load of one model with one setting -------------------------------------------------

    def _visit(self, steps: list[PlannedStep]) -> Generator[LabEvent, None, None]:
        first = steps[0]
        model = self.prepared.model(first.model)
        row = self.rows[(first.model, first.config)]
        if row.error:  # it failed before: do not try again in every repeat
            self._skip(steps)
            return
        session = ModelSession()
        try:
            yield from self._measure(session, model, first.config, steps, row)
        except (HearthError, RuntimeError, MemoryError) as exc:
            row.error = exc.message if isinstance(exc, HearthError) else str(exc)
            log.warning("Benchmark of %s failed: %s", model.path, row.error)
            yield LabNotice(f"{Path(model.path).name}: {row.error}", "warning", model.path)
            self._skip(steps[self._done_in_visit :])
        finally:
            session.unload()

    def _measure(
        self,
        session: ModelSession,
        model: PlannedModel,
        config: RunConfig,
        steps: list[PlannedStep],
        row: _Row,
    ) -> Generator[LabEvent, None, None]:
        self._done_in_visit = 0
        settings = LoadSettings(
            model_path=model.path,
            n_ctx=model.n_ctx,
            n_threads=self.plan.n_threads,
            n_gpu_layers=self.plan.n_gpu_layers,
            flash_attn=config.flash_attn,
            type_k=config.type_k,
            type_v=config.type_v,
            all_logits=True,  # perplexity and KL divergence read every position's logits
        )
        speed_steps = [s for s in steps if s.kind in ("load", "prompt", "generate")]
        with PeakMemory() as peak:
            yield self._start(speed_steps[0])
            report = session.load(settings)
            row.load_s.append(report.load_seconds)
            self._remember_load(row, session, report)
            self._finish(speed_steps[0])
            with TokenEvaluator(session.llama, self.cancel) as evaluator:
                source = evaluator.tokenize(self.prepared.text)
                for step in speed_steps[1:]:
                    yield self._start(step)
                    if step.kind == "prompt":
                        tokens = filler_tokens(source, step.prompt_length)
                        speed = prompt_tokens_per_s(evaluator, tokens)
                        row.prompt[step.prompt_length].append(speed)
                    else:
                        # A window shorter than prompt plus reply gets a shorter prompt.
                        length = min(self.plan.ttft_prompt_tokens,
                                     evaluator.n_ctx - self.plan.gen_tokens)  # fmt: skip
                        prompt = filler_tokens(source, max(1, length))
                        timing = generation(evaluator, prompt, self.plan.gen_tokens)
                        row.ttft.append(timing.ttft_s)
                        row.gen.append(timing.tokens_per_s)
                    self._finish(step)
        row.peak_ram.append(peak.peak_rss)
        row.model_ram.append(peak.added_rss)
        if peak.peak_vram is not None:
            row.peak_vram.append(peak.peak_vram)
        for step in steps[len(speed_steps) :]:
            yield self._start(step)
            try:
                if step.kind == "quality":
                    row.quality = yield from self._quality(session, model, config, step)
                else:
                    row.task = yield from self._relay(
                        score_task(session, self.plan.task, self.cancel), step
                    )
            except HearthError as exc:
                # The text or the questions do not suit this model: its speed still counts.
                what = "quality" if step.kind == "quality" else "task score"
                row.notes.append(f"{what} not measured: {exc}")
                yield LabNotice(f"{Path(model.path).name}: {what} not measured: {exc}",
                                "warning", model.path)  # fmt: skip
            self._finish(step)

    def _quality(
        self, session: ModelSession, model: PlannedModel, config: RunConfig, step: PlannedStep
    ) -> Generator[LabEvent, None, QualityResult]:
        is_reference = model.is_reference and config == self.plan.configs[0]
        # A model of another vocabulary is not judged against the reference (see `vocab`).
        judged = not is_reference and model.same_vocabulary is not False
        reference = self.reference if judged else None
        # Keep the reference's distributions only when another row will be judged against them.
        keep = is_reference and any(
            (path, other) != (model.path, config)
            and self.prepared.model(path).same_vocabulary is not False
            for path, other in self.rows
        )
        with TokenEvaluator(session.llama, self.cancel) as evaluator:
            result, kept = yield from self._relay(
                measure_quality(evaluator, self.prepared.text, self.plan.quality_settings,
                                reference, keep_reference=keep, cancel=self.cancel),
                step,
            )  # fmt: skip
        if is_reference:
            self.reference = kept
            # The reference judged against itself: exactly 0 and 1 (see `quality`).
            return QualityResult(**{**result.to_dict(), "kl_divergence": 0.0,
                                    "kl_divergence_p99": 0.0, "kl_divergence_max": 0.0,
                                    "top1_agreement": 1.0})  # fmt: skip
        if self.reference is not None and result.kl_divergence is None:
            self.rows[(model.path, config)].notes.append(
                "no KL divergence: it reads the text as different tokens than the reference"
            )
        return result

    def _remember_load(self, row: _Row, session: ModelSession, report: LoadReport) -> None:
        if row.report is None:
            row.report = report
            row.allocation = session.allocation
            row.backend = backend_label(report, session.allocation)
            row.notes.extend(report.notes)

    # -- progress ----------------------------------------------------------------------------

    def _start(self, step: PlannedStep) -> LabProgress:
        if self.cancel.cancelled:
            raise LabCancelled
        self.clock.step += 1
        return self.clock.progress(step.label, step.model)

    def _finish(self, step: PlannedStep) -> None:
        self.clock.advance(step.cost)
        self._done_in_visit += 1

    def _skip(self, steps: list[PlannedStep]) -> None:
        for step in steps:
            self.clock.step += 1
            self.clock.advance(step.cost)

    def _relay(
        self, inner: Generator[float, None, T], step: PlannedStep
    ) -> Generator[LabEvent, None, T]:
        """Pass on an inner measurement's fractions as progress; return its result."""
        while True:
            try:
                fraction = next(inner)
            except StopIteration as stop:
                return stop.value
            yield self.clock.progress(step.label, step.model, partial=step.cost * fraction)

    # -- results ------------------------------------------------------------------------------

    def _results(self, seconds: float, cancelled: bool) -> BenchResults:
        results = []
        for (path, config), row in self.rows.items():
            results.append(self._result(self.prepared.model(path), config, row))
        for model in self.prepared.models:
            if not model.configs:
                results.append(
                    _describe(model, self.plan.configs[0], _Row(error="; ".join(model.notes)))
                )
        return BenchResults(
            results=tuple(results),
            machine=machine_info(),
            settings=plan_settings(self.prepared),
            text=self.prepared.text_name if self.plan.quality else "",
            reference=self.prepared.reference or "",
            started_at=self.started_at,
            seconds=round(seconds, 2),
            cancelled=cancelled,
            notes=self.prepared.notes,
        )

    def _result(self, model: PlannedModel, config: RunConfig, row: _Row) -> ModelResult:
        result = _describe(model, config, row)
        quality, task = row.quality, row.task
        if quality is not None:
            result = replace(
                result,
                perplexity=quality.perplexity,
                perplexity_error=quality.perplexity_error,
                kl_divergence=quality.kl_divergence,
                kl_divergence_p99=quality.kl_divergence_p99,
                top1_agreement=quality.top1_agreement,
                quality_tokens=quality.scored_tokens,
                reference_model=self.prepared.reference or "",
            )
        if self.prepared.reference:
            result = replace(
                result,
                same_vocabulary=model.same_vocabulary,
                quality_note=model.quality_note,
            )
        if task is not None:
            result = replace(result, task_score=task.share, task_questions=task.total)
        return result


def _describe(model: PlannedModel, config: RunConfig, row: _Row) -> ModelResult:
    """The row's identity, speed and memory figures (quality is added by the run)."""
    info = model.info
    report = row.report
    estimate = None
    if report is not None:
        estimate = estimate_memory(info, report.n_ctx, config.type_k, config.type_v,
                                   report.flash_attn, report.n_gpu_layers,
                                   n_outputs=report.n_batch)  # fmt: skip
    by_context = {}
    for window in window_choices(info):
        total = estimate_memory(info, window, config.type_k, config.type_v, config.flash_attn,
                                report.n_gpu_layers if report else 0,
                                n_outputs=report.n_batch if report else 512).total  # fmt: skip
        by_context[window] = total
    return ModelResult(
        model=model.path,
        name=Path(model.path).name,
        file_type=info.file_type,
        file_size=info.file_size,
        parameter_count=info.parameter_count,
        config=config,
        backend=row.backend,
        n_gpu_layers=report.n_gpu_layers if report else 0,
        n_threads=report.n_threads if report else 0,
        n_ctx=report.n_ctx if report else model.n_ctx,
        is_reference=model.is_reference,
        vocabulary_size=model.vocabulary.size if model.vocabulary else 0,
        load_s=Spread.of(row.load_s),
        prompt_tokens_per_s={n: s for n, v in row.prompt.items() if (s := Spread.of(v))},
        gen_tokens_per_s=Spread.of(row.gen),
        ttft_s=Spread.of(row.ttft),
        peak_ram_bytes=Spread.of(row.peak_ram),
        model_ram_bytes=Spread.of(row.model_ram),
        peak_vram_bytes=Spread.of(row.peak_vram),
        estimated_ram_bytes=estimate.ram if estimate else None,
        estimated_vram_bytes=estimate.vram if estimate else None,
        allocated_ram_bytes=row.allocation.ram if row.allocation else None,
        allocated_vram_bytes=row.allocation.vram if row.allocation else None,
        memory_by_context=by_context,
        notes=tuple(dict.fromkeys([*model.notes, *row.notes])),
        error=row.error,
    )


def _visits(steps: tuple[PlannedStep, ...]) -> Iterator[list[PlannedStep]]:
    """Group consecutive steps on the same model, setting and repeat: one load each."""
    group: list[PlannedStep] = []
    for step in steps:
        if group and (step.model, step.config, step.repeat) != (
            group[0].model, group[0].config, group[0].repeat):  # fmt: skip
            yield group
            group = []
        group.append(step)
    if group:
        yield group


def backend_label(report: LoadReport, allocation: AllocationReport | None) -> str:
    """Where a load runs, in words: "CPU (8 threads)" or "CUDA: NVIDIA H200, all 19 layers"."""
    devices = sorted({b.device for b in allocation.buffers if b.on_gpu}) if allocation else []
    if report.n_gpu_layers <= 0 or not devices:
        return f"CPU ({report.n_threads} thread{'' if report.n_threads == 1 else 's'})"
    kind = devices[0].rstrip("0123456789") or devices[0]
    layers = report.model.block_count + 1
    offloaded = min(report.n_gpu_layers, layers)
    share = f"all {layers} layers" if offloaded >= layers else f"{offloaded} of {layers} layers"
    names = ", ".join(gpu.name for gpu in probe_gpus())
    return f"{kind}: {names + ', ' if names else ''}{share}"


def machine_info() -> dict[str, Any]:
    """The machine a run was measured on: system, CPU, memory, GPUs and llama.cpp build."""
    import psutil

    from engine.backends import detect_backend

    backend = detect_backend()
    return {
        "system": platform.platform(),
        "cpu": _cpu_name(),
        "physical_cores": backend.physical_cores,
        "logical_cores": backend.logical_cores,
        "ram_bytes": psutil.virtual_memory().total,
        "gpus": [asdict(gpu) for gpu in probe_gpus()],
        "gpu_offload": backend.gpu_offload,
        "llama_cpp_version": backend.llama_cpp_version,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def plan_settings(prepared: PreparedPlan) -> dict[str, Any]:
    """The plan as saved with the results (the task as its question count)."""
    plan = prepared.plan
    return {
        "models": list(plan.models),
        "reference": prepared.reference,
        "configs": [asdict(config) for config in plan.configs],
        "speed": plan.speed,
        "prompt_lengths": list(plan.prompt_lengths),
        "gen_tokens": plan.gen_tokens,
        "ttft_prompt_tokens": plan.ttft_prompt_tokens,
        "repeats": plan.repeats,
        "quality": plan.quality,
        "text": prepared.text_name,
        "quality_n_ctx": plan.quality_settings.n_ctx,
        "quality_max_chunks": plan.quality_settings.max_chunks,
        "task_questions": len(plan.task),
        "n_threads": plan.n_threads,
        "n_gpu_layers": plan.n_gpu_layers,
    }
