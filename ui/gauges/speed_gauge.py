"""Generation speed: live tokens/s while a reply streams (with a history line), then the last
reply's prompt speed and time to first token."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from ui.format import rate, seconds
from ui.gauges.gauge import Gauge
from ui.gauges.sparkline import Sparkline

if TYPE_CHECKING:
    from engine.stats import GenerationStats

_TICK_MS = 250
# Fewer prompt tokens evaluated than this, with most of the prompt from the KV cache, give no
# speed worth showing: one token in 0.09 s would read "11 tok/s".
MIN_RATE_TOKENS = 32
MOSTLY_CACHED = 0.9


class SpeedGauge(Gauge):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Speed", parent)
        self.sparkline = Sparkline(parent=self)
        self.row.insertWidget(1, self.sparkline)
        self.value.setText("idle")
        self._started = 0.0
        self._first = 0.0
        self._tokens = 0
        self._window_tokens = 0
        self._tick = QTimer(self, interval=_TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self.live_rate = 0.0

    def reply_started(self, waiting_for: str = "reading the prompt") -> None:
        """A reply was asked for; `waiting_for` says what comes before its first token."""
        self._started = time.perf_counter()
        self._first = 0.0
        self._tokens = 0
        self._window_tokens = 0
        self.sparkline.clear()
        self.value.setText("thinking…")
        self.detail.setText(waiting_for)
        self._tick.start()

    def waiting_for(self, what: str) -> None:
        """What the reply waits for now, until its first token ("reading the prompt")."""
        if not self._first:
            self.detail.setText(what)

    def tokens_arrived(self, count: int) -> None:
        if not self._first:
            self._first = time.perf_counter()
            self.detail.setText(f"first token {seconds(self._first - self._started)}")
        self._tokens += count
        self._window_tokens += count

    def reply_finished(self, stats: GenerationStats | None) -> None:
        """The last reply's speed, prompt speed and time to first token (None: it failed)."""
        self._tick.stop()
        speed = stats.generation_tokens_per_s if stats is not None else 0.0
        self.live_rate = speed
        self.value.setText(rate(speed) if speed else "idle")
        if stats is None:
            self.detail.setText("")
            self.setToolTip("")
            return
        parts = []
        if stats.generated_tokens:
            parts.append(f"first token {seconds(stats.ttft_s)}")
        cached = stats.cached_tokens >= MOSTLY_CACHED * stats.prompt_tokens > 0
        if cached and stats.evaluated_tokens < MIN_RATE_TOKENS:
            parts.append("prompt cached")
        elif stats.prompt_tokens_per_s:
            parts.append(f"prompt {rate(stats.prompt_tokens_per_s)}")
        self.detail.setText(" · ".join(parts))
        self.setToolTip(
            f"Last reply: {stats.generated_tokens} tokens at {rate(speed)}\n"
            f"Prompt: {stats.prompt_tokens} tokens, {stats.cached_tokens} reused from cache"
        )

    def _on_tick(self) -> None:
        if not self._first:
            return
        now_rate = self._window_tokens * 1000 / _TICK_MS
        self._window_tokens = 0
        self.sparkline.add(now_rate)
        elapsed = time.perf_counter() - self._first
        self.live_rate = self._tokens / elapsed if elapsed > 0.2 else now_rate
        self.value.setText(rate(self.live_rate))
