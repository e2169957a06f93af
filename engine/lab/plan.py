"""What a benchmark run will do: the plan a person chooses, and the steps it becomes on this machine.

`BenchPlan` is what is asked (models, settings to compare, what to measure). `prepare` checks it
against the files and the free memory and turns it into a `PreparedPlan`: per model the prompt
lengths that fit its window and this machine, the reference for KL divergence, the text, and the
ordered list of steps (interleaved across models and repeated, so machine noise hits all alike)
that the progress view counts down.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.context.fit import cache_type_problem, check_fit
from engine.display import counted, with_article
from engine.errors import HearthError
from engine.gguf_info import ModelInfo, read_model_info
from engine.lab.files import read_text_file
from engine.lab.quality import QualitySettings
from engine.lab.task import TaskItem
from engine.lab.vocab import Vocabulary, difference_words, vocabulary_of
from engine.session import KV_CACHE_TYPES, LoadSettings

DEFAULT_PROMPT_LENGTHS = (512, 4096, 16384)
SAMPLE_TEXT = "alice-chapters-1-3.txt"
# Relative cost of the kinds of step, per parameter and token, for the progress estimate only.
_GENERATED_TOKEN_COST = 12.0
_SCORED_TOKEN_COST = 1.5
_LOAD_COST_TOKENS = 64.0
_TASK_COST_TOKENS = 600.0 + 160.0 * _GENERATED_TOKEN_COST


@dataclass(frozen=True)
class RunConfig:
    """Engine settings compared against each other: K/V cache types and flash attention."""

    type_k: str = "f16"
    type_v: str = "f16"
    flash_attn: bool = True  # as the app runs models

    @property
    def label(self) -> str:
        cache = self.type_k if self.type_k == self.type_v else f"{self.type_k}/{self.type_v}"
        return f"{cache} K/V, flash attention {'on' if self.flash_attn else 'off'}"


@dataclass(frozen=True)
class BenchPlan:
    """What to measure.

    Attributes:
        models: GGUF files to compare.
        reference: The model others are judged against (KL divergence, top-1 agreement); None
            picks the highest-precision one (most bits per weight) of the vocabulary most of
            the models share (see `vocab`). Measured too if not in `models`.
        configs: Settings to measure each model with; the first is the reference's.
        speed: Measure load time, prompt processing, generation and time to first token.
        prompt_lengths: Prompt-processing lengths in tokens; those over a model's window or
            this machine's memory are skipped, with a notice.
        gen_tokens: Tokens generated per generation run.
        ttft_prompt_tokens: Prompt length for time to first token and generation.
        repeats: Speed runs per model and setting; results give median and min-max.
        quality: Measure perplexity (and KL divergence and top-1 agreement with a reference).
        text_path: The text for quality; None uses the bundled public-domain sample.
        quality_settings: Chunk size and count for quality.
        task: Questions prepared with `task.prepare_task`; empty for no task score.
        n_threads: CPU threads; 0 means one per physical core.
        n_gpu_layers: Layers on the GPU, or "auto" to use a GPU where there is one.
    """

    models: tuple[str, ...]
    reference: str | None = None
    configs: tuple[RunConfig, ...] = (RunConfig(),)
    speed: bool = True
    prompt_lengths: tuple[int, ...] = DEFAULT_PROMPT_LENGTHS
    gen_tokens: int = 64
    ttft_prompt_tokens: int = 512
    repeats: int = 3
    quality: bool = True
    text_path: str | None = None
    quality_settings: QualitySettings = field(default_factory=QualitySettings)
    task: tuple[TaskItem, ...] = ()
    n_threads: int = 0
    n_gpu_layers: int | str = "auto"

    def validate(self) -> None:
        """Raises HearthError for a plan that cannot run, whatever the machine."""
        if not self.models:
            raise HearthError("Choose at least one model to measure.")
        if not (self.speed or self.quality or self.task):
            raise HearthError("Choose something to measure: speed, quality or a task score.")
        if self.repeats < 1 or self.repeats > 50:
            raise HearthError("Repeats must be between 1 and 50.")
        if self.speed and (self.gen_tokens < 2 or self.ttft_prompt_tokens < 1):
            raise HearthError("Generate at least 2 tokens after a prompt of at least 1 token.")
        if self.speed and (not self.prompt_lengths or min(self.prompt_lengths) < 1):
            raise HearthError("Prompt lengths must be whole numbers of tokens, 1 or more.")
        if not self.configs:
            raise HearthError("Choose at least one K/V cache setting.")
        for config in self.configs:
            for name in (config.type_k, config.type_v):
                if name not in KV_CACHE_TYPES:
                    raise HearthError(
                        f"Unknown K/V cache type '{name}'.",
                        f"Choose one of {', '.join(KV_CACHE_TYPES)}.",
                    )
            if config.type_v != "f16" and not config.flash_attn:
                raise HearthError(
                    f"A {config.type_v} V cache needs flash attention.",
                    "Turn flash attention on for quantized V caches.",
                )


@dataclass(frozen=True)
class PlannedModel:
    """One model as it will be measured here: the lengths that fit and the window to load."""

    path: str
    info: ModelInfo
    prompt_lengths: tuple[int, ...]
    n_ctx: int
    quality: bool
    configs: tuple[RunConfig, ...]
    is_reference: bool = False
    notes: tuple[str, ...] = ()
    vocabulary: Vocabulary | None = None
    # False when its vocabulary is not the reference's: its quality is not comparable with the
    # reference's and it is not judged against it; None when unknown or there is no reference.
    same_vocabulary: bool | None = None
    quality_note: str = ""  # why its quality is not comparable, in words


@dataclass(frozen=True)
class PlannedStep:
    """One step of the run, for the progress view: what, on which model, and its expected cost."""

    kind: str  # "load", "prompt", "generate", "quality", "task"
    model: str
    config: RunConfig
    repeat: int
    cost: float
    prompt_length: int = 0

    @property
    def label(self) -> str:
        name = Path(self.model).name
        what = {
            "load": "loading",
            "prompt": f"prompt of {counted(self.prompt_length, 'token')}",
            "generate": "generation and time to first token",
            "quality": "perplexity and KL divergence",
            "task": "answering the task questions",
        }[self.kind]
        return f"{name} ({self.config.label}): {what}"


@dataclass(frozen=True)
class PreparedPlan:
    """A plan checked against this machine, with its steps in the order they will run."""

    plan: BenchPlan
    models: tuple[PlannedModel, ...]
    reference: str | None
    text: str
    text_name: str
    steps: tuple[PlannedStep, ...]
    notes: tuple[str, ...] = ()

    def model(self, path: str) -> PlannedModel:
        return next(m for m in self.models if m.path == path)

    def rows(self) -> list[tuple[PlannedModel, RunConfig]]:
        """(model, settings) pairs, each a row of the results; the reference's first."""
        rows = [(m, c) for m in self.models for c in m.configs]
        rows.sort(key=lambda row: not (row[0].is_reference and row[1] == self.plan.configs[0]))
        return rows


