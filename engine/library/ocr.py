"""Optical character recognition for pages that are pictures: scans, photos, letters drawn as shapes.

The engine is RapidOCR (PP-OCRv4 detection and recognition models run by ONNX Runtime); its
models ship inside the `rapidocr-onnxruntime` wheel, so nothing is downloaded. It reads Latin
script and Chinese. Recognition runs on one worker thread whose scheduling priority is lowered
(Linux gives each thread its own nice value, and the ONNX Runtime threads it starts inherit it),
so a page being read never starves a reply being written; ONNX Runtime gets half the cores.

Where the package is missing, `available()` is False and pages without a text layer stay empty
(the file's status then says OCR is not installed).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from queue import Queue
from typing import Any

from engine.library.priority import lower_thread_priority

log = logging.getLogger(__name__)

# Rendering resolution for recognition: 150 dpi keeps 9-12 pt text at the ~30 px line height the
# recognition model reads best, at a quarter of the pixels of a 300 dpi scan.
OCR_DPI = 150
# Lines the recogniser is less sure of than this are dropped (its own default is 0.5).
MIN_LINE_SCORE = 0.5


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: its text and its box in page coordinates (points, top-left origin)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float


def available() -> bool:
    """True when an OCR engine is installed."""
    import importlib.util

    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


class _Worker:
    """One low-priority thread that owns the recogniser and reads images in turn."""

    def __init__(self) -> None:
        self._jobs: Queue[tuple[Any, Future] | None] = Queue()
        self._thread = threading.Thread(target=self._run, name="ocr", daemon=True)
        self._thread.start()

    def submit(self, image: Any) -> Future:
        future: Future = Future()
        self._jobs.put((image, future))
        return future

    def _run(self) -> None:
        lower_thread_priority()
        engine = None
        while (job := self._jobs.get()) is not None:
            image, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if engine is None:
                    engine = _load_engine()
                result, _elapsed = engine(image)
                future.set_result(result or [])
            except BaseException as exc:  # handed to the caller, who reports it per page
                future.set_exception(exc)


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _shared_worker() -> _Worker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = _Worker()
        return _worker


def _load_engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    from engine.library.embed import default_threads

    threads = default_threads()
    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)


def recognise(image: Any, scale: float = 1.0) -> list[OcrLine]:
    """Lines of text in an RGB image, top to bottom, boxes divided by `scale`.

    Args:
        image: numpy array, shape (height, width, 3), uint8 RGB.
        scale: Image pixels per page unit (e.g. dpi / 72 for a page rendered at `dpi`).

    Raises:
        RuntimeError: OCR is not installed, or the engine failed on this image.
    """
    if not available():
        raise RuntimeError("OCR is not installed")
    raw = _shared_worker().submit(image).result()
    lines: list[OcrLine] = []
    for box, text, score in raw:
        text = " ".join(str(text).split())
        if float(score) < MIN_LINE_SCORE or not _looks_like_text(text):
            continue
        xs = [point[0] for point in box]
        ys = [point[1] for point in box]
        lines.append(
            OcrLine(
                text,
                min(xs) / scale,
                min(ys) / scale,
                max(xs) / scale,
                max(ys) / scale,
                float(score),
            )
        )
    return _reading_order(lines)


def _looks_like_text(text: str) -> bool:
    """False for what the recogniser makes of rules, curves and specks: ")/))/)", "~~ -"."""
    letters = sum(1 for char in text if char.isalnum())
    return letters >= 2 and letters >= 0.3 * len(text.replace(" ", ""))


def _reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Top to bottom; boxes on one text line (their middles within half a line) left to right."""
    ordered = sorted(lines, key=lambda line: (line.y0 + line.y1) / 2)
    rows: list[list[OcrLine]] = []
    for line in ordered:
        middle = (line.y0 + line.y1) / 2
        if rows:
            last = rows[-1][-1]
            if abs(middle - (last.y0 + last.y1) / 2) < (last.y1 - last.y0) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.x0)]


def recognise_page(page: Any, dpi: int = OCR_DPI) -> list[OcrLine]:
    """OCR one PyMuPDF page; boxes in the page's own coordinates (points).

    Raises:
        RuntimeError: as `recognise`.
    """
    import numpy as np

    pixmap = page.get_pixmap(dpi=dpi, alpha=False, colorspace="rgb")
    image = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(
        pixmap.height, pixmap.width, pixmap.n
    )
    lines = recognise(image, scale=dpi / 72)
    # Rendered pixels start at the page's top-left corner; put boxes back in page coordinates.
    x_offset, y_offset = page.rect.x0, page.rect.y0
    if not (x_offset or y_offset):
        return lines
    return [
        OcrLine(
            line.text,
            line.x0 + x_offset,
            line.y0 + y_offset,
            line.x1 + x_offset,
            line.y1 + y_offset,
            line.score,
        )
        for line in lines
    ]


def lines_text(lines: list[OcrLine]) -> str:
    """The page text of recognised lines: one line each, boxes on one row joined by a space."""
    out: list[str] = []
    previous: OcrLine | None = None
    for line in lines:
        if previous is not None:
            same_row = (
                abs((line.y0 + line.y1) - (previous.y0 + previous.y1)) / 2
                < (previous.y1 - previous.y0) / 2
                and line.x0 >= previous.x1
            )
            out.append(" " if same_row else "\n")
        out.append(line.text)
        previous = line
    return "".join(out)
