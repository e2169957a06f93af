"""File names with control characters show on one line, escaped, in every place the window shows
a name: the documents panel, the sources under a reply, the page viewer and the notices."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.library.answer import Source
from ui.documents_model import FILE, FileRow
from ui.documents_panel import DocumentsPanel
from ui.notice_bar import NoticeBar
from ui.page_viewer import PageViewer
from ui.source_list import SourceList

PATH = "/docs/two\nlines\x1b[2J\u202eevil.pdf"
SHOWN = "two\\nlines\\x1b[2J\\u202eevil.pdf"


def clean(text: str) -> bool:
    return "\n" not in text and "\x1b" not in text and "\u202e" not in text


def test_documents_panel(qtbot):
    panel = DocumentsPanel()
    qtbot.add_widget(panel)
    panel.update_file_row(FileRow(PATH, "indexed", pages=1, chunks=1))
    cell = panel.model.index(0, FILE)
    assert cell.data() == SHOWN and clean(cell.data(Qt.ItemDataRole.ToolTipRole))
    assert panel.paths() == [PATH], "the row still knows the real path"


def test_sources_under_a_reply(qtbot):
    sources = SourceList()
    qtbot.add_widget(sources)
    sources.set_sources([Source(1, PATH, 2, "x")])
    button = sources.button_for(1)
    assert button is not None and button.text() == f"[1]  {SHOWN}  ·  page 2"
    assert clean(button.accessibleName())


def test_page_viewer_title(qtbot):
    viewer = PageViewer()
    qtbot.add_widget(viewer)
    viewer.open_source(PATH, 1)
    assert viewer.title.text() == SHOWN
    assert viewer.title.textFormat() == Qt.TextFormat.PlainText
    assert clean(viewer.windowTitle())


def test_notices(qtbot):
    bar = NoticeBar()
    qtbot.add_widget(bar)
    bar.show_message(f"Could not index {PATH}: damaged", "error")
    bar.show_message("<b>bold.pdf</b> was indexed")
    assert (
        bar.label.text()
        == f"⚠ Could not index /docs/{SHOWN}: damaged\n• <b>bold.pdf</b> was indexed"  # an older error
    )
    assert bar.label.textFormat() == Qt.TextFormat.PlainText


def test_evidence_under_a_reply(qtbot):
    from engine.library.types import Evidence
    from ui.evidence_list import EvidenceList

    evidence = EvidenceList()
    qtbot.add_widget(evidence)
    evidence.set_evidence([Evidence(PATH, 2, "x", source=1)])
    [button] = evidence.buttons()
    assert button.text() == f"[1]  {SHOWN}  ·  page 2"
    assert clean(button.accessibleName()) and SHOWN in button.toolTip()
