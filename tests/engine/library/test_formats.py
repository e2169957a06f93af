"""One list of formats: what the Add dialog offers, what the folder walker and watcher pick up,
what the indexer reads and what the page viewer lays out as pages agree."""

from __future__ import annotations

from pathlib import Path

from engine.library.extract import open_document
from engine.library.formats import (
    PAGED_SUFFIXES,
    SUPPORTED_SUFFIXES,
    file_dialog_filter,
    is_paged,
    is_supported,
)

FICTION_BOOK = """<?xml version="1.0" encoding="utf-8"?>
<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0">
<description><title-info><book-title>Lamps</book-title></title-info></description>
<body><section><title><p>Chapter one</p></title>
<p>The lighthouse keeper trims the wick at dusk.</p></section></body></FictionBook>"""


def test_the_add_dialog_offers_every_format_the_library_reads():
    documents, everything = file_dialog_filter().split(";;")
    offered = {pattern.removeprefix("*") for pattern in documents.split("(")[1][:-1].split()}
    assert offered == set(SUPPORTED_SUFFIXES)
    assert {".pptx", ".xlsx", ".csv", ".odt", ".png", ".rst"} <= offered
    assert everything == "All files (*)"


def test_suffixes_match_whatever_their_case():
    assert is_supported(Path("Slides.PPTX")) and is_paged("scan.JPG")
    assert not is_supported(Path("model.gguf")) and not is_paged("notes.md")
    assert PAGED_SUFFIXES <= SUPPORTED_SUFFIXES


def test_a_paged_format_beyond_pdf_is_read_with_its_pages(tmp_path):
    book = tmp_path / "lamps.fb2"
    book.write_text(FICTION_BOOK, encoding="utf-8")
    assert is_supported(book) and is_paged(book)
    pages = list(open_document(book).pages())
    assert [page.page for page in pages] == [1]
    assert "trims the wick at dusk" in pages[0].text
