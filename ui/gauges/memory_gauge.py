"""Memory: what Hearth uses, what the system has left, VRAM where there is a GPU, model size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from ui.format import size
from ui.gauges.gauge import SEPARATOR, Gauge

if TYPE_CHECKING:
    from engine.memory import MemorySnapshot


def used_of(used: int, total: int) -> str:
    """Used of total, with the unit once when both sizes share it ("2.1 / 25.3 GB"): the gauge
    has little room."""
    used_text, total_text = size(used), size(total)
    number, _, unit = used_text.partition(" ")
    if total_text.endswith(f" {unit}"):
        return f"{number} / {total_text}"
    return f"{used_text} / {total_text}"


class MemoryGauge(Gauge):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Memory", parent)
        self.model_bytes = 0
        self.remote_host = ""

    def set_model_size(self, num_bytes: int) -> None:
        self.model_bytes = num_bytes
        self.remote_host = ""

    def set_remote(self, host: str) -> None:
        """The model runs on `host`: what this gauge shows is this computer's alone."""
        self.model_bytes = 0
        self.remote_host = host

    def show_snapshot(self, snapshot: MemorySnapshot) -> None:
        """What Hearth uses (window, model and document indexer), RAM and VRAM left."""
        self.value.setText(f"{size(snapshot.app_rss)} app")
        parts = [f"RAM {used_of(snapshot.ram_used, snapshot.ram_total)}"]
        if snapshot.vram_total:
            parts.append(f"VRAM {used_of(snapshot.vram_used, snapshot.vram_total)}")
        if self.model_bytes:
            parts.append(f"model {size(self.model_bytes)}")
        self.detail.setText(SEPARATOR.join(parts))
        tip = [f"Hearth: {size(snapshot.app_rss)}"]
        if snapshot.helpers_rss:
            tip.append(f"  window and model: {size(snapshot.process_rss)}")
            tip.append(f"  document indexer: {size(snapshot.helpers_rss)}")
        tip.append(
            f"System RAM: {size(snapshot.ram_used)} used of {size(snapshot.ram_total)}"
            f" ({size(snapshot.ram_available)} available)"
        )
        for gpu in snapshot.gpus:
            tip.append(f"{gpu.name}: {size(gpu.used)} of {size(gpu.total)} VRAM")
        if self.model_bytes:
            tip.append(f"Model file: {size(self.model_bytes)}")
        if self.remote_host:
            tip.append(f"The model runs on {self.remote_host}; its memory is not counted here.")
        self.setToolTip("\n".join(tip))