def sample_text_path() -> Path:
    """The bundled public-domain sample text (resources/lab/, next to the packages)."""
    import importlib.util

    candidates = [Path(__file__).resolve().parents[2] / "resources" / "lab"]
    spec = importlib.util.find_spec("resources")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "lab" for p in spec.submodule_search_locations]
    for folder in candidates:
        if (folder / SAMPLE_TEXT).is_file():
            return folder / SAMPLE_TEXT
    raise HearthError("The bundled sample text is missing.", "Reinstall Hearth.")


def read_text(path: str | Path | None) -> tuple[str, str]:
    """(text, name) of the quality text; the bundled sample when `path` is None.

    Raises:
        HearthError: unreadable, not UTF-8 text, or empty.
    """
    path = Path(path) if path is not None else sample_text_path()
    text = read_text_file(path, "plain text")
    if not text.strip():
        raise HearthError(f"{path.name} is empty.")
    return text, path.name


def bits_per_weight(info: ModelInfo) -> float:
    """The file's average bits per parameter: the highest is the most precise variant."""
    return info.file_size * 8 / max(info.parameter_count, 1)


def prepare(plan: BenchPlan) -> PreparedPlan:
    """Check `plan` against the files and this machine and lay out its steps.

    Raises:
        HearthError: the plan is invalid (see `BenchPlan.validate`) or the text unreadable.
        ModelFileError: a model is missing, not GGUF or damaged.
    """
    plan.validate()
    # One file named twice (or by two paths) is measured once, and the person is told so.
    notes: list[str] = []
    by_file: dict[Path, str] = {}
    for given in plan.models:
        key = Path(given).resolve()
        if key not in by_file:
            by_file[key] = str(Path(given))
            continue
        note = f"{Path(given).name} was given more than once; it is measured once."
        if note not in notes:
            notes.append(note)
    paths = list(by_file.values())
    infos = {path: read_model_info(path) for path in paths}
    reference = None
    if plan.quality and plan.reference is not None:
        reference = by_file.get(Path(plan.reference).resolve(), str(Path(plan.reference)))
        if reference not in infos:
            infos[reference] = read_model_info(reference)
            paths.insert(0, reference)
    vocabularies = {path: vocabulary_of(infos[path]) for path in paths}
    if plan.quality and reference is None:
        reference = choose_reference(paths, infos, vocabularies)
    # The text also gives the speed prompts their tokens, so it is read in every case.
    text, text_name = read_text(plan.text_path)
    models = []
    for path in paths:
        model = _plan_model(plan, path, infos[path], path == reference)
        if reference is not None:
            model = _with_vocabulary(model, vocabularies[path], reference, vocabularies[reference])
        notes.extend(f"{Path(path).name}: {note}" for note in model.notes)
        models.append(model)
    prepared = PreparedPlan(plan, tuple(models), reference, text, text_name, (), tuple(notes))
    return replace(prepared, steps=tuple(_steps(prepared)))


def choose_reference(
    paths: list[str], infos: dict[str, ModelInfo], vocabularies: dict[str, Vocabulary | None]
) -> str:
    """The model the others are judged against: of the vocabulary most of them share (only
    those can be judged against it), the one with the most bits per weight."""
    shared = {path: sum(vocabularies[o] == vocabularies[path] for o in paths) for path in paths}
    return max(paths, key=lambda p: (shared[p], bits_per_weight(infos[p])))


