"""Pages without a text layer are read by OCR: pictures dropped as documents and scanned pages,
with page numbers, citations and page-viewer highlights that work as on any page."""

from __future__ import annotations

import pytest

from engine.library import ocr
from engine.library.types import INDEXED
from engine.page_render import render_page
from tests.engine.library.formats import write_scanned_pdf, write_text_png

# OCR runs real recognition models (rapidocr's ONNX networks).
pytestmark = [
    pytest.mark.skipif(not ocr.available(), reason="rapidocr-onnxruntime not installed"),
    pytest.mark.slow,
]

SCANNED_LINES = ["Replace the anode rod", "every three years"]


def test_a_picture_of_text_is_indexed_by_ocr(tmp_path, open_library):
    picture = write_text_png(
        tmp_path / "label.png", ["Boiler pressure 1.8 bar", "Service code KX-88"]
    )
    library = open_library()
    (outcome,) = library.index([picture]).outcomes
    assert outcome.status == INDEXED, outcome
    assert outcome.ocr_pages == 1 and outcome.message == "1 of 1 page read by OCR"
    (record,) = library.files()
    assert record.ocr_pages == 1 and "read by OCR" in record.error
    (hit,) = library.search("boiler pressure", k=1)
    assert hit.page == 1 and "1.8 bar" in hit.text


def test_scanned_page_keeps_its_page_number_and_is_highlighted(tmp_path, open_library):
    pdf = write_scanned_pdf(
        tmp_path / "manual.pdf", "Typed first page about the pump.", SCANNED_LINES
    )
    library = open_library()
    (outcome,) = library.index([pdf]).outcomes
    assert (outcome.status, outcome.ocr_pages, outcome.pages) == (INDEXED, 1, 2)
    assert outcome.message == "1 of 2 pages read by OCR"
    hits = library.search("how often should the anode rod be replaced", k=2)
    assert hits[0].page == 2 and "anode rod" in hits[0].text.lower()
    rendered = render_page(pdf, 2, zoom=1.0, passage=hits[0].text)
    assert rendered.highlights, "the OCR'd lines of the passage are highlighted"
    x, y, w, h = rendered.highlights[0]
    assert 0 <= x < rendered.width and 0 <= y < rendered.height and w > 0 and h > 0


def test_ocr_runs_below_normal_priority():
    import os

    import numpy as np

    image = np.full((40, 120, 3), 255, dtype=np.uint8)
    assert ocr.recognise(image) == []
    worker = ocr._shared_worker()
    tid = worker._thread.native_id
    assert os.getpriority(os.PRIO_PROCESS, tid) > os.getpriority(os.PRIO_PROCESS, 0)
