"""The strip of gauges along the bottom of the window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QWidget

from ui.gauges.backend_badge import BackendBadge
from ui.gauges.context_gauge import ContextGauge
from ui.gauges.memory_gauge import MemoryGauge
from ui.gauges.speed_gauge import SpeedGauge

if TYPE_CHECKING:
    from engine.chat.engine import LoadedModel
    from engine.context.budget import ContextBudget
    from engine.memory import MemorySnapshot
    from engine.stats import GenerationStats


def _divider() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setStyleSheet("color: rgba(128,128,128,60);")
    return line


class GaugeBar(QWidget):
    """Speed, context, memory and where the model runs; the app tells it what happened."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GaugeBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.speed = SpeedGauge(self)
        self.context = ContextGauge(self)
        self.memory = MemoryGauge(self)
        self.backend = BackendBadge(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 10, 2)
        layout.setSpacing(0)
        layout.addWidget(self.speed, 3)
        layout.addWidget(_divider())
        layout.addWidget(self.context, 3)
        layout.addWidget(_divider())
        layout.addWidget(self.memory, 3)
        layout.addWidget(_divider())
        layout.addSpacing(8)
        layout.addWidget(self.backend, 0, Qt.AlignmentFlag.AlignVCenter)

    # What happened

    def reply_started(self) -> None:
        self.speed.reply_started()

    def tokens_arrived(self, count: int) -> None:
        self.speed.tokens_arrived(count)

    def reply_finished(self, stats: GenerationStats | None) -> None:
        """A reply ended with `stats` (None when it failed)."""
        self.speed.reply_finished(stats)

    def show_budget(self, budget: ContextBudget, notice: str = "") -> None:
        self.context.show_budget(budget, notice)

    def show_snapshot(self, snapshot: MemorySnapshot) -> None:
        self.memory.show_snapshot(snapshot)

    def show_model(self, loaded: LoadedModel | None) -> None:
        """The loaded model's device and size; None: no model."""
        from engine.context.budget import ContextBudget

        if loaded is None:
            self.backend.clear_backend()
            self.memory.set_model_size(0)
            return
        self.backend.show_model(loaded)
        self.memory.set_model_size(loaded.report.model.file_size)
        self.context.show_budget(ContextBudget(n_ctx=loaded.report.n_ctx))
