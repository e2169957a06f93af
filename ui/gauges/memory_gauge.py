"""Memory: what Hearth uses, what the system has left, VRAM where there is a GPU, model size."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui.format import size
from ui.gauges.gauge import Gauge


class MemoryGauge(Gauge):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Memory", parent)
        self.model_bytes = 0

    def set_model_size(self, num_bytes: int) -> None:
        self.model_bytes = num_bytes

    def set_snapshot(self, snapshot: dict) -> None:
        """`snapshot` is MemorySnapshot.to_dict()."""
        app_rss = snapshot.get("app_rss", snapshot["process_rss"])
        self.value.setText(f"{size(app_rss)} app")
        parts = [f"RAM {size(snapshot['ram_used'])} / {size(snapshot['ram_total'])}"]
        if snapshot.get("vram_total"):
            parts.append(f"VRAM {size(snapshot['vram_used'])} / {size(snapshot['vram_total'])}")
        if self.model_bytes:
            parts.append(f"model {size(self.model_bytes)}")
        self.detail.setText(" · ".join(parts))
        tip = [f"Hearth: {size(app_rss)}"]
        if snapshot.get("helpers_rss"):
            tip.append(f"  window and model: {size(snapshot['process_rss'])}")
            tip.append(f"  document indexer: {size(snapshot['helpers_rss'])}")
        tip += [
            f"System RAM: {size(snapshot['ram_used'])} used of {size(snapshot['ram_total'])}"
            f" ({size(snapshot['ram_available'])} available)",
        ]
        for gpu in snapshot.get("gpus", ()):
            tip.append(f"{gpu['name']}: {size(gpu['used'])} of {size(gpu['total'])} VRAM")
        if self.model_bytes:
            tip.append(f"Model file: {size(self.model_bytes)}")
        self.setToolTip("\n".join(tip))
