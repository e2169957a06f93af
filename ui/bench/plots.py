"""The results as pictures (pyqtgraph): speed against quality with the Pareto front, memory
against the context window, and generation speed per variant with its min–max range.

Each figure names the backend its numbers come from. Colours follow the light or dark theme: the
figures are drawn again when the palette changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.lab.decide import metric_value, speed_quality_points

if TYPE_CHECKING:
    from engine.lab.results import ModelResult
    from ui.bench.records import BenchView

GB = 1e9  # decimal, as the lab's constraints and recommendations count
SERIES = ("#c2410c", "#2563eb", "#059669", "#7c3aed", "#db2777", "#ca8a04", "#0891b2", "#64748b")
METRIC_AXIS = {
    "kl_divergence": "KL divergence from the reference (nats, lower is better)",
    "perplexity": "Perplexity (lower is better)",
    "task_score": "Task score (share answered, higher is better)",
}

pg.setConfigOptions(antialias=True)


def _colours() -> tuple[QColor, QColor, QColor]:
    """(background, text, grid) from the application's palette."""
    palette = QApplication.palette()
    background = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    grid = QColor(text)
    grid.setAlphaF(0.25)
    return background, text, grid


def backends(results: Sequence[ModelResult]) -> str:
    """Where the figures were measured, in words: one backend, or each variant's."""
    measured = [r for r in results if not r.error and r.backend]
    names = list(dict.fromkeys(r.backend for r in measured))
    if not names:
        return "Nothing was measured."
    if len(names) == 1:
        return f"Measured on {names[0]}."
    return "Measured on " + "; ".join(f"{r.label}: {r.backend}" for r in measured) + "."


def short_labels(results: Sequence[ModelResult]) -> list[str]:
    """Names for points and bars: the quantization type when it tells the rows apart."""
    types = [r.file_type for r in results]
    configs = {r.config for r in results}
    if len(set(types)) == len(types) and len(configs) == 1:
        return types
    return [r.label.removesuffix(".gguf") for r in results]


