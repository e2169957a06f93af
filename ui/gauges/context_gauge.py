"""The context window as one bar split by part: system, documents, history, reply reserve, free.

Exact numbers are in the tooltip; a line under the bar says when a policy dropped or summarized text.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from ui.format import count
from ui.gauges.gauge import Gauge

if TYPE_CHECKING:
    from engine.context.budget import ContextBudget

PARTS = (
    ("system", "System prompt", "#64748b"),
    ("documents", "Documents", "#ea580c"),
    ("history", "Conversation", "#2563eb"),
    ("reply_reserve", "Reply reserve", "#a855f7"),
)


class ContextBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parts: dict[str, int] = {}
        self.total = 0
        self.setMinimumSize(QSize(40, 10))  # a narrow window keeps the numbers beside it whole
        self.setMaximumHeight(10)

    def set_usage(self, parts: dict[str, int], total: int) -> None:
        self.parts, self.total = parts, total
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        free = QColor(self.palette().mid().color())
        free.setAlpha(90)
        painter.setPen(QColor(0, 0, 0, 0))
        painter.setBrush(free)
        painter.drawRoundedRect(rect, 4, 4)
        if not self.total:
            return
        x = rect.left()
        painter.setClipRect(rect)
        for key, _label, colour in PARTS:
            width = rect.width() * min(1.0, self.parts.get(key, 0) / self.total)
            if width <= 0:
                continue
            painter.setBrush(QColor(colour))
            painter.drawRect(QRectF(x, rect.top(), width, rect.height()))
            x += width


def segments(budget: ContextBudget) -> dict[str, int]:
    """Tokens per bar segment (see PARTS): pinned material counts as system, the summary, kept
    history, the new message and the reply so far as conversation."""
    return {
        "system": budget.system + budget.pinned,
        "documents": budget.documents,
        "history": budget.summary + budget.history + budget.message + budget.generated,
        "reply_reserve": budget.reserved,
    }


class ContextGauge(Gauge):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Context", parent)
        self.bar = ContextBar(self)
        self.row.insertWidget(0, self.bar, 1)
        self.detail.setVisible(False)  # shown with a notice only: the bar takes the space
        self.budget: ContextBudget | None = None
        self.notice = ""
        # Where token counts come from when they are not the model's own ("" when exact).
        self.estimate_source = ""
        # Why the window's size is only assumed ("" when the model or server gave it).
        self.window_assumed = ""

    def set_window_assumed(self, why: str) -> None:
        """Mark the window's size as a guess (`why` says so in words); "": it is known."""
        self.window_assumed = why
        if self.budget is not None:
            self.show_budget(self.budget, self.notice)

    def set_estimated(self, source: str) -> None:
        """Mark the counts as an estimate made on this computer (`source` says how); "": exact."""
        self.estimate_source = source
        if self.budget is not None:
            self.show_budget(self.budget, self.notice)

    def show_budget(self, budget: ContextBudget, notice: str = "") -> None:
        """How the window is used (`budget`), and what was left out to fit (`notice`)."""
        self.budget, self.notice = budget, notice
        total = budget.n_ctx
        parts = segments(budget)
        used = sum(parts.values())
        self.bar.set_usage(parts, total)
        about = "≈ " if self.estimate_source else ""
        guess = "?" if self.window_assumed else ""
        self.value.setText(f"{about}{count(used)} / {count(total)}{guess}" if total else "–")
        self.detail.setText(f"⚠ {notice}" if notice else "")
        self.detail.setVisible(bool(notice))
        lines = [f"<b>Context window: {total:,} tokens</b>"]
        if self.window_assumed:
            lines.append(f"<i>{html.escape(self.window_assumed)}</i>")
        for key, label, colour in PARTS:
            lines.append(f"<span style='color:{colour}'>■</span> {label}: {parts.get(key, 0):,}")
        lines.append(f"□ Free: {max(0, total - used):,}")
        if budget.prompt:
            lines.append("")
            lines += [
                f"system prompt: {budget.system:,}",
                f"pinned: {budget.pinned:,}",
                f"summary: {budget.summary:,}",
                f"history: {budget.history:,}",
                f"documents: {budget.documents:,}",
                f"new message: {budget.message:,}",
                f"reply so far: {budget.generated:,}",
                f"reply reserve: {budget.reserved:,}",
                f"free: {budget.free:,}",
                f"KV cache in use: {budget.kv_bytes_in_use / 2**20:.1f} MB "
                f"of {budget.kv_bytes_total / 2**20:.1f} MB",
            ]
        if self.estimate_source:
            lines.append(f"<br><i>Estimated counts: {self.estimate_source}</i>")
        if notice:
            lines.append(f"<br><b>{notice}</b>")
        self.setToolTip("<br>".join(lines))
        about = "About " if self.estimate_source else ""
        assumed = f" (assumed: {self.window_assumed})" if self.window_assumed else ""
        self.setAccessibleDescription(
            f"{about}{used:,} of {total:,}{assumed} tokens used. {notice}".strip()
        )
