"""A scanned page in the window: dropped, read by OCR in the library process, cited, and shown in
the page viewer with the lines of the passage highlighted where they are printed on the page."""

from __future__ import annotations

import pytest

from engine.library import ocr
from tests.engine.library.formats import write_scanned_pdf

# The library process loads the embedding model and runs the real OCR models.
pytestmark = [
    pytest.mark.skipif(not ocr.available(), reason="rapidocr-onnxruntime not installed"),
    pytest.mark.slow,
]

LINES = [
    "Boiler pressure should read 1.8 bar.",
    "Replace the anode rod every",
    "three years or when it is thin.",
    "Bleed the radiators in autumn.",
]


def _line_middle(number: int, zoom: float) -> float:
    """Where line `number` of the scanned picture is printed on the viewer's image (pixels):
    tests.engine.library.formats.text_image sets 28 pt text on baselines 80 + 60 n of a page
    700 points wide, and write_scanned_pdf places that picture 523 points wide at y = 72."""
    scale = 523 / 700
    return (72 + (80 + 60 * number - 9) * scale) * zoom


def _highlighted_lines(viewer) -> list[int]:
    """The picture's lines the viewer's highlight bands sit on, one per band."""
    spacing = 60 * 523 / 700 * viewer.zoom
    lines = []
    for _x, y, _w, h in viewer.page_view.highlights:
        middle = y + h / 2
        nearest = min(range(len(LINES)), key=lambda n: abs(_line_middle(n, viewer.zoom) - middle))
        assert abs(_line_middle(nearest, viewer.zoom) - middle) < spacing / 3, (middle, nearest)
        lines.append(nearest)
    return lines


def _ink_under(viewer, rect) -> int:
    """Dark pixels of the rendered page (before highlighting) inside `rect`."""
    image = viewer.page_view.image
    x, y, w, h = (int(v) for v in rect)
    dark = 0
    for px in range(max(0, x), min(image.width(), x + w), 2):
        for py in range(max(0, y), min(image.height(), y + h), 2):
            if image.pixelColor(px, py).lightness() < 100:
                dark += 1
    return dark


def test_a_scanned_page_opens_with_the_evidence_lines_highlighted(qtbot, tmp_path):
    from tests.conftest import FakeApp
    from tests.fakes import FakeEngine

    pdf = write_scanned_pdf(tmp_path / "boiler-manual.pdf", "Typed cover page.", LINES)
    engine = FakeEngine(ready=False, reply="Every three years [1].")
    app = FakeApp(qtbot, engine, None).start()  # None: the real library process
    try:
        window = app.window
        window.filesDropped.emit((str(pdf),))
        qtbot.wait_until(lambda: window.documents.status_of(str(pdf)).startswith("indexed"),
                         timeout=240000)  # fmt: skip
        qtbot.wait_until(lambda: window.documents.status_of(str(pdf)).endswith(
            "1 of 2 pages read by OCR"), timeout=30000)  # fmt: skip
        app.send("How often should the anode rod be replaced?")
        qtbot.wait_until(lambda: app.controller.chats.reply is None, timeout=60000)
        reply = window.chat.last()
        source = next(s for s in reply.sources.sources() if s.page == 2)
        assert "anode rod" in source.excerpt.lower()
        best = reply.evidence.evidence()[0]
        assert best.page == 2 and "anode rod" in best.text.lower()
        assert "boiler" not in best.text.lower() and "bleed" not in best.text.lower()

        # The evidence: the two printed lines of its sentence, and nothing else.
        reply.evidence.buttons()[0].click()
        viewer = app.controller.documents.viewer
        qtbot.wait_until(lambda: viewer.page_view.highlights != [], timeout=120000)
        assert viewer.page == 2 and viewer.passage == best.text
        assert sorted(_highlighted_lines(viewer)) == [1, 2]
        for rect in viewer.page_view.highlights:
            assert _ink_under(viewer, rect) > 20, "the band lies on printed text"
        viewer.grab().save(str(tmp_path / "viewer-evidence.png"))  # to look at

        # The whole source: every line of the page it came from.
        viewer.close()
        reply.sources.button_for(source.number).click()
        assert viewer.passage == source.excerpt
        qtbot.wait_until(lambda: len(viewer.page_view.highlights) == len(LINES), timeout=60000)
        assert sorted(_highlighted_lines(viewer)) == [0, 1, 2, 3]
    finally:
        app.stop()
