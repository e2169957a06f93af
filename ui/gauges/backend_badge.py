"""Where the model runs: CPU or GPU name, layers offloaded, threads."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


class BackendBadge(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("no model", parent)
        self.setObjectName("Badge")

    def set_backend(self, info: dict) -> None:
        """`info`: device (str), gpu_layers (int), total_layers (int), threads (int), notes."""
        layers, total = int(info.get("gpu_layers", 0)), int(info.get("total_layers", 0))
        device = info.get("device") or "CPU"
        text = f"{device} · {layers}/{total} layers" if layers > 0 else "CPU"
        text += f" · {info.get('threads', '?')} threads"
        self.setText(text)
        tip = [
            f"Runs on: {device}",
            f"GPU layers: {layers} of {total}",
            f"CPU threads: {info.get('threads', '?')}",
        ]
        tip += list(info.get("notes", ()))
        self.setToolTip("\n".join(tip))

    def clear_backend(self, text: str = "no model") -> None:
        self.setText(text)
        self.setToolTip("")
