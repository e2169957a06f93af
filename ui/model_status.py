"""The model button in the title row: which model is loaded, or loading progress, or a problem."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QWidget

from ui.elided_label import ElidedButton
from ui.format import plain_tip

MIN_CHARS = 18  # the button shrinks no narrower than about this many characters
NAME_CHARS = 4  # ... and keeps this many of them for the name (ElidedButton drops fewer)


class ModelStatus(QWidget):
    """Signals: clicked() opens the model picker."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A long model name is cut short in its middle when the title row is short of room.
        self.button = ElidedButton("No model", min_chars=MIN_CHARS)
        self.button.setToolTip("Choose, import or load a model")
        self.button.setAccessibleName("Model: none loaded")
        self.button.setAccessibleDescription("Opens the list of models to choose, import or load")
        self.button.clicked.connect(self.clicked)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setFixedWidth(80)
        self.bar.setTextVisible(False)
        self.bar.setVisible(False)
        self.bar.setAccessibleName("Loading the model")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.bar)
        self._started = 0.0
        self._name = ""
        self._verb = "Loading"
        self._tick = QTimer(self, interval=200)
        self._tick.timeout.connect(self._on_tick)
        self.state = "none"

    def set_loading(self, name: str, verb: str = "Loading") -> None:
        """Progress while `name` loads (or, with `verb` "Connecting to", while a server answers)."""
        self.state = "loading"
        self._name = name
        self._verb = verb
        self.button.setAccessibleName(f"Model: {verb.lower()} {name}")
        self._started = time.perf_counter()
        self.bar.setVisible(True)
        self._tick.start()
        self._on_tick()

    def set_loaded(self, name: str, detail: str = "") -> None:
        self.state = "loaded"
        self._tick.stop()
        self.bar.setVisible(False)
        self.button.set_name(name, after="  ▾")
        self.button.setToolTip(plain_tip(detail or name))
        self.button.setAccessibleName(f"Model: {name}")
        self.button.setAccessibleDescription(detail or name)

    def set_failed(self, previous: str | None) -> None:
        self._tick.stop()
        self.bar.setVisible(False)
        if previous:
            self.state = "loaded"
            self.button.set_name(previous, after="  ▾")
            self.button.setAccessibleName(f"Model: {previous}")
        else:
            self.state = "none"
            self.button.setText("No model  ▾")
            self.button.setAccessibleName("Model: none loaded")

    def set_paused(self, name: str, reason: str) -> None:
        """The model is set aside for a while (`reason`: "paused for a benchmark") and will be
        back. The button says as many of the reason's first words as fit beside the name at its
        narrowest ("paused"), never a cut word; the tooltip says all of it."""
        self.state = "paused"
        self._tick.stop()
        self.bar.setVisible(False)
        self.button.set_name(name, after=f": {self._short(reason)}  ▾")
        self.button.setToolTip(plain_tip(f"{name}: {reason}"))
        self.button.setAccessibleName(f"Model: {name}, {reason}")

    def _short(self, reason: str) -> str:
        """The reason's leading whole words that fit the button at its narrowest (the first
        word at least): only the name is ever cut, so all of them always show."""
        metrics = self.button.fontMetrics()
        room = metrics.averageCharWidth() * (MIN_CHARS - NAME_CHARS)
        words = reason.split()
        shown = words[:1]
        for word in words[1:]:
            if metrics.horizontalAdvance(f": {' '.join([*shown, word])}  ▾") > room:
                break
            shown.append(word)
        return " ".join(shown)

    def set_unloaded(self) -> None:
        self.state = "none"
        self._tick.stop()
        self.bar.setVisible(False)
        self.button.setText("No model  ▾")
        self.button.setAccessibleName("Model: none loaded")

    def _on_tick(self) -> None:
        elapsed = time.perf_counter() - self._started
        self.button.set_name(self._name, f"{self._verb} ", f"… {elapsed:.1f} s")
