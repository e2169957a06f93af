"""Text extraction per format, page numbers as a viewer shows them, headings, and bad files."""

from __future__ import annotations

import pytest

from engine.library.extract import TEXT_BLOCK_CHARS, open_document
from engine.library.types import DAMAGED, EMPTY, ENCRYPTED, VANISHED, FileProblem
from tests.engine.library.corpus import (
    HTML_SAMPLE,
    MARKDOWN_SAMPLE,
    TOPICS,
    write_damaged_pdf,
    write_docx,
    write_encrypted_pdf,
    write_guide_pdf,
    write_image_only_pdf,
)


def test_pdf_pages_are_numbered_from_one_with_outline_headings(guide_pdf):
    extraction = open_document(guide_pdf)
    pages = list(extraction.pages())
    assert extraction.page_count == len(TOPICS) == len(pages)
    assert [p.page for p in pages] == list(range(1, len(TOPICS) + 1))
    for page, (heading, text) in zip(pages, TOPICS, strict=True):
        assert text.split()[0] in page.text
        assert page.headings == [(0, heading)]
    assert pages[1].heading_before == TOPICS[0][0]


def test_pdf_without_outline_finds_headings_by_font_size(tmp_path):
    pages = list(open_document(write_guide_pdf(tmp_path / "plain.pdf", with_outline=False)).pages())
    assert [p.headings[0][1] for p in pages] == [heading for heading, _ in TOPICS]


def test_encrypted_pdf_is_reported(tmp_path):
    with pytest.raises(FileProblem) as caught:
        open_document(write_encrypted_pdf(tmp_path / "locked.pdf"))
    assert caught.value.status == ENCRYPTED
    assert "password" in caught.value.message


def test_damaged_and_fake_pdfs_are_reported(tmp_path, guide_pdf):
    fake = tmp_path / "fake.pdf"
    fake.write_text("this is a shopping list, not a PDF\n" * 20)
    for path in (write_damaged_pdf(tmp_path / "cut.pdf", guide_pdf), fake):
        with pytest.raises(FileProblem) as caught:
            open_document(path)
        assert caught.value.status == DAMAGED


@pytest.mark.slow  # the pages go through OCR, a real recognition model
def test_image_only_pages_give_empty_text(tmp_path):
    pages = list(open_document(write_image_only_pdf(tmp_path / "scan.pdf")).pages())
    assert [p.page for p in pages] == [1, 2]
    assert all(not p.text.strip() for p in pages)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(FileProblem) as caught:
        open_document(empty)
    assert caught.value.status == EMPTY
    with pytest.raises(FileProblem) as caught:
        open_document(tmp_path / "gone.pdf")
    assert caught.value.status == VANISHED


def test_html_keeps_structure_drops_tags_scripts_and_comments(tmp_path):
    path = tmp_path / "notes.html"
    path.write_text(HTML_SAMPLE)
    (page,) = open_document(path).pages()
    assert page.page is None
    assert "Plant garlic cloves in autumn, pointed end up." in page.text
    assert "Pests\n\nSlugs love young lettuce.\nAphids gather on roses." in page.text
    for absent in ("<", "do not index", "color: red", "a comment"):
        assert absent not in page.text
    assert [title for _, title in page.headings] == ["Garden notes", "Pests"]
    position = dict((title, pos) for pos, title in page.headings)["Pests"]
    assert page.text[position:].startswith("Pests")


def test_markdown_headings_and_text(tmp_path):
    path = tmp_path / "rules.md"
    path.write_text(MARKDOWN_SAMPLE)
    (page,) = open_document(path).pages()
    assert [title for _, title in page.headings] == [
        "Workshop rules",
        "Cleaning up",
        "Setext title",
    ]
    assert "Wear safety glasses at the lathe." in page.text


def test_docx_paragraphs_headings_and_tables(tmp_path):
    (page,) = open_document(write_docx(tmp_path / "harbour.docx")).pages()
    assert "lock gates two hours before high tide" in page.text
    assert "Showers | code 4419" in page.text
    assert [title for _, title in page.headings] == ["Harbour guide", "Mooring fees"]


def test_damaged_docx(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(FileProblem) as caught:
        open_document(path)
    assert caught.value.status == DAMAGED


def test_large_text_file_is_read_in_blocks_with_exact_offsets(tmp_path):
    line = "The quick brown fox jumps over the lazy dog near the river bank.\n"
    text = line * (3 * TEXT_BLOCK_CHARS // len(line))
    path = tmp_path / "big.txt"
    path.write_text(text)
    blocks = list(open_document(path).pages())
    assert len(blocks) >= 3
    assert all(len(b.text) <= TEXT_BLOCK_CHARS for b in blocks)
    assert "".join(b.text for b in blocks) == text
    for block in blocks:
        assert text[block.offset : block.offset + len(block.text)] == block.text


def test_binary_file_named_txt_is_damaged(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(FileProblem) as caught:
        open_document(path)
    assert caught.value.status == DAMAGED


def test_text_without_line_breaks_stays_bounded(tmp_path):
    path = tmp_path / "one-line.txt"
    path.write_text("word " * TEXT_BLOCK_CHARS)
    blocks = list(open_document(path).pages())
    assert len(blocks) >= 5
    assert all(len(b.text) <= TEXT_BLOCK_CHARS for b in blocks)
    assert "".join(b.text for b in blocks) == path.read_text()
