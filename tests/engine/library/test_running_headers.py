"""Running headers and footers (a book's title, chapter name, page numbers) are left out of a
PDF's text: not in the chunks, not found by a keyword search, not highlighted on the page; the
text of the page around them is kept as it was."""

from __future__ import annotations

import pymupdf
import pytest

from engine.library.chunk import Chunker, load_tokenizer
from engine.library.extract import open_document
from engine.library.running import Line, running_lines
from engine.page_render import render_page

BOOK_TITLE = "Hearth Field Manual, Edition 3"
CHAPTER_TITLE = "Chapter 2. Pumps and Valves"
BODY_TOP = 100  # points: the body's box starts here, below the header
BODY_BOTTOM = 760  # and ends here, above the footer


def body_of(number: int) -> str:
    return (
        f"Impeller check {number}: the coolant pump of circuit {number} is opened with the "
        f"brass key and its impeller is turned by hand until the seal number {number} "
        "sits flush. A seal that sits proud leaks within a week, so it is pressed down "
        "again and the pump is run dry for ten seconds before the circuit is filled. "
        f"Valve note {number}: the relief valve is set to open at the pressure printed on "
        "its cap, never higher, and the setting is written in the log book of the boiler room."
    )


def write_book(path, pages: int, header: bool = True, tops: dict[int, str] | None = None):
    """A PDF whose pages carry a running header (the book's title on even pages, the
    chapter's on odd ones) and a footer "Page N of M"; `tops` puts a line of its own at the
    top of some pages (1-based) instead of the header."""
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        if tops and number in tops:
            page.insert_text((72, 50), tops[number], fontsize=11)
        elif header:
            title = BOOK_TITLE if number % 2 == 0 else CHAPTER_TITLE
            page.insert_text((72 if number % 2 == 0 else 380, 40), title, fontsize=9)
        page.insert_textbox(
            pymupdf.Rect(72, BODY_TOP, 523, BODY_BOTTOM), body_of(number), fontsize=11
        )
        page.insert_text((270, 815), f"Page {number} of {pages}", fontsize=9)
    doc.save(path)
    doc.close()
    return path


@pytest.fixture
def chunker(embedding_model_dir):
    return Chunker(load_tokenizer(embedding_model_dir))


def test_running_header_and_footer_are_not_in_the_text(tmp_path):
    pages = list(open_document(write_book(tmp_path / "manual.pdf", 8)).pages())
    assert len(pages) == 8
    for page in pages:
        assert BOOK_TITLE not in page.text and CHAPTER_TITLE not in page.text
        assert "Page " not in page.text
        # The body is kept whole, from its first word.
        assert page.text.startswith(f"Impeller check {page.page}:")
        assert "written in the log book of the boiler room." in page.text


def test_chunks_hold_the_body_and_land_on_it_on_the_page(tmp_path, chunker):
    path = write_book(tmp_path / "manual.pdf", 6)
    pages = list(open_document(path).pages())
    for page in pages:
        chunks = list(chunker.chunk_page(page))
        assert chunks
        for chunk in chunks:
            assert "Manual" not in chunk.text and "Chapter" not in chunk.text
            assert "Page" not in chunk.text
            # Offsets index the page's text as indexed (what evidence and citations use).
            assert page.text[chunk.char_start : chunk.char_end] == chunk.text
            # The viewer finds the passage on the page: on the body, none on the margins.
            rendered = render_page(path, chunk.page, zoom=1.0, passage=chunk.text)
            assert rendered.highlights
            for _x, y, _w, height in rendered.highlights:
                assert y >= BODY_TOP - 2 and y + height <= BODY_BOTTOM + 2


@pytest.mark.slow  # indexes with the real embedding model
def test_keyword_search_finds_the_body_not_the_header(tmp_path, open_library):
    from engine.library import keyword

    path = write_book(tmp_path / "manual.pdf", 8)
    library = open_library()
    assert library.index([path]).indexed == 1
    conn = library.manifest.conn
    for word in ("Hearth", "Edition", "Chapter", "Page"):  # only the margins hold these
        assert keyword.search(conn, word, 10) == [], word
    assert len(keyword.search(conn, "impeller", 10)) == 8
    texts = [row[0] for row in conn.execute("SELECT text FROM chunks")]
    assert texts and not any("Edition" in text or "Page" in text for text in texts)


def test_short_documents_keep_every_line(tmp_path):
    for count in (2, 3):
        pages = list(open_document(write_book(tmp_path / f"short{count}.pdf", count)).pages())
        assert pages[0].text.startswith(CHAPTER_TITLE)
        assert pages[1].text.startswith(BOOK_TITLE)
        assert all(f"Page {p.page} of {count}" in p.text for p in pages)
    # The same pages in a longer document lose them: four pages for the footer, on every page;
    # six for the titles, each on every other page.
    pages = list(open_document(write_book(tmp_path / "four.pdf", 4)).pages())
    assert not any("Page " in p.text for p in pages)
    pages = list(open_document(write_book(tmp_path / "six.pdf", 6)).pages())
    assert not any(CHAPTER_TITLE in p.text or BOOK_TITLE in p.text for p in pages)


