"""A real manual from a Debian documentation package (gnuplot-doc's 311-page gnuplot.pdf):
its layout, outline and text are not ones these tests made up."""

from __future__ import annotations

import pytest

from engine.library.chunk import Chunker
from engine.library.extract import open_document
from tests.engine.library.corpus import REAL_PDF_QUESTIONS, find_real_pdf

REAL_PDF = find_real_pdf()
pytestmark = [
    pytest.mark.skipif(
        REAL_PDF is None,
        reason="no real 100+ page PDF: `apt-get install gnuplot-doc` or set HEARTH_REAL_PDF",
    ),
    pytest.mark.slow,  # the embedding model
]

# A slice of the manual keeps the test quick: its "set" command chapter, pages 158-187.
FIRST, LAST = 158, 187


@pytest.fixture(scope="module")
def manual_slice(tmp_path_factory):
    import pymupdf

    path = tmp_path_factory.mktemp("real") / "gnuplot-set-commands.pdf"
    with pymupdf.open(REAL_PDF) as doc:
        doc.select(list(range(FIRST - 1, LAST)))
        doc.save(path)
    return path


def test_whole_manual_extracts_page_by_page_with_outline_headings(embedder):
    extraction = open_document(REAL_PDF)
    assert extraction.page_count >= 100
    chunker = Chunker(embedder.tokenizer)
    pages = 0
    for page in extraction.pages():
        pages += 1
        assert page.page == pages
        if page.page == 167 and "gnuplot.pdf" in str(REAL_PDF):
            assert "set logscale <axes>" in page.text
            assert "Logscale" in [title for _, title in page.headings]
            headings = {chunk.heading for chunk in chunker.chunk_page(page)}
            assert "Logscale" in headings
    assert pages == extraction.page_count


@pytest.mark.skipif(
    REAL_PDF is not None and "gnuplot.pdf" not in str(REAL_PDF),
    reason="the questions are about the gnuplot manual",
)
def test_questions_on_the_real_manual_find_their_page(open_library, manual_slice):
    library = open_library("real")
    report = library.index([manual_slice])
    assert report.indexed == 1 and report.pages == LAST - FIRST + 1
    asked = 0
    for question, pages in REAL_PDF_QUESTIONS:
        wanted = {p - FIRST + 1 for p in pages if FIRST <= p <= LAST}
        if not wanted:
            continue
        asked += 1
        got = [hit.page for hit in library.search(question, k=5)]
        assert wanted & set(got), (question, sorted(wanted), got)
    assert asked >= 3
