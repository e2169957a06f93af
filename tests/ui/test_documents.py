"""Documents in the window with a real index: drop a PDF, watch it index, ask about it, open the
cited page; a broken file gets its own error and the app keeps working."""

from __future__ import annotations

from dataclasses import replace

import psutil
import pytest

from engine.chat.stored import sources_from_stored
from tests.engine.library.corpus import write_guide_pdf
from tests.ui.conftest import drop_files, write_pdf

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow


def _wait_indexed(harness, qtbot, timeout=180000):
    qtbot.wait_until(
        lambda: (
            not harness.controller.documents.indexing
            and not harness.window.documents.cancel_button.isVisible()
        ),
        timeout=timeout,
    )


def test_drop_a_pdf_ask_about_it_and_open_the_cited_page(app_window, qtbot, lighthouse_pdf):
    window, controller = app_window.window, app_window.controller
    drop_files(window, [lighthouse_pdf])
    assert window.documents.isVisible()
    qtbot.wait_until(lambda: window.documents.status_of(str(lighthouse_pdf)) == "indexed",
                     timeout=180000)  # fmt: skip
    _wait_indexed(app_window, qtbot)
    panel = window.documents
    row = panel.model.file(str(lighthouse_pdf))
    assert row.pages == 3 and row.chunks >= 1
    qtbot.wait_until(lambda: window.documents_button.text() == "Documents (1)", timeout=10000)

    app_window.send("Who is the keeper of the lighthouse?")
    app_window.wait_reply()
    reply = window.chat.last()
    sources = reply.sources.sources()
    assert sources, "the reply should list the passages it was given"
    lighthouse = next(s for s in sources if s.page == 2)
    stored = app_window.stored_messages()[-1]
    assert sources_from_stored(stored.sources) == tuple(
        replace(s, heading=None, similarity=None) for s in sources
    )

    button = reply.sources.button_for(lighthouse.number)
    assert "harbour-guide.pdf" in button.text() and "page 2" in button.text()
    button.click()
    viewer = app_window.controller.documents.viewer
    qtbot.wait_until(lambda: viewer.stack.currentWidget() is viewer.page_scroll, timeout=20000)
    assert viewer.page == 2 and viewer.page_count == 3
    # Pages are read in the library process, and the memory gauge counts it as part of the app.
    assert controller.libraries.running_pids()
    qtbot.wait_until(lambda: "document indexer" in window.gauges.memory.toolTip(), timeout=30000)
    assert "page 2 of 3" in viewer.page_label.text()
    assert viewer.page_view.highlights, "the cited passage is highlighted"
    viewer.next_button.click()
    qtbot.wait_until(lambda: viewer.page == 3 and viewer.page_view.highlights == [], timeout=20000)

    # A request the documents have nothing to do with gets no sources, not random pages.
    app_window.send("Name a planet of the solar system.")
    app_window.wait_reply()
    assert window.chat.last().sources.sources() == ()


def test_a_broken_file_gets_its_reason_and_the_app_keeps_working(app_window, qtbot, tmp_path):
    window = app_window.window
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n this is not really a PDF \n%%EOF")
    good = write_pdf(tmp_path / "notes.pdf", ["Short note about tides and the moon."])
    drop_files(window, [broken, good])
    _wait_indexed(app_window, qtbot)
    qtbot.wait_until(lambda: window.documents.status_of(str(good)) == "indexed", timeout=60000)
    # The panel and the notice give the engine's own reason for this file, word for word.
    reason = _engine_reason(broken)
    assert reason and "PDF" in reason
    assert window.documents.status_of(str(broken)) == f"failed: {reason}"
    qtbot.wait_until(lambda: "1 not indexed" in window.notice.text(), timeout=10000)
    assert f"broken.pdf: {reason}" in window.notice.text()
    assert "broken.pdf will be searched" not in window.notice.text()
    app_window.send("Say hi.")
    app_window.wait_reply()
    assert window.chat.last().text().strip()


