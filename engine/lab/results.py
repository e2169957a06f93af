"""Benchmark results: one record per model and setting, saved as JSON and CSV and read back.

Every repeated figure is a `Spread` (median, min, max, the samples), so a table shows the median
and a plot its error bar. `COLUMNS` names the table's columns with their units; `ModelResult.row`
gives one flat row with those keys, which is also what the CSV file holds.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.atomic_io import write_json_atomic, write_text_atomic
from engine.errors import HearthError
from engine.lab.files import read_text_file
from engine.lab.plan import RunConfig

RESULTS_VERSION = 1


@dataclass(frozen=True)
class Spread:
    """A repeated measurement: median with its range over the repeats."""

    median: float
    low: float
    high: float
    samples: tuple[float, ...] = ()

    @classmethod
    def of(cls, samples: Iterable[float]) -> Spread | None:
        values = [float(v) for v in samples]
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), tuple(values))

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.low, "max": self.high,
                "samples": list(self.samples)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Spread | None:
        if not data:
            return None
        return cls(float(data["median"]), float(data["min"]), float(data["max"]),
                   tuple(float(v) for v in data.get("samples", ())))  # fmt: skip


@dataclass(frozen=True)
class ModelResult:
    """One model with one setting, every figure measured on `backend`.

    Speed and memory figures are `Spread`s over the repeats; quality figures are measured once
    (they do not vary between runs). Sizes are bytes, times seconds, speeds tokens per second.

    Attributes:
        model: The GGUF file.
        name: Its file name, as the table shows it.
        file_type: Quantization type (llama.cpp's name: Q4_K_M...).
        backend: Where it ran: "CPU" or the GPU backend and device, with offloaded layers.
        n_ctx: The window loaded for speed and quality.
        prompt_tokens_per_s: Prefill speed per prompt length in tokens.
        peak_ram_bytes: Highest resident memory of the whole process while loading and measuring
            speed: it includes whatever else the process holds (a window's Qt, an app's chat).
        model_ram_bytes: The model's own memory: how far loading and running it raised resident
            memory above the level before loading. The same whichever process runs it, so this is
            the figure tables, plots and constraints use (see `ram_used`).
        estimated_ram_bytes, estimated_vram_bytes: The engine's estimate for this load.
        allocated_ram_bytes, allocated_vram_bytes: What llama.cpp reported allocating.
        memory_by_context: Estimated RAM+VRAM in bytes per window size, for a memory plot.
        kl_divergence, top1_agreement: Against `reference_model`; None for no reference, or
            for a model of another vocabulary. The reference's own are 0 and 1: views show
            "reference" instead.
        vocabulary_size: Tokens in the model's vocabulary (0: unknown).
        same_vocabulary: Whether it shares the reference's vocabulary: only then are its
            quality figures comparable with the reference's (see `vocab`); None when unknown
            (no reference, or results saved before this was recorded).
        quality_note: Why its quality is not comparable, in words ("" when it is).
        task_score: Share of task questions answered with the expected words.
    """

    model: str
    name: str
    file_type: str
    file_size: int
    parameter_count: int
    config: RunConfig
    backend: str = "CPU"
    n_gpu_layers: int = 0
    n_threads: int = 0
    n_ctx: int = 0
    is_reference: bool = False
    vocabulary_size: int = 0
    same_vocabulary: bool | None = None
    quality_note: str = ""
    load_s: Spread | None = None
    prompt_tokens_per_s: dict[int, Spread] = field(default_factory=dict)
    gen_tokens_per_s: Spread | None = None
    ttft_s: Spread | None = None
    peak_ram_bytes: Spread | None = None
    model_ram_bytes: Spread | None = None
    peak_vram_bytes: Spread | None = None
    estimated_ram_bytes: int | None = None
    estimated_vram_bytes: int | None = None
    allocated_ram_bytes: int | None = None
    allocated_vram_bytes: int | None = None
    memory_by_context: dict[int, int] = field(default_factory=dict)
    perplexity: float | None = None
    perplexity_error: float | None = None
    kl_divergence: float | None = None
    kl_divergence_p99: float | None = None
    top1_agreement: float | None = None
    quality_tokens: int = 0
    reference_model: str = ""
    task_score: float | None = None
    task_questions: int = 0
    notes: tuple[str, ...] = ()
    error: str = ""

    @property
    def label(self) -> str:
        """The row's name in a table or plot legend: file name, plus the setting if not default."""
        if self.config == RunConfig():
            return self.name
        return f"{self.name} [{self.config.label}]"

    @property
    def quality_standing(self) -> str:
        """How its quality figures stand beside the others': "reference" (the others' KL
        divergence and top-1 agreement are measured against it), "not comparable" (another
        vocabulary than the reference's), "comparable", or "" when it has none."""
        if self.perplexity is None and self.kl_divergence is None:
            return ""
        if self.is_reference:
            return "reference"
        return "not comparable" if self.same_vocabulary is False else "comparable"

    @property
    def ram_used(self) -> Spread | None:
        """The model's own memory (`model_ram_bytes`); the process peak only for results saved
        before that was measured, which have nothing else."""
        return self.model_ram_bytes if self.model_ram_bytes is not None else self.peak_ram_bytes

    @property
    def prompt_speed(self) -> Spread | None:
        """Prefill speed at the shortest prompt measured (the headline prompt figure)."""
        if not self.prompt_tokens_per_s:
            return None
        return self.prompt_tokens_per_s[min(self.prompt_tokens_per_s)]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: headline medians at the top level, every spread under "spread"."""
        spreads = {
            name: value.to_dict()
            for name in _SPREAD_FIELDS
            if name != "prompt_tokens_per_s" and (value := getattr(self, name)) is not None
        }
        spreads["prompt_tokens_per_s_by_length"] = {
            str(length): spread.to_dict() for length, spread in self.prompt_tokens_per_s.items()
        }
        data: dict[str, Any] = {
            "model": self.model,
            "load_s": _median(self.load_s),
            "prompt_tokens_per_s": _median(self.prompt_speed),
            "gen_tokens_per_s": _median(self.gen_tokens_per_s),
            "ttft_s": _median(self.ttft_s),
            "peak_ram_bytes": _bytes(self.peak_ram_bytes),
            "perplexity": self.perplexity,
            "kl_divergence": self.kl_divergence,
            "top1_agreement": self.top1_agreement,
        }
        for item in fields(self):
            if item.name in data or item.name in _SPREAD_FIELDS or item.name == "config":
                continue
            data[item.name] = getattr(self, item.name)
        data["model_ram_bytes"] = _bytes(self.model_ram_bytes)
        data["peak_vram_bytes"] = _bytes(self.peak_vram_bytes)
        data["prompt_length"] = min(self.prompt_tokens_per_s) if self.prompt_tokens_per_s else None
        data["memory_by_context"] = {str(k): v for k, v in self.memory_by_context.items()}
        data["quality_standing"] = self.quality_standing
        data["notes"] = list(self.notes)
        data["config"] = asdict(self.config)
        data["spread"] = spreads
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelResult:
        spreads = data.get("spread", {})
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name in data and item.name not in _SPREAD_FIELDS:
                values[item.name] = data[item.name]
        values["config"] = RunConfig(**data.get("config", {}))
        for name in _SPREAD_FIELDS:
            if name == "prompt_tokens_per_s":
                continue
            values[name] = Spread.from_dict(spreads.get(name))
        by_length = spreads.get("prompt_tokens_per_s_by_length", {})
        values["prompt_tokens_per_s"] = {
            int(length): spread
            for length, raw in by_length.items()
            if (spread := Spread.from_dict(raw)) is not None
        }
        values["memory_by_context"] = {
            int(k): int(v) for k, v in (data.get("memory_by_context") or {}).items()
        }
        values["notes"] = tuple(data.get("notes", ()))
        return cls(**values)

    def row(self) -> dict[str, Any]:
        """One flat row for a table or CSV: keys of `COLUMNS`, plus min/max and per-length speeds."""
        row: dict[str, Any] = {
            "label": self.label,
            "model": self.model,
            "name": self.name,
            "file_type": self.file_type,
            "kv_cache": self.config.type_k
            if self.config.type_k == self.config.type_v
            else f"{self.config.type_k}/{self.config.type_v}",
            "flash_attn": self.config.flash_attn,
            "backend": self.backend,
            "file_size": self.file_size,
            "n_ctx": self.n_ctx,
            "is_reference": self.is_reference,
            "vocabulary_size": self.vocabulary_size or None,
            "same_vocabulary": self.same_vocabulary,
        }
        for name in _SPREAD_FIELDS:
            if name == "prompt_tokens_per_s":
                continue
            _put_spread(row, name, getattr(self, name))
        _put_spread(row, "prompt_tokens_per_s", self.prompt_speed)
        for length, spread in sorted(self.prompt_tokens_per_s.items()):
            _put_spread(row, f"pp{length}_tokens_per_s", spread)
        row.update(
            estimated_ram_bytes=self.estimated_ram_bytes,
            estimated_vram_bytes=self.estimated_vram_bytes,
            allocated_ram_bytes=self.allocated_ram_bytes,
            allocated_vram_bytes=self.allocated_vram_bytes,
            perplexity=self.perplexity,
            perplexity_error=self.perplexity_error,
            kl_divergence=self.kl_divergence,
            top1_agreement=self.top1_agreement,
            task_score=self.task_score,
            quality_note=self.quality_note,
            notes="; ".join(self.notes),
            error=self.error,
        )
        return row


# Time to first token as every table shows it: seconds, to the millisecond.
TTFT_FORMAT = "{:.3f}"

_SPREAD_FIELDS = ("load_s", "prompt_tokens_per_s", "gen_tokens_per_s", "ttft_s",
                  "peak_ram_bytes", "model_ram_bytes", "peak_vram_bytes")  # fmt: skip

# The table's columns: (key of `ModelResult.row`, heading, unit). A view formats by unit.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("label", "Model", ""),
    ("file_type", "Type", ""),
    ("backend", "Backend", ""),
    ("file_size", "File", "bytes"),
    ("load_s", "Load", "s"),
    ("prompt_tokens_per_s", "Prompt", "tokens/s"),
    ("gen_tokens_per_s", "Generation", "tokens/s"),
    ("ttft_s", "TTFT", "s"),
    ("model_ram_bytes", "RAM used", "bytes"),
    ("peak_ram_bytes", "Process peak RAM", "bytes"),
    ("estimated_ram_bytes", "Estimated RAM", "bytes"),
    ("allocated_ram_bytes", "llama.cpp buffers", "bytes"),
    ("peak_vram_bytes", "Peak VRAM", "bytes"),
    ("perplexity", "Perplexity", ""),
    ("kl_divergence", "KL divergence", "nats"),
    ("top1_agreement", "Top-1 agreement", "share"),
    ("task_score", "Task score", "share"),
)


@dataclass(frozen=True)
class BenchResults:
    """A whole run: the rows, the machine they were measured on, and how the run was set up."""

    results: tuple[ModelResult, ...]
    machine: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    reference: str = ""
    started_at: str = ""
    seconds: float = 0.0
    cancelled: bool = False
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RESULTS_VERSION,
            "results": [result.to_dict() for result in self.results],
            "machine": self.machine,
            "settings": self.settings,
            "text": self.text,
            "reference": self.reference,
            "started_at": self.started_at,
            "seconds": self.seconds,
            "cancelled": self.cancelled,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResults:
        return cls(
            results=tuple(ModelResult.from_dict(item) for item in data.get("results", [])),
            machine=dict(data.get("machine", {})),
            settings=dict(data.get("settings", {})),
            text=str(data.get("text", "")),
            reference=str(data.get("reference", "")),
            started_at=str(data.get("started_at", "")),
            seconds=float(data.get("seconds", 0.0)),
            cancelled=bool(data.get("cancelled", False)),
            notes=tuple(data.get("notes", ())),
        )

    def rows(self) -> list[dict[str, Any]]:
        return [result.row() for result in self.results]

    def to_csv(self) -> str:
        """The rows as CSV text (columns: every key any row has, in first-seen order)."""
        rows = self.rows()
        keys = list(dict.fromkeys(key for row in rows for key in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in keys})
        return out.getvalue()

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write `path` as JSON and the same name with .csv beside it; return both paths.

        Raises:
            HearthError: the disk is full or the folder is not writable.
        """
        json_path = Path(path).with_suffix(".json")
        csv_path = json_path.with_suffix(".csv")
        write_json_atomic(json_path, self.to_dict())
        write_text_atomic(csv_path, self.to_csv())
        return json_path, csv_path


def load_results(path: str | Path) -> BenchResults:
    """Reopen saved results: the JSON file, or the CSV (medians and ranges, without samples).

    Raises:
        HearthError: unreadable, or not results Hearth wrote.
    """
    path = Path(path)
    text = read_text_file(path, "a benchmark result file")
    try:
        if path.suffix.lower() == ".csv":
            results = _from_csv(text)
        else:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise ValueError("no results list")
            results = BenchResults.from_dict(data)
        if not results.results:
            raise ValueError("no rows")  # Hearth never saves a run without a model in it
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # The parser's own words ("Expecting value: line 1 column 1") help no one reading this.
        raise HearthError(
            f"{path.name} is not a benchmark result file Hearth can read.",
            "Open a .json or .csv file saved by a Hearth benchmark.",
        ) from exc
    return results


def _from_csv(text: str) -> BenchResults:
    results = []
    reader = csv.DictReader(io.StringIO(text))
    if not {"model", "file_type"} <= set(reader.fieldnames or ()):
        raise ValueError("missing the model columns")  # checked before any row: "a,b" has none
    for row in reader:
        cache = (row.get("kv_cache") or "f16").split("/")
        config = RunConfig(cache[0], cache[-1], row.get("flash_attn") == "True")
        spreads = {name: _get_spread(row, name) for name in _SPREAD_FIELDS}
        by_length = {
            int(key[2:].split("_", 1)[0]): spread
            for key in row
            if key.startswith("pp") and key.endswith("_tokens_per_s")
            if (spread := _get_spread(row, key)) is not None
        }
        results.append(
            ModelResult(
                model=row["model"],
                name=row.get("name") or Path(row["model"]).name,
                file_type=row["file_type"],
                file_size=int(_number(row.get("file_size")) or 0),
                parameter_count=0,
                config=config,
                backend=row.get("backend", ""),
                n_ctx=int(_number(row.get("n_ctx")) or 0),
                is_reference=row.get("is_reference") == "True",
                vocabulary_size=int(_number(row.get("vocabulary_size")) or 0),
                same_vocabulary={"True": True, "False": False}.get(row.get("same_vocabulary", "")),
                quality_note=row.get("quality_note") or "",
                load_s=spreads["load_s"],
                prompt_tokens_per_s=by_length,
                gen_tokens_per_s=spreads["gen_tokens_per_s"],
                ttft_s=spreads["ttft_s"],
                peak_ram_bytes=spreads["peak_ram_bytes"],
                model_ram_bytes=spreads["model_ram_bytes"],
                peak_vram_bytes=spreads["peak_vram_bytes"],
                estimated_ram_bytes=_int_or_none(row.get("estimated_ram_bytes")),
                estimated_vram_bytes=_int_or_none(row.get("estimated_vram_bytes")),
                allocated_ram_bytes=_int_or_none(row.get("allocated_ram_bytes")),
                allocated_vram_bytes=_int_or_none(row.get("allocated_vram_bytes")),
                perplexity=_number(row.get("perplexity")),
                perplexity_error=_number(row.get("perplexity_error")),
                kl_divergence=_number(row.get("kl_divergence")),
                top1_agreement=_number(row.get("top1_agreement")),
                task_score=_number(row.get("task_score")),
                notes=tuple(n for n in (row.get("notes") or "").split("; ") if n),
                error=row.get("error") or "",
            )
        )
    return BenchResults(tuple(results))


def _put_spread(row: dict[str, Any], name: str, spread: Spread | None) -> None:
    # Byte counts are whole numbers; a median of two can fall between.
    cast = int if name.endswith("_bytes") else float
    row[name] = cast(spread.median) if spread else None
    row[f"{name}_min"] = cast(spread.low) if spread else None
    row[f"{name}_max"] = cast(spread.high) if spread else None


def _get_spread(row: dict[str, str], name: str) -> Spread | None:
    median = _number(row.get(name))
    if median is None:
        return None
    low = _number(row.get(f"{name}_min"))
    high = _number(row.get(f"{name}_max"))
    return Spread(median, median if low is None else low, median if high is None else high)


def _number(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    return float(text)


def _int_or_none(text: str | None) -> int | None:
    value = _number(text)
    return None if value is None else int(value)


def _median(spread: Spread | None) -> float | None:
    return spread.median if spread else None


def _bytes(spread: Spread | None) -> int | None:
    return int(spread.median) if spread else None