class Figure(QWidget):
    """One plot with its caption (what it shows and where it was measured)."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setAccessibleName(name)
        self.plot_widget.setMinimumHeight(260)
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for side in ("bottom", "left"):
            # Units are in the label, never a scaled axis ("x0.001"). Turned off here, before the
            # label shows: pyqtgraph's enableAutoSIPrefix(False) still applies a prefix once
            # when called with a visible label (KL divergences of 0.02 were drawn as 20).
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.caption.setObjectName("Muted")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption)

    def legend_beside(self) -> None:
        """Put the legend to the right of the plot, outside the data: for figures whose points
        can fall in any corner."""
        legend = pg.LegendItem()
        legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # its rows' size
        self.plot.layout.addItem(legend, 2, 3, Qt.AlignmentFlag.AlignTop)
        self.plot.legend = legend

    def reset(
        self, x_label: str, y_label: str, legend_at: tuple[int, int] | None = (-10, 10)
    ) -> pg.LegendItem:
        """Clear the plot, colour it for the theme, label both axes; returns its empty legend.

        Args:
            legend_at: The legend's offset from a corner of the data the points leave free;
                None for a legend put beside the plot (`legend_beside`).
        """
        background, text, grid = _colours()
        self.plot.clear()
        if self.plot.legend is None:
            self.plot.addLegend(offset=(-10, 10))
        legend = self.plot.legend
        legend.clear()
        legend.setLabelTextColor(text)
        legend.setBrush(pg.mkBrush(background))
        legend.setPen(pg.mkPen(grid))
        legend.setVisible(True)
        if legend_at is not None:
            legend.setOffset(legend_at)
        self.plot_widget.setBackground(background)
        font = QFont()
        font.setPointSizeF(9.5)
        for side, label in (("bottom", x_label), ("left", y_label)):
            axis = self.plot.getAxis(side)
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
            axis.setTickFont(font)
            axis.setTicks(None)
            self.plot.setLabel(side, label, color=text.name(), **{"font-size": "10pt"})
        self.plot.showGrid(x=True, y=True, alpha=0.12)
        return legend

    def say(self, text: str) -> None:
        """Show `text` in the middle of an empty plot (nothing to draw)."""
        _background, colour, _grid = _colours()
        item = pg.TextItem(text, color=colour, anchor=(0.5, 0.5))
        self.plot.addItem(item)
        item.setPos(0.5, 0.5)
        self.plot.setXRange(0, 1)
        self.plot.setYRange(0, 1)


class SpeedQualityFigure(Figure):
    """Generation speed against quality; the Pareto front filled and joined, the rest hollow."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Speed against quality", parent)
        self.points = pg.ScatterPlotItem()
        self.front_points = pg.ScatterPlotItem()
        self.labels: list[pg.TextItem] = []

    def draw(self, view: BenchView) -> None:
        rows = list(view.results.results)
        metric = view.metric
        # Slow and far from the reference is where no variant worth having sits.
        axis = METRIC_AXIS.get(metric or "", "Quality")
        if metric is None and view.quality_note:
            axis = "Quality (not comparable: the models have different vocabularies)"
        self.reset(axis, "Generation speed (tokens/s)", legend_at=(-10, -10))
        self.points = pg.ScatterPlotItem()
        self.front_points = pg.ScatterPlotItem()
        self.labels = []
        # The rows with a speed and a comparable figure; the others are named in the caption,
        # on a line of their own.
        usable, left_off = speed_quality_points(rows, metric)
        better = "up and to the right" if metric == "task_score" else "up and to the left"
        self.caption.setText(
            f"Better is {better}. ◆ The Pareto front: no other variant is both faster and better. "
            "Whiskers: slowest and fastest run. " + backends(rows)
            + "".join(f"\n{sentence}" for sentence in left_off)
        )  # fmt: skip
        if not usable:
            if self.plot.legend is not None:
                self.plot.legend.setVisible(False)  # nothing drawn: no empty box either
            if view.quality_note and not left_off:
                self.caption.setText(f"{view.quality_note} {backends(rows)}")
                self.say("Quality is not comparable across vocabularies.")
            else:
                self.say("Measure speed and quality to compare them here.")
            return
        _background, text, _grid = _colours()
        labels = short_labels(rows)
        xs = [metric_value(rows[i], metric or "") or 0.0 for i in usable]
        ys = [self._speed(rows[i]) for i in usable]
        low = [ys[k] - rows[i].gen_tokens_per_s.low for k, i in enumerate(usable)]  # type: ignore[union-attr]
        high = [rows[i].gen_tokens_per_s.high - ys[k] for k, i in enumerate(usable)]  # type: ignore[union-attr]
        self.plot.addItem(pg.ErrorBarItem(x=np.array(xs), y=np.array(ys), top=np.array(high),
                                          bottom=np.array(low), beam=0,
                                          pen=pg.mkPen(text, width=1)))  # fmt: skip
        accent = QColor(SERIES[0])
        others = [k for k, i in enumerate(usable) if i not in view.front]
        self.points = pg.ScatterPlotItem(
            x=[xs[k] for k in others], y=[ys[k] for k in others], size=11, symbol="o",
            pen=pg.mkPen(SERIES[1], width=2), brush=pg.mkBrush(None), name="Variant",
        )  # fmt: skip
        front = sorted((k for k, i in enumerate(usable) if i in view.front), key=lambda k: xs[k])
        if len(front) > 1:
            self.plot.addItem(pg.PlotDataItem([xs[k] for k in front], [ys[k] for k in front],
                                              pen=pg.mkPen(accent, width=2, style=Qt.PenStyle.DashLine)))  # fmt: skip
        self.front_points = pg.ScatterPlotItem(
            x=[xs[k] for k in front], y=[ys[k] for k in front], size=14, symbol="d",
            pen=pg.mkPen(accent.darker(130), width=1), brush=pg.mkBrush(accent), name="Pareto front",
        )  # fmt: skip
        self.plot.addItem(self.points)
        self.plot.addItem(self.front_points)
        if view.choice is not None and view.choice in usable:
            k = usable.index(view.choice)
            self.plot.addItem(pg.ScatterPlotItem(
                x=[xs[k]], y=[ys[k]], size=24, symbol="o", pen=pg.mkPen(accent, width=2),
                brush=pg.mkBrush(None), name="Recommended"))  # fmt: skip
        for k, i in enumerate(usable):
            label = pg.TextItem(labels[i], color=text, anchor=(-0.15, 1.1))
            label.setPos(xs[k], ys[k])
            self.plot.addItem(label)
            self.labels.append(label)
        self._pad(xs, ys)

    @staticmethod
    def _speed(result: ModelResult) -> float:
        assert result.gen_tokens_per_s is not None
        return result.gen_tokens_per_s.median

    def _pad(self, xs: list[float], ys: list[float]) -> None:
        """Room around the points for their names."""
        span_x = (max(xs) - min(xs)) or max(abs(max(xs)), 1e-3)
        span_y = (max(ys) - min(ys)) or max(abs(max(ys)), 1.0)
        self.plot.setXRange(min(xs) - 0.1 * span_x, max(xs) + 0.35 * span_x, padding=0)
        self.plot.setYRange(max(0.0, min(ys) - 0.25 * span_y), max(ys) + 0.3 * span_y, padding=0)


def _window(tokens: int) -> str:
    return f"{tokens // 1024}K" if tokens >= 1024 and tokens % 1024 == 0 else f"{tokens:,}"


