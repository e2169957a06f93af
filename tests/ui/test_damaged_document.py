"""A cut-short PDF dropped on the window: indexed from the pages that read, listed as indexed with
its damage under it, and its pages cited and shown like any other file's."""

from __future__ import annotations

import pytest

from tests.engine.library.test_cut_short import cut_inside_page

# The library process loads the embedding model.
pytestmark = pytest.mark.slow

NOTE = (
    "damaged: 13 of 30 pages cannot be read (the file is cut short or damaged); "
    "the other 17 are searchable"
)


def test_a_cut_short_pdf_is_listed_as_indexed_with_its_damage_and_cited(qtbot, tmp_path):
    from tests.conftest import FakeApp
    from tests.fakes import FakeEngine

    pdf = cut_inside_page(tmp_path / "bird-log.pdf", 18)
    engine = FakeEngine(ready=False, reply="A whimbrel [1].")
    app = FakeApp(qtbot, engine, None).start()  # None: the real library process
    try:
        window = app.window
        window.filesDropped.emit((str(pdf),))
        panel = window.documents
        qtbot.wait_until(lambda: panel.status_of(str(pdf)) == f"indexed: {NOTE}", timeout=240000)
        row = panel.model.file(str(pdf))
        assert row is not None and (row.status, row.pages, row.chunks) == ("indexed", 30, 17)
        assert row.status_lines == f"indexed\n{NOTE}"  # the word, the warning under it
        # The note shows as the file is done; the notice comes when the whole run has ended.
        qtbot.wait_until(lambda: "1 indexed" in window.notice.label.text(), timeout=60000)
        assert "not indexed" not in window.notice.label.text()

        app.send("Which bird was ringed under code HX-017?")
        qtbot.wait_until(lambda: app.controller.chats.reply is None, timeout=60000)
        source = window.chat.last().sources.sources()[0]
        assert source.page == 17 and "HX-017" in source.excerpt
        window.chat.last().sources.button_for(source.number).click()
        viewer = app.controller.documents.viewer
        qtbot.wait_until(lambda: viewer.page_view.highlights != [], timeout=120000)
        assert viewer.page == 17
    finally:
        app.stop()
