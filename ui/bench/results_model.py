"""The results table: one row per model and setting, medians in the cells, ranges in the tooltips."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from engine.display import counted
from engine.lab.results import TTFT_FORMAT
from engine.storage import size_text
from ui.records_model import RecordsModel

if TYPE_CHECKING:
    from engine.lab.results import ModelResult, Spread
    from ui.bench.records import BenchView

Index = QModelIndex | QPersistentModelIndex
VALUE_ROLE = Qt.ItemDataRole.UserRole  # the number behind a cell (None: not measured)


def _spread_text(spread: Spread | None, fmt: str) -> str:
    return "–" if spread is None else fmt.format(spread.median)


def _spread_tip(spread: Spread | None, fmt: str, unit: str) -> str:
    if spread is None:
        return "Not measured"
    runs = len(spread.samples)
    text = f"median {fmt.format(spread.median)} {unit}".rstrip()
    if runs > 1:
        text += f", min {fmt.format(spread.low)}, max {fmt.format(spread.high)} over {runs} runs"
    return text


def _bytes_cell(spread: Spread | None) -> str:
    return "–" if spread is None else size_text(spread.median)


def _ram_tip(result: ModelResult) -> str:
    """The model's own memory, with the process peak and the estimate beside it."""
    used = result.ram_used
    if used is None:
        return "Not measured"
    parts = [f"The model raised this process's memory by {size_text(used.median)}"]
    if result.model_ram_bytes is None:  # results saved before the model's own was measured
        parts = [f"Peak memory of the whole process: {size_text(used.median)}"]
    elif result.peak_ram_bytes is not None:
        parts.append(f"the whole process peaked at {size_text(result.peak_ram_bytes.median)}")
    if result.estimated_ram_bytes:
        parts.append(f"the engine estimated {size_text(result.estimated_ram_bytes)}")
    return "; ".join(parts)


def _perplexity_text(result: ModelResult) -> str:
    if result.perplexity is None:
        return "–"
    mark = " ≠" if result.quality_standing == "not comparable" else ""
    return f"{result.perplexity:.3f}{mark}"


def _perplexity_tip(result: ModelResult) -> str:
    if result.perplexity is None:
        return "Not measured"
    error = result.perplexity_error or 0
    tip = (f"{result.perplexity:.3f} ± {error:.3f} over "
           f"{counted(result.quality_tokens, 'token')}")  # fmt: skip
    if result.quality_standing == "not comparable":
        tip += f"\n≠ Not comparable with the reference's. {_not_comparable(result)}"
    return tip


def _not_comparable(result: ModelResult) -> str:
    return result.quality_note or "It has another vocabulary than the reference."


def _against_reference(name: str, fmt: str, unit: str = "") -> Callable[[Any], str]:
    """Cell text of a figure measured against the reference: "reference" in the reference's
    own row (not a perfect score), "not comparable" for another vocabulary."""

    def text(result: ModelResult) -> str:
        standing = result.quality_standing
        if standing in ("reference", "not comparable"):
            return standing
        figure = getattr(result, name)
        return "–" if figure is None else fmt.format(figure) + unit

    return text


def _against_reference_tip(name: str, fmt: str, unit: str = "") -> Callable[[Any], str]:
    def tip(result: ModelResult) -> str:
        standing = result.quality_standing
        if standing == "reference":
            return "The reference: the others are measured against this model"
        if standing == "not comparable":
            return _not_comparable(result)
        figure = getattr(result, name)
        return "Not measured" if figure is None else fmt.format(figure) + unit

    return tip


def _against_reference_value(name: str) -> Callable[[Any], Any]:
    """Sort value: only figures that compare (the reference's own 0 and 1 do)."""
    return lambda r: None if r.quality_standing == "not comparable" else getattr(r, name)


