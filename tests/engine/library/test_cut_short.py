"""A PDF that is cut short or partly damaged: the pages that read are indexed, searched and shown
at their own page numbers, the file's status says it is damaged and how many pages are lost, and
a file none of whose pages reads is still refused."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from engine.library.extract import open_document
from engine.library.paged import UNREADABLE_PAGE
from engine.library.types import DAMAGED, INDEXED, UNCHANGED
from engine.page_render import render_page

BIRDS = (
    "heron", "curlew", "gannet", "puffin", "kittiwake", "fulmar", "shag", "eider", "merganser",
    "oystercatcher", "dunlin", "knot", "sanderling", "turnstone", "redshank", "greenshank",
    "whimbrel", "godwit", "plover", "lapwing", "skua", "tern", "guillemot", "razorbill",
    "petrel", "shearwater", "cormorant", "grebe", "diver", "wigeon",
)  # fmt: skip
PAGES = len(BIRDS)


def sentence(page: int) -> str:
    """The one sentence page `page` (1-based) holds: a bird and a code no other page has."""
    return f"Page {page}: the keeper ringed a {BIRDS[page - 1]} under code HX-{page:03d}."


def write_pdf(path: Path, pages: int = PAGES) -> bytes:
    """A PDF as PyMuPDF writes it (page list first), each page with its own sentence; returns
    its bytes."""
    import pymupdf

    doc = pymupdf.open()
    for page in range(1, pages + 1):
        doc.new_page().insert_text((72, 72), sentence(page), fontsize=11)
    doc.save(path)
    doc.close()
    return path.read_bytes()


def content_start(data: bytes, page: int) -> int:
    """Where the object holding page `page`'s text starts (each page has one content stream)."""
    streams = [m.start() for m in re.finditer(rb"\nstream\n", data)]
    return data.rfind(b" obj\n", 0, streams[page - 1]) + len(b" obj\n")


def cut_inside_page(path: Path, page: int) -> Path:
    """`path` cut in the middle of the object that holds page `page`'s text, as a download that
    stopped there leaves it: MuPDF's own repair gives up on such a file."""
    data = write_pdf(path)
    path.write_bytes(data[: content_start(data, page) + len(b"<</Len")])
    return path


def garble_page(path: Path, page: int) -> Path:
    """`path` (written by `write_pdf`) with the compressed text of page `page` overwritten, as a
    bad sector or a broken copy leaves a file: its size and every other page are intact."""
    data = bytearray(path.read_bytes())
    start = data.index(b"stream\n", content_start(bytes(data), page)) + len(b"stream\n")
    data[start : start + 40] = bytes(40)
    path.write_bytes(bytes(data))
    return path