def _engine_reason(path) -> str:
    """Why the engine refuses `path`, as it says it."""
    from engine.library.extract import open_document
    from engine.library.types import FileProblem

    try:
        open_document(path)
    except FileProblem as problem:
        return problem.message
    return ""


def test_a_crashed_indexer_is_explained_and_the_file_can_be_finished(app_window, qtbot, tmp_path):
    window, controller = app_window.window, app_window.controller
    long_pdf = write_guide_pdf(tmp_path / "long-guide.pdf", repeat=8)  # 96 pages
    drop_files(window, [long_pdf])
    qtbot.wait_until(lambda: window.documents.status_of(str(long_pdf)).startswith("indexing"),
                     timeout=180000)  # fmt: skip
    # As a native crash in a PDF library would: the process doing the work dies.
    psutil.Process(controller.libraries.running_pids()[0]).kill()
    qtbot.wait_until(lambda: "stopped unexpectedly" in window.notice.text(), timeout=30000)
    _wait_indexed(app_window, qtbot)
    assert "Re-index" in window.notice.text()

    app_window.send("Say hi.")
    app_window.wait_reply()
    assert window.chat.last().text().strip()

    window.notice.dismiss()
    window.documents.reindex_button.click()
    qtbot.wait_until(lambda: window.documents.status_of(str(long_pdf)) == "indexed",
                     timeout=180000)  # fmt: skip
    assert window.documents.model.file(str(long_pdf)).pages == 96


def test_drop_a_folder_reindex_and_remove_a_file(app_window, qtbot, tmp_path):
    window = app_window.window
    folder = tmp_path / "notes"
    folder.mkdir()
    note = write_pdf(folder / "tides.pdf", ["High tide comes twice a day."])
    (folder / "boats.txt").write_text("Boats leave the harbour before dawn.\n")
    (folder / "archive.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    drop_files(window, [folder])
    qtbot.wait_until(lambda: window.documents.status_of(str(note)) == "indexed", timeout=180000)
    _wait_indexed(app_window, qtbot)
    qtbot.wait_until(lambda: window.documents.status_of(str(folder / "boats.txt")) == "indexed")
    qtbot.wait_until(lambda: window.documents_button.text() == "Documents (2)", timeout=10000)
    assert window.documents.status_of(str(folder / "archive.zip")).startswith("skipped")
    window.notice.dismiss()
    window.documents.reindex_button.click()
    qtbot.wait_until(lambda: "2 unchanged" in window.notice.text(), timeout=60000)
    _wait_indexed(app_window, qtbot)
    assert window.documents.status_of(str(note)) == "indexed"
    window.documents.table.selectRow(window.documents.row_of(str(note)))
    window.documents.remove_button.click()
    qtbot.wait_until(lambda: window.documents.row_of(str(note)) < 0, timeout=30000)
    qtbot.wait_until(lambda: window.documents_button.text() == "Documents (1)", timeout=10000)


def test_a_dropped_gguf_is_offered_as_a_model(app_window, qtbot, default_model_path, tmp_path):
    window = app_window.window
    drop_files(window, [default_model_path])
    qtbot.wait_until(lambda: window.notice.action_button.text() == "Load it" and
                     window.notice.isVisible(), timeout=20000)  # fmt: skip
    assert "Added" in window.notice.text()
    assert window.documents.model.rowCount() == 0  # not indexed as a document


def test_a_deleted_chat_loses_its_library_at_the_next_start(harness, qtbot, tmp_path):
    from app.paths import app_paths

    harness.start()
    note = write_pdf(tmp_path / "moon.pdf", ["The moon pulls the tides."])
    drop_files(harness.window, [note])
    qtbot.wait_until(lambda: harness.window.documents.status_of(str(note)) == "indexed",
                     timeout=180000)  # fmt: skip
    _wait_indexed(harness, qtbot)
    folder = app_paths().libraries_dir / harness.conversation.library_name
    assert folder.is_dir()
    harness.window.conversations.deleteRequested.emit(harness.conversation.id)
    harness.restart()
    qtbot.wait_until(lambda: not folder.exists(), timeout=20000)