# (heading, header tooltip, cell text, cell tooltip, sort value) per column.
Column = tuple[str, str, Callable[[Any], str], Callable[[Any], str], Callable[[Any], Any]]
COLUMNS: tuple[Column, ...] = (
    ("Model", "File name; ◆ marks the speed/quality Pareto front",
     lambda r: r.label.replace(".gguf", ""), lambda r: f"{r.label}\n{r.model}", lambda r: r.label),
    ("Type", "Quantization type", lambda r: r.file_type, lambda r: r.file_type,
     lambda r: r.file_type),
    ("Backend", "Where every figure of the row was measured", lambda r: r.error and "failed" or r.backend,
     lambda r: r.error or r.backend, lambda r: r.backend),
    ("Load\n(s)", "Seconds to load the model", lambda r: _spread_text(r.load_s, "{:.2f}"),
     lambda r: _spread_tip(r.load_s, "{:.2f}", "s"), lambda r: r.load_s and r.load_s.median),
    ("Prompt\n(tok/s)", "Prompt processing (prefill) at the shortest prompt length",
     lambda r: _spread_text(r.prompt_speed, "{:.0f}"),
     lambda r: _spread_tip(r.prompt_speed, "{:.0f}", "tokens/s"),
     lambda r: r.prompt_speed and r.prompt_speed.median),
    ("Generation\n(tok/s)", "Tokens generated per second",
     lambda r: _spread_text(r.gen_tokens_per_s, "{:.1f}"),
     lambda r: _spread_tip(r.gen_tokens_per_s, "{:.1f}", "tokens/s"),
     lambda r: r.gen_tokens_per_s and r.gen_tokens_per_s.median),
    ("TTFT\n(s)", "Time to first token after the prompt, in seconds",
     lambda r: _spread_text(r.ttft_s, TTFT_FORMAT),
     lambda r: _spread_tip(r.ttft_s, TTFT_FORMAT, "s"), lambda r: r.ttft_s and r.ttft_s.median),
    ("RAM\nused", "How far loading and running the model raised memory: the model's own, "
     "whichever program runs it (hover a cell for the whole process's peak)",
     lambda r: _bytes_cell(r.ram_used), _ram_tip,
     lambda r: r.ram_used and r.ram_used.median),
    ("Perplexity", "Perplexity on the text (lower is better); ≠ marks a model of another "
     "vocabulary than the reference's, whose perplexity does not compare with the others'",
     _perplexity_text, _perplexity_tip, _against_reference_value("perplexity")),
    ("KL\ndivergence", "Mean KL divergence from the reference, in nats (lower is better); only "
     "for models of the reference's vocabulary",
     _against_reference("kl_divergence", "{:.4f}"),
     _against_reference_tip("kl_divergence", "{:.5f}", " nats"),
     _against_reference_value("kl_divergence")),
    ("Top-1", "How often the most likely next token is the reference's; only for models of the "
     "reference's vocabulary",
     _against_reference("top1_agreement", "{:.1%}"),
     _against_reference_tip("top1_agreement", "{:.2%}"),
     _against_reference_value("top1_agreement")),
)  # fmt: skip


class ResultsModel(RecordsModel["ModelResult"]):
    """Rows of `ModelResult`; the Pareto front is marked and the recommended row is bold."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__([c[0] for c in COLUMNS], [c[1] for c in COLUMNS], parent)
        self.front: frozenset[int] = frozenset()
        self.choice: int | None = None

    def show(self, view: BenchView) -> None:
        self.front = frozenset(view.front)
        self.choice = view.choice
        self.set_rows(view.results.results)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        result: ModelResult = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            text = column[2](result)
            if index.column() == 0 and index.row() in self.front:
                text = "◆ " + text
            return text
        if role == Qt.ItemDataRole.ToolTipRole:
            return column[3](result)
        if role == VALUE_ROLE:
            return column[4](result)
        if role == Qt.ItemDataRole.FontRole and index.row() == self.choice:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def cell_texts(self) -> list[list[str]]:
        """Every cell as shown, row by row (what a person reads; tests compare it)."""
        return [
            [str(self.data(self.index(r, c))) for c in range(self.columnCount())]
            for r in range(self.rowCount())
        ]
