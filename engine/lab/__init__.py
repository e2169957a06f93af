"""The benchmark lab: make quantized variants of a model and measure them side by side.

Modules, from the bottom up (plain dataclasses and generators, no Qt):

- `events`: progress (step, fraction, time left) and notices that every lab job yields.
- `quantize`: llama.cpp's quantizer in a child process (progress, stop, no partial files).
- `evaluate`: decoding tokens on a loaded model through llama.cpp's C API, with all logits.
- `speed`: prompt processing, generation and time to first token, as llama-bench measures them.
- `quality`: perplexity, KL divergence and top-1 agreement, as llama-perplexity measures them.
- `vocab`: a model's vocabulary: quality compares only between models that share one.
- `peak`: peak RAM and VRAM while a block runs.
- `task`: a task score from a question file and the document library.
- `plan`: what to measure (`BenchPlan`) and the steps it becomes on this machine.
- `runner`: `run_bench`, the generator that runs a plan and ends with `BenchResults`.
- `results`: the records a table and plots read, saved as JSON and CSV and reopened.
- `decide`: the speed/quality Pareto front and a recommendation under a constraint; whether the
  quality figures compare at all (`quality_comparable`), and among which models.
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.lab.decide import (
        Constraint,
        Recommendation,
        incomparable_reason,
        pareto_front,
        parse_constraint,
        quality_comparable,
        quality_metric,
        recommend,
    )
    from engine.lab.events import LabCancelled, LabNotice, LabProgress
    from engine.lab.plan import BenchPlan, PreparedPlan, RunConfig, prepare, sample_text_path
    from engine.lab.quality import QualitySettings
    from engine.lab.quantize import (
        QUANT_TYPES,
        QuantizeRequest,
        QuantizeResult,
        check_request,
        default_target,
    )
    from engine.lab.results import COLUMNS, BenchResults, ModelResult, Spread, load_results
    from engine.lab.runner import run_bench
    from engine.lab.task import TaskItem, TaskQuestion, load_questions, prepare_task

_EXPORTS = {
    "Constraint": "decide",
    "Recommendation": "decide",
    "incomparable_reason": "decide",
    "pareto_front": "decide",
    "parse_constraint": "decide",
    "quality_comparable": "decide",
    "quality_metric": "decide",
    "recommend": "decide",
    "LabCancelled": "events",
    "LabNotice": "events",
    "LabProgress": "events",
    "BenchPlan": "plan",
    "PreparedPlan": "plan",
    "RunConfig": "plan",
    "prepare": "plan",
    "sample_text_path": "plan",
    "QualitySettings": "quality",
    "QUANT_TYPES": "quantize",
    "QuantizeRequest": "quantize",
    "QuantizeResult": "quantize",
    "check_request": "quantize",
    "default_target": "quantize",
    "COLUMNS": "results",
    "BenchResults": "results",
    "ModelResult": "results",
    "Spread": "results",
    "load_results": "results",
    "run_bench": "runner",
    "TaskItem": "task",
    "TaskQuestion": "task",
    "load_questions": "task",
    "prepare_task": "task",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "COLUMNS",
    "QUANT_TYPES",
    "BenchPlan",
    "BenchResults",
    "Constraint",
    "LabCancelled",
    "LabNotice",
    "LabProgress",
    "ModelResult",
    "PreparedPlan",
    "QualitySettings",
    "QuantizeRequest",
    "QuantizeResult",
    "Recommendation",
    "RunConfig",
    "Spread",
    "TaskItem",
    "TaskQuestion",
    "check_request",
    "default_target",
    "incomparable_reason",
    "load_questions",
    "load_results",
    "pareto_front",
    "parse_constraint",
    "prepare",
    "prepare_task",
    "quality_comparable",
    "quality_metric",
    "recommend",
    "run_bench",
    "sample_text_path",
]
