"""The strip of gauges along the bottom of the window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QWidget

from ui.gauges.backend_badge import MAX_WIDTH as BADGE_MAX_WIDTH
from ui.gauges.backend_badge import BackendBadge
from ui.gauges.context_gauge import ContextGauge
from ui.gauges.memory_gauge import MemoryGauge
from ui.gauges.speed_gauge import SpeedGauge

if TYPE_CHECKING:
    from engine.chat.engine import LoadedModel
    from engine.context.budget import ContextBudget
    from engine.memory import MemorySnapshot
    from engine.remote import RemoteInfo
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
        # Fixed shares (the gauges ignore their text's width): speed's detail is the longest,
        # memory's next (all of it fits at the window's default width).
        layout.addWidget(self.speed, 5)
        layout.addWidget(_divider())
        layout.addWidget(self.context, 3)
        layout.addWidget(_divider())
        layout.addWidget(self.memory, 4)
        layout.addWidget(_divider())
        layout.addSpacing(8)
        layout.addWidget(self.backend, 0, Qt.AlignmentFlag.AlignVCenter)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        # A narrow window shortens the badge first: the gauges' values stay whole.
        self.backend.setMaximumWidth(min(BADGE_MAX_WIDTH, self.width() // 4))
        super().resizeEvent(event)

    # What happened

    def reply_started(self, waiting_for: str = "reading the prompt") -> None:
        self.speed.reply_started(waiting_for)

    def reply_waiting_for(self, what: str) -> None:
        self.speed.waiting_for(what)

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

        self.context.set_estimated("")
        self.context.set_window_assumed("")
        if loaded is None:
            self.backend.clear_backend()
            self.memory.set_model_size(0)
            return
        self.backend.show_model(loaded)
        self.memory.set_model_size(loaded.report.model.file_size)
        self.context.show_budget(ContextBudget(n_ctx=loaded.report.n_ctx))

    def show_remote(self, info: RemoteInfo) -> None:
        """A model on a server: the badge names it, the context bar takes its window (its
        counts marked as estimated where the server cannot count them), memory is this
        computer's only."""
        from engine.context.budget import ContextBudget

        self.backend.show_remote(info)
        self.memory.set_remote(info.host)
        self.context.set_estimated("" if info.token_counts_exact else info.tokenizer)
        self.context.set_window_assumed(
            "The server does not say its window; this size is assumed. Set it in the server's "
            "entry (Models → Edit server…)." if info.window_assumed else ""
        )  # fmt: skip
        self.context.show_budget(ContextBudget(n_ctx=info.n_ctx))
