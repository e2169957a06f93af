"""The Benchmark window's controller: lists the models, makes variants, runs benchmarks, and saves,
reopens and recommends from results.

How the lab and the chat share llama.cpp: a benchmark runs on the model thread, as one job of its
queue (`ModelClient.run_aside`). The chat model is set aside for the run (unloaded, so the run has
the machine's memory and its figures match `hearth bench run`) and loaded again with the same
settings as soon as the run ends, stopped or failed, before anything queued behind it. A question
sent meanwhile waits in the queue and is then answered; the main window says so and offers Stop.
Quantizing needs no model thread (llama.cpp's quantizer runs in a child process), so it runs on
the lab's own thread while the chat goes on.
"""

from __future__ import annotations

import logging
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.background import run_in_background
from app.jobs import Job, Task
from app.model_worker import ModelClient
from app.paths import AppPaths
from app.settings import Settings
from app.worker import SerialWorker
from engine.errors import HearthError, describe
from ui.bench.records import (
    RESULTS,
    SETUP,
    BenchRequest,
    BenchView,
    VariantCheck,
    VariantRequest,
)
from ui.main_window import MainWindow
from ui.model_picker import ModelRow

if TYPE_CHECKING:
    from engine.lab import BenchPlan, BenchResults, QuantizeResult
    from ui.bench.window import BenchWindow

log = logging.getLogger(__name__)


def catalog_rows(models_file: Path) -> list[ModelRow]:
    """The catalog's models as rows (reads GGUF headers: call off the GUI thread)."""
    from collections import Counter

    from engine.catalog import ModelCatalog, origin_words

    rows = []
    entries = ModelCatalog(models_file).entries()
    # Two files of one name (the bundled model and a downloaded copy) are told apart as the
    # model picker tells them apart.
    stems = Counter(entry.path.stem for entry in entries)
    for entry in entries:
        info = entry.info
        rows.append(ModelRow(
            str(entry.path), name=info.name if info else "", bundled=entry.bundled,
            problem=entry.problem, parameters=info.parameter_count if info else 0,
            file_type=info.file_type if info else "", file_size=info.file_size if info else 0,
            origin=origin_words(entry, stems[entry.path.stem] > 1),
        ))  # fmt: skip
    return rows


def check_variants(source: str, types: tuple[str, ...], folder: Path) -> VariantCheck:
    """Disk space and warnings for making `types` of `source` in `folder` (reads the file)."""
    from engine.gguf_info import read_model_info
    from engine.lab.quantize import estimate_output_bytes

    info = read_model_info(source)
    folder.mkdir(parents=True, exist_ok=True)
    needed = sum(estimate_output_bytes(source, t) for t in types if t != info.file_type)
    warnings = []
    if info.file_type in types:
        warnings.append(f"{Path(source).stem} is already {info.file_type}; that type is skipped.")
    return VariantCheck(source, info.file_type, needed, shutil.disk_usage(folder).free,
                        str(folder), tuple(warnings))  # fmt: skip


def variants_outcome(made: list[QuantizeResult], stopped: bool) -> str:
    """What making variants came to, in one line: "Made X (Q8_0, 144.8 MB); ticked for the
    benchmark." or "Stopped: nothing made, nothing partial left."."""
    from engine.storage import size_text

    names = ", ".join(f"{Path(m.path).stem} ({m.quant_type}, {size_text(m.file_size)})"
                      for m in made)  # fmt: skip
    if stopped:
        return (f"Stopped: made {names}; nothing partial left." if made
                else "Stopped: nothing made, nothing partial left.")  # fmt: skip
    if not made:
        return "Nothing made: the model is already of the types ticked."
    return f"Made {names}; ticked for the benchmark."


def split_constraints(text: str) -> list[str]:
    """ "at least 20 tokens/s, under 8 GB" -> two constraints (a decimal comma stays)."""
    parts = re.split(r";|,(?!\d)|\band\b", text)
    return [part.strip() for part in parts if part.strip()]


def make_view(results: BenchResults, constraint: str = "", source: str = "") -> BenchView:
    """The window's view of `results`: Pareto front, recommendation under `constraint`.

    A constraint Hearth cannot read is said in the recommendation's place.
    """
    from engine.lab import (
        incomparable_reason,
        pareto_front,
        parse_constraint,
        quality_metric,
        recommend,
    )

    rows = list(results.results)
    try:
        constraints = [parse_constraint(part) for part in split_constraints(constraint)]
    except HearthError as exc:
        advice, choice = str(exc), None
    else:
        recommendation = recommend(rows, constraints)
        advice = recommendation.text
        choice = rows.index(recommendation.choice) if recommendation.choice in rows else None
    usable = [r for r in rows if not r.error and r.gen_tokens_per_s is not None]
    front = pareto_front(rows)
    return BenchView(
        results=results,
        front=tuple(i for i, r in enumerate(rows) if r in front),
        metric=quality_metric(usable),
        advice=advice,
        choice=choice,
        source=source,
        quality_note=incomparable_reason(rows),
    )


