"""Where the model runs: CPU or GPU name, layers offloaded, threads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from engine.chat.engine import LoadedModel


class BackendBadge(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("no model", parent)
        self.setObjectName("Badge")

    def show_model(self, loaded: LoadedModel) -> None:
        """Where the loaded model runs: device, layers on the GPU, CPU threads, and notes."""
        report = loaded.report
        layers, total = report.n_gpu_layers, loaded.total_layers
        text = f"{loaded.device} · {layers}/{total} layers" if layers > 0 else "CPU"
        text += f" · {report.n_threads} threads"
        self.setText(text)
        tip = [
            f"Runs on: {loaded.device}",
            f"GPU layers: {layers} of {total}",
            f"CPU threads: {report.n_threads}",
            *loaded.notes,
        ]
        self.setToolTip("\n".join(tip))

    def clear_backend(self, text: str = "no model") -> None:
        self.setText(text)
        self.setToolTip("")