def _with_vocabulary(
    model: PlannedModel, vocabulary: Vocabulary | None, reference: str, ref: Vocabulary | None
) -> PlannedModel:
    """`model` told whether it shares the reference's vocabulary (the decision every view of the
    results shows), with a note when not."""
    if model.is_reference or vocabulary is None or ref is None:
        same = True if model.is_reference else None
        return replace(model, vocabulary=vocabulary, same_vocabulary=same)
    if vocabulary == ref:
        return replace(model, vocabulary=vocabulary, same_vocabulary=True)
    why = difference_words(Path(model.path).name, vocabulary.size, Path(reference).name, ref.size)
    note = ("quality not comparable with the reference's: another vocabulary "
            f"({vocabulary.size:,} tokens against {ref.size:,}), so no KL divergence or top-1 "
            "agreement")  # fmt: skip
    notes = (*model.notes, note) if model.quality else model.notes
    return replace(model, vocabulary=vocabulary, same_vocabulary=False, quality_note=why,
                   notes=notes)  # fmt: skip


def _plan_model(plan: BenchPlan, path: str, info: ModelInfo, is_reference: bool) -> PlannedModel:
    notes = []
    configs = []
    for config in plan.configs:
        problem = cache_type_problem(info, config.type_k, config.type_v, config.flash_attn)
        if problem:
            notes.append(f"{config.label} skipped: {problem}")
        else:
            configs.append(config)
    trained = info.context_length or max(plan.prompt_lengths + (plan.quality_settings.n_ctx,))
    quality = plan.quality and plan.quality_settings.n_ctx <= trained
    if plan.quality and not quality:
        notes.append(
            f"quality skipped: chunks of {plan.quality_settings.n_ctx:,} tokens are longer than "
            f"its {trained:,}-token window"
        )
    lengths: list[int] = []
    if plan.speed:
        wanted = sorted(set(plan.prompt_lengths))
        lengths = [n for n in wanted if n + plan.gen_tokens <= trained]
        for skipped in wanted[len(lengths) :]:
            notes.append(
                f"prompt of {counted(skipped, 'token')} skipped: its window is {trained:,}"
            )
    floor = max(plan.ttft_prompt_tokens + plan.gen_tokens if plan.speed else 0,
                plan.quality_settings.n_ctx if quality else 0)  # fmt: skip
    while True:
        n_ctx = max([floor, *(n + plan.gen_tokens for n in lengths)])
        if not configs or all(_fits(plan, info, n_ctx, config) for config in configs):
            break
        if not lengths:
            notes.append("does not fit this machine's memory even with "
                         f"{with_article(n_ctx, '-token')} window")  # fmt: skip
            configs = []
            break
        dropped = lengths.pop()
        notes.append(f"prompt of {counted(dropped, 'token')} skipped: it does not fit this "
                     "machine's memory")  # fmt: skip
    return PlannedModel(
        path=path,
        info=info,
        prompt_lengths=tuple(lengths),
        n_ctx=min(n_ctx, trained),
        quality=quality,
        configs=tuple(configs),
        is_reference=is_reference,
        notes=tuple(notes),
    )


def _fits(plan: BenchPlan, info: ModelInfo, n_ctx: int, config: RunConfig) -> bool:
    settings = LoadSettings(
        model_path=info.path,
        n_ctx=n_ctx,
        n_gpu_layers=plan.n_gpu_layers,
        flash_attn=config.flash_attn,
        type_k=config.type_k,
        type_v=config.type_v,
    )
    return check_fit(settings, info=info, flash_attn=config.flash_attn).fits


def interleaved(rows: list, repeat: int) -> list:
    """The order of `rows` in repeat number `repeat`: rotated, so no row always runs first."""
    if not rows:
        return []
    shift = repeat % len(rows)
    return rows[shift:] + rows[:shift]


def _steps(prepared: PreparedPlan) -> list[PlannedStep]:
    plan = prepared.plan
    steps: list[PlannedStep] = []
    rows = prepared.rows()
    repeats = plan.repeats if plan.speed else 1
    for repeat in range(repeats):
        for model, config in interleaved(rows, repeat):
            params = max(model.info.parameter_count, 1) / 1e9
            path = model.path

            def add(kind: str, tokens: float, length: int = 0) -> None:
                steps.append(PlannedStep(kind, path, config, repeat, params * tokens, length))  # noqa: B023

            add("load", _LOAD_COST_TOKENS)
            if plan.speed:
                for length in model.prompt_lengths:
                    add("prompt", float(length), length)
                add("generate", plan.ttft_prompt_tokens + plan.gen_tokens * _GENERATED_TOKEN_COST)
            if repeat == 0 and model.quality:
                quality = plan.quality_settings
                add("quality", quality.n_ctx * max(quality.max_chunks, 1) * _SCORED_TOKEN_COST)
            if repeat == 0 and plan.task:
                add("task", len(plan.task) * _TASK_COST_TOKENS)
    return steps