class BenchController(QObject):
    """Owns the Benchmark window (made on first use) and its jobs.

    Args:
        window: The main window (its header opens the Benchmark window).
        model: The model thread's client; benchmarks run there.
    """

    def __init__(
        self, window: MainWindow, model: ModelClient, settings: Settings, paths: AppPaths
    ) -> None:
        super().__init__(window)
        self.main = window
        self.model = model
        self.settings = settings
        self.paths = paths
        self.window: BenchWindow | None = None
        self.lab = SerialWorker("lab", self)
        self.job: Job[Any] | None = None
        self.results: BenchResults | None = None
        self.source = ""
        self.saved: tuple[str, ...] = ()
        window.benchRequested.connect(self.show)
        model.setAside.connect(self.on_chat_set_aside)

    @property
    def results_dir(self) -> Path:
        return self.paths.data_dir / "benchmarks"

    def show(self) -> BenchWindow:
        """Open (or raise) the Benchmark window with the catalog's models listed."""
        if self.window is None:
            # A window of its own, owned by the main window: it goes when the app goes.
            # Imported here: its plots bring pyqtgraph, which the window's start need not pay.
            from ui.bench.window import BenchWindow

            self.window = BenchWindow(self.main)
            # Late answers (a model list, a check) find no window rather than a deleted one.
            self.window.destroyed.connect(self._forget_window)
            self.window.setup.models_dir = str(self.paths.models_dir)
            self.window.results.results_dir = str(self.results_dir)
            self._connect_signals(self.window)
        self.refresh_models()
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        return self.window

    def _connect_signals(self, window: BenchWindow) -> None:
        window.setup.runRequested.connect(self.run)
        window.setup.variantsRequested.connect(self.make_variants)
        window.setup.variantSourceChanged.connect(self.on_variant_source_changed)
        window.results.constraintChanged.connect(self.on_constraint_changed)
        window.results.openRequested.connect(self.open_results)
        window.results.saveRequested.connect(self.save_results)
        window.stopRequested.connect(self.stop)
        window.closing.connect(self.stop)

    # -- models and variants -------------------------------------------------------------------

    def refresh_models(self, tick: tuple[str, ...] = ()) -> None:
        models_file = self.paths.models_file

        def done(rows: list[ModelRow]) -> None:
            if self.window is not None:
                self.window.setup.set_models(rows, tick)

        run_in_background(lambda: catalog_rows(models_file), done, self._on_error)

    def on_variant_source_changed(self, source: str, types: tuple[str, ...]) -> None:
        folder = self.paths.models_dir

        def done(check: VariantCheck) -> None:
            if self.window is not None:
                self.window.setup.show_variant_check(check)

        run_in_background(lambda: check_variants(source, types, folder), done, self._on_error)

    def make_variants(self, request: VariantRequest) -> None:
        """Quantize `request.source` into each type in turn; the variants join the catalog."""
        from engine.catalog import ModelCatalog
        from engine.gguf_info import read_model_info
        from engine.lab import QuantizeRequest, QuantizeResult, default_target
        from engine.lab.quantize import quantize

        window = self._window()
        models_file = self.paths.models_file
        self_made: list[str] = []  # kept when a later type fails, to tick what was made

        def work(task: Task) -> list[QuantizeResult]:
            Path(request.folder).mkdir(parents=True, exist_ok=True)
            catalog = ModelCatalog(models_file)
            source_type = read_model_info(request.source).file_type
            made: list[QuantizeResult] = []
            for quant_type in request.types:
                if quant_type == source_type or task.cancelled:
                    continue
                target = default_target(request.source, quant_type, request.folder)
                one = QuantizeRequest(request.source, quant_type, str(target),
                                      allow_requantize=request.allow_requantize)  # fmt: skip
                for event in quantize(one, task.cancel, catalog):
                    if isinstance(event, QuantizeResult):
                        made.append(event)
                        self_made.append(event.path)
                    else:
                        task.emit(event)
            return made

        def failed(exc: Exception) -> None:
            self._on_job_error(exc)
            self.refresh_models(tick=tuple(self_made))

        def done(made: list[QuantizeResult]) -> None:
            self.job = None
            text = variants_outcome(made, stopped=job.cancel_token.cancelled)
            window.job_ended(text, SETUP, completed=not job.cancel_token.cancelled)
            # Said where the person lands, not only on the Progress page left behind.
            window.setup.show_outcome(text)
            self.refresh_models(tick=tuple(m.path for m in made))

        window.job_started(f"Making {', '.join(request.types)} of {Path(request.source).stem}")
        job = self.lab.run(work, on_event=self._on_event, on_done=done, on_error=failed)
        self.job = job

    # -- benchmark -----------------------------------------------------------------------------

    def plan_for(self, request: BenchRequest) -> BenchPlan:
        """The engine's plan for what the window asked, on the app's thread and GPU settings."""
        from engine.lab import BenchPlan, QualitySettings

        return BenchPlan(
            models=request.models,
            reference=request.reference,
            speed=request.speed,
            prompt_lengths=request.prompt_lengths,
            gen_tokens=request.gen_tokens,
            ttft_prompt_tokens=min(request.prompt_lengths),
            repeats=request.repeats,
            quality=request.quality,
            text_path=request.text_path,
            quality_settings=QualitySettings(request.chunk_tokens, request.chunks),
            n_threads=int(self.settings.get("model.threads")),
            n_gpu_layers=self.settings.get("model.gpu_layers"),
        )

    def run(self, request: BenchRequest) -> None:
        """Run the benchmark on the model thread (see the module docstring)."""
        from engine.lab import BenchResults, prepare, run_bench
        from engine.model_probe import ModelGuard

        window = self._window()
        plan = self.plan_for(request)
        guard = ModelGuard(self.paths.checked_models_file)

        def work(task: Task) -> BenchResults:
            # A file never opened before is opened in a child process first: it cannot take
            # the window down.
            for path in dict.fromkeys(
                [*plan.models, *([plan.reference] if plan.reference else [])]
            ):
                guard.check(path)
            results = None
            for event in run_bench(prepare(plan), task.cancel):
                if isinstance(event, BenchResults):
                    results = event
                else:
                    task.emit(event)
            assert results is not None
            return results

        count = len(request.models)
        window.job_started(f"Measuring {count} model{'s' if count != 1 else ''}")
        self.job = self.model.run_aside(work, on_event=self._on_event, on_done=self._on_measured,
                                        on_error=self._on_job_error)  # fmt: skip

    def _on_measured(self, results: BenchResults) -> None:
        self.job = None
        self.results, self.source, self.saved = results, "", ()
        window = self.window
        if window is None:
            return
        text = (f"Stopped after {results.seconds:.0f} s; finished results are kept." if results.cancelled
                else f"Done in {results.seconds:.0f} s.")  # fmt: skip
        window.job_ended(text, RESULTS, completed=not results.cancelled)
        window.show_results(make_view(results, window.results.constraint.text()))
        self.save_results(str(self._new_results_path()))

    def _new_results_path(self) -> Path:
        """Where a run's results are saved: the results folder, named by the time it ended."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return self.results_dir / f"bench-{stamp}.json"

    def on_chat_set_aside(self, _path: str) -> None:
        self.main.notice.show_message(
            "A benchmark is running: the chat model is paused, and a question you send is "
            "answered when the run ends.",
            actions=[("Stop the benchmark", self.stop)],
        )

    def stop(self) -> None:
        """Stop the running job now; a benchmark keeps what it finished."""
        if self.job is not None:
            self.job.cancel()

    # -- results -------------------------------------------------------------------------------

    def on_constraint_changed(self, text: str) -> None:
        if self.results is not None and self.window is not None:
            self.window.results.show_view(make_view(self.results, text, self.source))

    def open_results(self, path: str) -> None:
        from engine.lab import load_results

        def done(results: BenchResults) -> None:
            self.results, self.source, self.saved = results, path, ()
            if self.window is not None:
                text = self.window.results.constraint.text()
                self.window.show_results(make_view(results, text, path))

        run_in_background(lambda: load_results(path), done, self._on_error)

    def save_results(self, path: str) -> None:
        """Save the results shown as JSON, with a CSV beside it (the engine's format)."""
        results = self.results
        if results is None:
            return

        def work(_task: Task) -> tuple[str, ...]:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            return tuple(str(p) for p in results.save(path))

        def done(paths: tuple[str, ...]) -> None:
            self.saved = paths
            if self.window is not None:
                self.window.results.show_saved(paths)

        self.lab.run(work, on_done=done, on_error=self._on_error)

    # -- events and errors ---------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        from engine.lab import LabNotice, LabProgress

        if self.window is None:
            return
        if isinstance(event, LabProgress):
            self.window.progress.show_progress(event)
        elif isinstance(event, LabNotice):
            self.window.progress.show_notice(event)

    def _on_job_error(self, exc: Exception) -> None:
        self.job = None
        text = _words(exc)
        if self.window is not None:
            self.window.job_ended(f"Failed: {text}", failed=True)
            self.window.show_error(text)

    def _on_error(self, exc: Exception) -> None:
        if self.window is not None:
            self.window.show_error(_words(exc))

    def _forget_window(self, *_args: object) -> None:
        self.window = None

    def _window(self) -> BenchWindow:
        return self.window if self.window is not None else self.show()

    def shutdown(self) -> None:
        """Stop the lab's jobs and its thread (the model thread's job stops with its queue); a
        run that ended meanwhile keeps what it finished, saved as a stopped run is."""
        self.stop()
        job, self.job = self.job, None
        if job is not None and job.done:
            try:
                results = job.result(0)
                # No thread is left to save on: written here, a few milliseconds.
                results.save(self._new_results_path())
            except Exception:  # it failed, or the disk refused: nothing more can be done now
                log.warning("The benchmark's results could not be kept at exit", exc_info=True)
        self.lab.shutdown()
        if self.window is not None:
            self.window.close()
            self.window = None


def _words(exc: Exception) -> str:
    if not isinstance(exc, HearthError):
        log.error("Benchmark job failed", exc_info=exc)
    return describe(exc, "The benchmark failed")
