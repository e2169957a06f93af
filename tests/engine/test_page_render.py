"""Page rendering for the viewer: a PNG of the right page with the cited passage found on it."""

from __future__ import annotations

import pymupdf
import pytest

from engine.page_render import PageRenderError, render_page


@pytest.fixture
def pdf(tmp_path):
    path = tmp_path / "guide.pdf"
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page()
        page.insert_text((72, 72), f"Chapter {number}", fontsize=20)
        page.insert_text((72, 120), f"The lighthouse keeper number {number} checks the lamp.")
        page.insert_text((72, 140), "Every evening the beam turns twice a minute over the bay.")
    doc.save(path)
    return path


def test_renders_the_asked_page_with_the_passage_highlighted(pdf):
    page = render_page(pdf, 2, zoom=2.0, passage="lighthouse keeper number 2 checks the lamp.")
    assert page.png.startswith(b"\x89PNG")
    assert (page.page, page.page_count) == (2, 3)
    assert page.width == pytest.approx(595 * 2, abs=2)  # A4 at zoom 2
    assert len(page.highlights) == 1
    x, y, w, h = page.highlights[0]
    assert 100 < y < 260 and w > 200  # on the second text line, scaled by the zoom


def test_a_long_passage_spanning_lines_is_found_in_pieces(pdf):
    passage = (
        "The lighthouse keeper number 3 checks the lamp. Every evening the beam turns "
        "twice a minute over the bay."
    )
    page = render_page(pdf, 3, passage=passage)
    assert len(page.highlights) == 2  # one band per line


def test_a_passage_not_on_the_page_highlights_nothing(pdf):
    assert render_page(pdf, 1, passage="nothing like this appears anywhere").highlights == []


def test_problems_are_explained(pdf, tmp_path):
    with pytest.raises(PageRenderError, match="no page 9"):
        render_page(pdf, 9)
    with pytest.raises(PageRenderError, match="no longer there"):
        render_page(tmp_path / "gone.pdf", 1)
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text")
    with pytest.raises(PageRenderError, match="no pages"):
        render_page(notes, 1)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(PageRenderError):
        render_page(broken, 1)