def test_a_heading_on_top_of_two_pages_is_kept(tmp_path):
    tops = {3: "Maintenance schedule", 4: "Maintenance schedule"}
    path = write_book(tmp_path / "manual.pdf", 8, header=False, tops=tops)
    pages = list(open_document(path).pages())
    assert [p.page for p in pages if p.text.startswith("Maintenance schedule\n")] == [3, 4]
    assert not any("Page " in p.text for p in pages)  # while the footer goes


def test_a_page_holding_only_its_header_and_footer_is_blank(tmp_path):
    path = write_book(tmp_path / "manual.pdf", 6)
    doc = pymupdf.open(path)
    page = doc[2]
    page.add_redact_annot(pymupdf.Rect(0, BODY_TOP - 5, 595, BODY_BOTTOM + 5))
    page.apply_redactions()
    page.insert_image(pymupdf.Rect(100, 200, 300, 400), pixmap=_grey_square())
    doc.save(tmp_path / "with-picture.pdf")
    doc.close()
    pages = list(open_document(tmp_path / "with-picture.pdf", use_ocr=False).pages())
    # Judged by what is on it: a picture, given to OCR where it is installed.
    assert (pages[2].text, pages[2].blank) == ("", "scanned")


def test_pages_of_one_line_keep_it(tmp_path):
    """A line on top of every page that is all the page holds, with no picture to read
    instead, is the page's text: a log of one entry per page loses nothing."""
    doc = pymupdf.open()
    for number in range(1, 9):
        doc.new_page().insert_text((72, 72), f"Page {number} describes valve {number - 1}.")
    doc.save(tmp_path / "log.pdf")
    doc.close()
    pages = list(open_document(tmp_path / "log.pdf", use_ocr=False).pages())
    assert [p.text.strip() for p in pages] == [
        f"Page {n} describes valve {n - 1}." for n in range(1, 9)
    ]


def _grey_square() -> pymupdf.Pixmap:
    pixmap = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 32, 32), False)
    pixmap.clear_with(128)
    return pixmap


# --- The rule, on laid-out lines -------------------------------------------------------------


def lines(top: str | None, body: list[str], bottom: str | None) -> list[Line]:
    """A page 800 points high: `top` at y 20-30, body lines from y 100, `bottom` at 770-780."""
    laid = [Line(top, (72, 20, 300, 30))] if top else []
    laid += [Line(text, (72, 100 + 20 * i, 500, 112 + 20 * i)) for i, text in enumerate(body)]
    laid += [Line(bottom, (72, 770, 300, 780))] if bottom else []
    return laid


def dropped_texts(pages: list[list[Line]]) -> list[list[str]]:
    decided = running_lines(pages, lambda page: (page, 800.0))
    return [[page[i].text for i in sorted(dropped)] for page, dropped in decided]


def test_odd_and_even_headers_are_each_running():
    pages = [
        lines("A Book" if n % 2 else f"Chapter One {n}", [f"text {n}"], str(n)) for n in range(10)
    ]
    assert dropped_texts(pages) == [[p[0].text, p[-1].text] for p in pages]


def test_a_line_written_more_often_in_the_text_is_text():
    # "Syntax:" closes several pages of a manual that writes it on every page.
    pages = [lines(None, ["Syntax:", f"plot {n}", "Syntax:"], "Syntax:") for n in range(6)]
    assert dropped_texts(pages) == [[]] * 6


def test_a_page_number_alone_drops_only_itself():
    # Contents pages: each row holds an entry's number, title and page, the page number of the
    # page itself on the same row.
    topics = ["Pumps", "Valves", "Seals", "Gauges", "Pipes", "Filters"]
    pages = [
        [Line(f"{n}.1", (72, 20, 90, 30)), Line(topic, (100, 20, 300, 30))]
        + [Line(str(10 * n), (450, 20, 470, 30)), Line(f"- {n + 1} -", (500, 20, 520, 30))]
        + lines(None, [f"entry {n}"], None)
        for n, topic in enumerate(topics)
    ]
    assert dropped_texts(pages) == [[f"- {n + 1} -"] for n in range(6)]


def test_numbers_must_stay_or_follow_the_page():
    # Front matter numbered in Roman numerals, and invoices whose numbers do neither.
    roman = ["i", "ii", "iii", "iv", "v", "vi"]
    pages = [lines(f"Invoice {4711 + 13 * n}", [f"item {n}"], roman[n]) for n in range(6)]
    assert dropped_texts(pages) == [[number] for number in roman]


def test_pages_without_lines_drop_nothing_and_count_for_nothing():
    # Pages read by OCR (or whose text could not be told line by line) come with no lines.
    pages = [lines("A Book", ["text"], None), [], [], lines("A Book", ["more"], None), []]
    assert dropped_texts(pages) == [[]] * 5