class MemoryFigure(Figure):
    """The engine's memory estimate per context window, a line per variant, with the RAM each
    model used (its own, as the estimate counts it) at the window it was loaded with."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Memory against context length", parent)
        # Small models' lines and stars sit anywhere, the top-left corner included: a legend
        # inside the plot hid the measured peaks.
        self.legend_beside()
        self.curves: list[pg.PlotDataItem] = []
        self.measured = pg.ScatterPlotItem()

    def draw(self, view: BenchView) -> None:
        rows = [r for r in view.results.results if r.memory_by_context]
        self.reset("Context window (tokens, log scale)", "Memory (GB)", legend_at=None)
        self.curves = []
        self.measured = pg.ScatterPlotItem()
        self.caption.setText(
            "Lines: the engine's estimate of RAM + VRAM for each window. ★ RAM the model used, "
            "measured at the window the benchmark loaded. " + backends(view.results.results)
        )
        if not rows:
            self.say("No memory figures in these results.")
            return
        labels = short_labels(rows)
        windows: set[int] = set()
        spots = []
        for n, result in enumerate(rows):
            colour = SERIES[n % len(SERIES)]
            points = sorted(result.memory_by_context.items())
            windows.update(w for w, _ in points)
            curve = pg.PlotDataItem(
                [math.log2(w) for w, _ in points], [b / GB for _, b in points],
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                symbolBrush=pg.mkBrush(colour), symbolPen=pg.mkPen(colour), name=labels[n],
            )  # fmt: skip
            self.plot.addItem(curve)
            self.curves.append(curve)
            if result.ram_used is not None and result.n_ctx:
                windows.add(result.n_ctx)
                spots.append({"pos": (math.log2(result.n_ctx), result.ram_used.median / GB),
                              "brush": pg.mkBrush(colour), "pen": pg.mkPen(colour)})  # fmt: skip
        self.measured = pg.ScatterPlotItem(spots=spots, symbol="star", size=16,
                                           name="Measured RAM used")  # fmt: skip
        self.plot.addItem(self.measured)
        ticks = [(math.log2(w), _window(w)) for w in sorted(windows)]
        # Every other tick when they crowd.
        step = max(1, math.ceil(len(ticks) / 9))
        self.plot.getAxis("bottom").setTicks([ticks[::step], ticks])
        highest = max([max(c.yData) for c in self.curves] + [s["pos"][1] for s in spots])
        self.plot.setYRange(0, highest * 1.15, padding=0)


class SpeedBarsFigure(Figure):
    """Generation tokens/s per variant: the median as a bar, min–max as an error bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Generation speed per variant", parent)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        self.error_bars = pg.ErrorBarItem()
        self.heights: list[float] = []

    def draw(self, view: BenchView) -> None:
        rows = [r for r in view.results.results if not r.error and r.gen_tokens_per_s is not None]
        self.reset("", "Generation speed (tokens/s)")
        self.heights = []
        self.caption.setText(
            "Bars: median tokens/s; whiskers: slowest and fastest run. " + backends(rows)
        )
        if not rows:
            self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
            self.say("Measure speed to see it here.")
            return
        _background, text, _grid = _colours()
        labels = short_labels(rows)
        xs = list(range(len(rows)))
        spreads = [r.gen_tokens_per_s for r in rows]
        self.heights = [s.median for s in spreads if s is not None]
        brushes = [pg.mkBrush(SERIES[i % len(SERIES)]) for i in xs]
        self.bars = pg.BarGraphItem(x=np.array(xs), height=np.array(self.heights), width=0.6,
                                    brushes=brushes, pen=pg.mkPen(None))  # fmt: skip
        self.plot.addItem(self.bars)
        self.error_bars = pg.ErrorBarItem(
            x=np.array(xs), y=np.array(self.heights),
            top=np.array([s.high - s.median for s in spreads if s is not None]),
            bottom=np.array([s.median - s.low for s in spreads if s is not None]),
            beam=0.2, pen=pg.mkPen(text, width=1.5),
        )  # fmt: skip
        self.plot.addItem(self.error_bars)
        top = max(s.high for s in spreads if s is not None)
        for x, height in zip(xs, self.heights, strict=True):
            value = pg.TextItem(f"{height:.1f}", color=text, anchor=(0.5, 1.2))
            value.setPos(x, height)
            self.plot.addItem(value)
        self.plot.getAxis("bottom").setTicks([list(zip(xs, labels, strict=True))])
        self.plot.setXRange(-0.6, len(rows) - 0.4, padding=0)
        self.plot.setYRange(0, top * 1.2, padding=0)
        self.plot.showGrid(x=False, y=True, alpha=0.12)
        if self.plot.legend is not None:
            self.plot.legend.setVisible(False)


class BenchPlots(QTabWidget):
    """The three figures as tabs; `draw(view)` draws them all."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Figures")
        self.speed_quality = SpeedQualityFigure()
        self.memory = MemoryFigure()
        self.speed_bars = SpeedBarsFigure()
        self.addTab(self.speed_quality, "Speed vs quality")
        self.addTab(self.memory, "Memory vs context")
        self.addTab(self.speed_bars, "Tokens/s per variant")
        self._view: BenchView | None = None

    def draw(self, view: BenchView | None) -> None:
        self._view = view
        if view is None:
            return
        for figure in (self.speed_quality, self.memory, self.speed_bars):
            figure.draw(view)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._view is not None:
            # The figures follow the light or dark theme, once the palette change is through.
            QTimer.singleShot(0, lambda: self.draw(self._view))

    def figures(self) -> list[Any]:
        return [self.speed_quality, self.memory, self.speed_bars]