def write_pdf_page_list_last(path: Path, pages: int, keep_pages: int) -> Path:
    """A PDF that stores its page list and catalog after its pages (as pdfTeX and many other
    writers do), cut short inside page `keep_pages + 1`: its page list is lost with its end."""
    objects: list[bytes] = [b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    page_list = 2 * pages + 2
    for page in range(1, pages + 1):
        text = f"BT /F1 11 Tf 72 720 Td ({sentence(page)}) Tj ET".encode()
        objects.append(b"<</Length %d>>\nstream\n%s\nendstream" % (len(text), text))
        objects.append(
            b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 1 0 R>>>>"
            b"/Contents %d 0 R>>" % (page_list, len(objects))
        )
    kids = b" ".join(b"%d 0 R" % (2 * page + 1) for page in range(1, pages + 1))
    objects.append(b"<</Type/Pages/Count %d/Kids[%s]>>" % (pages, kids))
    objects.append(b"<</Type/Catalog/Pages %d 0 R>>" % page_list)
    data = b"%PDF-1.4\n"
    starts = []
    for number, body in enumerate(objects, start=1):
        starts.append(len(data))
        data += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(data)
    data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    data += b"".join(b"%010d 00000 n \n" % start for start in starts)
    data += b"trailer\n<</Size %d/Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    cut_page = starts[2 * keep_pages + 1]  # the content of the first page lost
    path.write_bytes(data[: cut_page + 20])
    return path


# --- reading what is left (PyMuPDF only) ----------------------------------------------------------


def test_a_pdf_cut_inside_an_object_gives_its_whole_pages(tmp_path):
    extraction = open_document(cut_inside_page(tmp_path / "cut.pdf", 18))
    pages = list(extraction.pages())
    assert extraction.repaired and extraction.page_count == PAGES
    assert [page.page for page in pages] == list(range(1, PAGES + 1))
    for page in pages[:17]:
        assert sentence(page.page) in " ".join(page.text.split())
    assert all(not page.text.strip() and page.blank == UNREADABLE_PAGE for page in pages[17:])


def test_a_page_list_that_outnumbers_what_is_left_is_still_read(tmp_path):
    # Six pages left of thirty: the page list counts more pages than the file has objects.
    extraction = open_document(cut_inside_page(tmp_path / "stub.pdf", 7))
    pages = list(extraction.pages())
    assert extraction.page_count == PAGES
    assert [bool(page.text.strip()) for page in pages] == [True] * 6 + [False] * 24
    assert sentence(6) in " ".join(pages[5].text.split())


def test_a_page_damaged_inside_an_intact_file_is_unreadable_not_blank(tmp_path):
    pdf = tmp_path / "copied.pdf"
    write_pdf(pdf)
    pages = list(open_document(garble_page(pdf, 5)).pages())
    assert [page.page for page in pages if not page.text.strip()] == [5]
    assert pages[4].blank == UNREADABLE_PAGE
    assert sentence(6) in " ".join(pages[5].text.split())


def test_a_lost_page_list_is_rebuilt_from_the_pages_found(tmp_path):
    extraction = open_document(write_pdf_page_list_last(tmp_path / "paper.pdf", 12, 7))
    pages = list(extraction.pages())
    assert extraction.pages_found and extraction.page_count == 7
    assert [" ".join(page.text.split()) for page in pages] == [sentence(n) for n in range(1, 8)]


def test_a_cited_page_of_a_cut_short_file_is_shown(tmp_path):
    cut = cut_inside_page(tmp_path / "cut.pdf", 18)
    shown = render_page(cut, 17, passage=sentence(17))
    assert (shown.page, shown.page_count) == (17, PAGES) and shown.highlights
    paper = write_pdf_page_list_last(tmp_path / "paper.pdf", 12, 7)
    shown = render_page(paper, 5, passage=sentence(5))
    assert (shown.page, shown.page_count) == (5, 7) and shown.highlights


def test_the_damage_is_worded_with_its_counts():
    from engine.library.indexer import damage_note

    assert damage_note(30, 13, 17) == (
        "damaged: 13 of 30 pages cannot be read (the file is cut short or damaged); "
        "the other 17 are searchable"
    )
    assert damage_note(2, 1, 1) == (
        "damaged: 1 of 2 pages cannot be read (the file is cut short or damaged); "
        "the other page is searchable"
    )
    assert damage_note(30, 13, 15).endswith("; 15 of the other 17 are searchable")
    assert damage_note(7, 0, 7, pages_found=True) == (
        "damaged: pages may be missing (the file is cut short or damaged); "
        "the 7 pages found are searchable"
    )


# --- indexed with a warning (the real library) ----------------------------------------------------


def test_a_cut_short_pdf_is_indexed_with_a_damaged_warning(tmp_path, open_library):
    cut = cut_inside_page(tmp_path / "cut.pdf", 18)
    library = open_library()
    (outcome,) = library.index([cut]).outcomes
    note = (
        "damaged: 13 of 30 pages cannot be read (the file is cut short or damaged); "
        "the other 17 are searchable"
    )
    assert (outcome.status, outcome.message, outcome.pages) == (INDEXED, note, PAGES)
    (record,) = library.files()
    assert (record.status, record.error, record.pages) == (INDEXED, note, PAGES)

    for page in (1, 9, 17):
        hits = library.search(f"the keeper ringed a {BIRDS[page - 1]} under code HX-{page:03d}")
        assert (hits[0].page, hits[0].file) == (page, str(cut))
        assert f"HX-{page:03d}" in hits[0].text
    for page in (18, 30):
        hits = library.search(f"HX-{page:03d}", k=3)
        assert all(f"HX-{page:03d}" not in hit.text for hit in hits)

    # Read once: the same file is not read again and again, even when touched.
    for _ in range(2):
        (again,) = library.index([cut]).all_outcomes
        assert (again.status, again.pages) == (UNCHANGED, PAGES)
        assert library.files()[0].error == note
        stamp = cut.stat().st_mtime + 60
        os.utime(cut, (stamp, stamp))


def test_a_page_damaged_inside_a_pdf_is_counted_as_lost(tmp_path, open_library):
    pdf = tmp_path / "copied.pdf"
    write_pdf(pdf)
    library = open_library()
    (outcome,) = library.index([garble_page(pdf, 5)]).outcomes
    assert (outcome.status, outcome.pages) == (INDEXED, PAGES)
    assert outcome.message == (
        "damaged: 1 of 30 pages cannot be read (the file is cut short or damaged); "
        "the other 29 are searchable"
    )


def test_a_pdf_that_lost_its_page_list_is_indexed_with_the_pages_found(tmp_path, open_library):
    paper = write_pdf_page_list_last(tmp_path / "paper.pdf", 12, 7)
    library = open_library()
    (outcome,) = library.index([paper]).outcomes
    assert (outcome.status, outcome.pages) == (INDEXED, 7)
    assert outcome.message == (
        "damaged: pages may be missing (the file is cut short or damaged); "
        "the 7 pages found are searchable"
    )
    assert library.search("the keeper ringed a whimbrel under code HX-005")[0].page == 5


@pytest.mark.parametrize("what", ["page list only", "header only"])
def test_a_pdf_none_of_whose_pages_reads_is_still_refused(tmp_path, open_library, what):
    data = write_pdf(tmp_path / "gone.pdf")
    # Everything up to the first page's text, or the first 200 bytes.
    keep = content_start(data, 1) if what == "page list only" else 200
    (tmp_path / "gone.pdf").write_bytes(data[:keep])
    library = open_library()
    (outcome,) = library.index([tmp_path / "gone.pdf"]).outcomes
    assert outcome.status == DAMAGED and outcome.message.startswith("damaged")
    assert library.files()[0].status == DAMAGED and not library.search("HX-001", k=3)
