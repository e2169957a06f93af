"""An indexed file's note, read as the indexer writes it: its warnings (damaged pages, pages with no
readable text, bytes that could not be decoded) apart from plain information (OCR, blank pages)."""

from __future__ import annotations

from engine.library.document import Extraction
from engine.library.indexer import damage_note, file_note
from engine.library.notes import (
    DAMAGED,
    INFORMATION,
    PAGES_WITHOUT_TEXT,
    UNDECODABLE,
    note_parts,
    note_warnings,
)
from engine.library.paged import OUTLINES_PAGE, SCANNED_PAGE, UNREADABLE_PAGE
from engine.library.textfile import TextEncoding


def _pdf(pages_found: bool = False) -> Extraction:
    extraction = Extraction("pdf", 30, iter(()))
    extraction.pages_found = pages_found
    return extraction


def test_a_damaged_file_with_pages_read_by_ocr_warns_of_the_damage_only():
    note = file_note(_pdf(), 30, 10, {UNREADABLE_PAGE: 10}, ocr_pages=4)
    assert note is not None
    parts = note_parts(note)
    assert [part.kind for part in parts] == [DAMAGED, INFORMATION]
    assert parts[0].text == damage_note(30, 10, 20)  # its own "; the other 20..." kept with it
    assert parts[0].short == "10 of 30 pages cannot be read"
    assert parts[1].text == "4 of 30 pages read by OCR" and not parts[1].warning
    assert "; ".join(part.text for part in parts) == note


def test_a_file_whose_list_of_pages_was_lost_warns_that_pages_may_be_missing():
    note = file_note(_pdf(pages_found=True), 12, 2, {UNREADABLE_PAGE: 2}, 0)
    (warning,) = note_warnings(note)
    assert (warning.kind, warning.short) == (DAMAGED, "pages may be missing")


def test_pages_without_a_readable_text_layer_are_warnings_blank_pages_are_not():
    note = file_note(_pdf(), 30, 6, {SCANNED_PAGE: 2, OUTLINES_PAGE: 1, "blank": 3}, 0)
    assert [(part.kind, part.text) for part in note_parts(note)] == [
        (PAGES_WITHOUT_TEXT, "2 scanned pages without readable text"),
        (PAGES_WITHOUT_TEXT, "1 page of vector outlines without text"),
        (INFORMATION, "3 of 30 pages are blank"),
    ]


def test_bytes_that_could_not_be_decoded_are_a_warning():
    note = TextEncoding("cp1252", 3).note
    (warning,) = note_warnings(note)
    assert (warning.kind, warning.short) == (UNDECODABLE, "3 bytes could not be decoded as cp1252")


def test_a_file_with_nothing_to_say_has_no_parts():
    assert note_parts(None) == note_parts("") == []
    assert note_warnings("1,200 of 1,200 pages read by OCR") == []
