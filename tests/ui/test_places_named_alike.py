"""Under a reply, a slide is a slide and a sheet is named with its rows everywhere: in the sources,
the evidence, their tooltips and names for screen readers, and the viewer of the cited passage,
whose page controls are gone where there are no pages to turn."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.engine.library.formats import (
    cite_deck_and_sheet,
    write_lines_pdf,
    write_pptx,
    write_xlsx,
)
from ui.evidence_list import EvidenceList
from ui.page_viewer import PageViewer
from ui.source_list import SourceList


@pytest.fixture(scope="module")
def cited(tmp_path_factory, embedding_model_dir):
    """The answer plan for a question about a real slide deck and a real workbook."""
    from engine.library.answer import plan_answer
    from engine.library.embed import Embedder

    embedder = Embedder(embedding_model_dir)
    embedder.load()
    hits = cite_deck_and_sheet(tmp_path_factory.mktemp("places"), embedder)
    plan = plan_answer("Which part is the gasket, and who leads the shift?", hits)
    assert [source.location for source in plan.sources] == ["slide 2", "sheet Staff, rows 1-2"]
    return plan


@pytest.mark.slow
def test_sources_name_a_slide_and_a_sheet_as_the_evidence_does(qtbot, cited):
    sources = SourceList()
    qtbot.add_widget(sources)
    sources.set_sources(cited.sources)
    evidence = EvidenceList()
    qtbot.add_widget(evidence)
    evidence.set_evidence(cited.evidence)
    slide, sheet = sources.button_for(1), sources.button_for(2)
    assert slide is not None and sheet is not None
    assert slide.text() == "[1]  review.pptx  ·  slide 2"
    assert sheet.text() == "[2]  plant.xlsx  ·  sheet Staff, rows 1-2"
    assert slide.accessibleName() == "Source 1: review.pptx, slide 2"
    assert sheet.accessibleName() == "Source 2: plant.xlsx, sheet Staff, rows 1-2"
    assert slide.toolTip().startswith("review.pptx, slide 2\n")
    assert "page" not in slide.accessibleDescription()
    # The evidence of each source names its place in the same words.
    for item, button in zip(evidence.evidence(), evidence.buttons(), strict=True):
        source = sources.button_for(item.source)
        assert source is not None
        assert button.text() == source.text()
        assert button.accessibleName() == source.accessibleName().replace(
            f"Source {item.source}:", "Evidence from"
        )
        assert button.toolTip().startswith(source.toolTip().split("\n")[0] + "\n")


def _viewer(qtbot) -> PageViewer:
    from app.page_renderer import PageRenderer

    viewer = PageViewer()
    qtbot.add_widget(viewer)
    renderer = PageRenderer(parent=viewer)
    viewer.pageRequested.connect(renderer.request)
    renderer.rendered.connect(viewer.show_page)
    renderer.textOnly.connect(lambda _path, passage: viewer.show_text(passage))
    viewer.destroyed.connect(renderer.shutdown)
    return viewer


def _page_tools(viewer: PageViewer) -> list:
    return [viewer.prev_button, viewer.next_button, viewer.zoom_out, viewer.zoom_in]


def test_the_viewer_of_a_slide_or_a_sheet_says_where_the_passage_is_and_turns_no_page(
    qtbot, tmp_path
):
    deck, sheet = write_pptx(tmp_path / "review.pptx"), write_xlsx(tmp_path / "plant.xlsx")
    viewer = _viewer(qtbot)
    viewer.open_source(str(deck), 2, "Spare parts\nGasket | part GX-17")
    qtbot.wait_until(lambda: viewer.stack.currentWidget() is viewer.text_view, timeout=10000)
    assert viewer.page_label.text() == "slide 2"
    assert viewer.windowTitle() == "review.pptx – slide 2"
    assert not any(tool.isVisibleTo(viewer) for tool in _page_tools(viewer))
    with qtbot.assert_not_emitted(viewer.pageRequested):
        qtbot.keyClick(viewer, Qt.Key.Key_PageDown)
        viewer.go(3)
    assert viewer.page_label.text() == "slide 2"

    viewer.open_source(str(sheet), 1, "Name | Role\nMarta | shift lead", "sheet Staff, rows 1-2")
    qtbot.wait_until(lambda: "Marta" in viewer.text_view.toPlainText(), timeout=10000)
    assert viewer.page_label.text() == "sheet Staff, rows 1-2"
    assert viewer.windowTitle() == "plant.xlsx – sheet Staff, rows 1-2"
    assert not any(tool.isVisibleTo(viewer) for tool in _page_tools(viewer))


def test_the_viewer_of_a_pdf_still_turns_its_pages(qtbot, tmp_path):
    pdf = write_lines_pdf(tmp_path / "manual.pdf", [["First page."], ["Second page."]])
    viewer = _viewer(qtbot)
    viewer.open_source(str(tmp_path / "review.pptx"), 2, "x")  # a slide before it hid the tools
    viewer.open_source(str(pdf), 1, "First page.")
    qtbot.wait_until(lambda: viewer.page_label.text() == "page 1 of 2", timeout=10000)
    assert all(tool.isVisibleTo(viewer) for tool in _page_tools(viewer))
    assert viewer.next_button.isEnabled() and not viewer.prev_button.isEnabled()
    viewer.next_button.click()
    qtbot.wait_until(lambda: viewer.windowTitle() == "manual.pdf – page 2", timeout=10000)
    assert viewer.page_label.text() == "page 2 of 2" and viewer.prev_button.isEnabled()
