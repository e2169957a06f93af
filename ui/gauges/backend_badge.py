"""Where the model runs: CPU or GPU name, layers offloaded, threads; or the server it runs on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

if TYPE_CHECKING:
    from engine.chat.engine import LoadedModel
    from engine.remote import RemoteInfo


# The badge's widest: a long server and model name ends in "…" rather than squeezing the gauges.
MAX_WIDTH = 260


class BackendBadge(QLabel):
    """Where the model runs; a name too long for the room ends in "…" (all of it in `text()` and
    the tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Badge")
        self.setMaximumWidth(MAX_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._full = ""
        self.setText("no model")

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self._full = text
        self.setAccessibleName(text)
        self.updateGeometry()
        self._elide()

    def text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        hint = super().sizeHint()
        margins = self.contentsMargins().left() + self.contentsMargins().right()
        full = self.fontMetrics().horizontalAdvance(self._full) + margins + 4
        return QSize(min(MAX_WIDTH, full), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(80, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.contentsRect().width() - 4
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                                      max(10, room)))  # fmt: skip

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

    def show_remote(self, info: RemoteInfo) -> None:
        """A model on a server: "Remote: host · model", with what the server said in the tooltip."""
        self.setText(info.label)
        self.setToolTip(
            f"Runs on the {info.server} server at {info.url}\n"
            f"Model: {info.model}\n"
            f"Window: {window_words(info)}\n"
            f"Token counts: {info.tokenizer}"
        )

    def clear_backend(self, text: str = "no model") -> None:
        self.setText(text)
        self.setToolTip("")


def window_words(info: RemoteInfo) -> str:
    """A server's window and where it came from: "8,192 tokens (from the server's model list)",
    or, when the server does not say, that the number is only assumed."""
    if info.window_assumed:
        return (f"unknown, {info.n_ctx:,} tokens assumed (the server does not say; set it in the "
                "server's entry: Models → Edit server…)")  # fmt: skip
    return f"{info.n_ctx:,} tokens (from {info.n_ctx_source})"
