"""Text in, exactly: each kind of text that used to be lost, on a small file the test writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.library import keyword
from engine.library.extract import open_document
from engine.library.pdftext import clean_page_text, join_broken_lines
from engine.library.textfile import detect_encoding, read_text
from engine.library.types import (
    BROKEN_LINK,
    INDEXED,
    LINKED_FOLDER,
    NOT_REGULAR,
    VECTOR_OUTLINES,
)
from tests.engine.library.formats import (
    RICH_DOCX_DELETED,
    RICH_DOCX_MARKERS,
    write_lines_pdf,
    write_odt,
    write_outlines_pdf,
    write_pptx,
    write_rich_docx,
    write_truncated_pdf,
    write_xlsx,
)

# --- PDF line ends and ligatures -------------------------------------------------------------------


def test_line_end_hyphens_join_broken_words_and_keep_terms():
    text = (
        "The docu-\nment explains the error code ERR-\n4471 and the part TF-\n20-B.\n"
        "A well-known fix: the well-\nknown valve, from 1998-\n2004, a -\n- dash and\xad\nsoft."
    )
    joined = join_broken_lines(text)
    assert "document explains" in joined
    assert "ERR-4471" in joined and "ERR4471" not in joined
    assert "TF-20-B" in joined
    assert "well-known valve" in joined  # the compound is written whole elsewhere on the page
    assert "1998-2004" in joined
    assert "soft." in joined and "\xad" not in joined


def test_ligatures_are_spelled_out():
    assert clean_page_text("the \ufb01le has \ufb02ow and e\ufb00ect\r\n") == (
        "the file has flow and effect\n"
    )


def test_pdf_codes_broken_at_a_line_end_stay_exact(tmp_path, open_library):
    pdf = write_lines_pdf(
        tmp_path / "codes.pdf",
        [
            ["Decoy page: the controller logs ERR4471 when the fan stalls."],
            [
                "When the pump overheats the panel shows code ERR-",
                "4471 and stops the motor.",
                "Order the spare part TF-",
                "20-B from the supplier.",
            ],  # fmt: skip
        ],
    )
    (page1, page2) = open_document(pdf).pages()
    assert "ERR-4471" in page2.text and "TF-20-B" in page2.text
    library = open_library()
    assert library.index([pdf]).indexed == 1
    assert library.search("ERR-4471", k=1)[0].page == 2
    assert library.search("TF-20-B", k=1)[0].page == 2
    assert library.search("ERR4471", k=1)[0].page == 1


# --- text files ------------------------------------------------------------------------------------

CHINESE = "冷却泵过热时，请先关闭电源，然后检查冷却液的液位。如果液位过低，请补充冷却液。"
JAPANESE = "冷却ポンプが過熱した場合は、まず電源を切り、冷却液の量を確認してください。"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [("gbk", CHINESE * 3), ("shift_jis", JAPANESE * 3), ("cp1252", "Größe, Maße, Käse. " * 20)],
)
def test_legacy_encodings_are_detected(tmp_path, encoding, text):
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    (page,) = open_document(path).pages()
    assert page.text == text
    assert detect_encoding(path).undecodable == 0


def test_encoding_is_settled_over_the_whole_file(tmp_path):
    # ASCII for the first 64 KiB and more, Latin-1 after it: the umlauts must survive.
    ascii_part = ("plain ascii line\n" * 5000).encode()
    tail = "Die Übergangsgröße für Käse.\n"
    path = tmp_path / "late-latin1.txt"
    path.write_bytes(ascii_part + tail.encode("latin-1"))
    text = "".join(page.text for page in open_document(path).pages())
    assert text.endswith(tail) and "\ufffd" not in text


def test_undecodable_bytes_are_reported_not_hidden(tmp_path, open_library):
    path = tmp_path / "broken.txt"
    path.write_bytes("Grüße aus Köln, café.\n".encode() * 5 + b"bad \xff\xfe bytes\n")
    encoding = detect_encoding(path)
    assert encoding.name == "utf-8" and encoding.undecodable == 2
    library = open_library()
    (outcome,) = library.index([path]).outcomes
    assert outcome.status == INDEXED
    assert "2 bytes could not be decoded" in outcome.message
    (record,) = library.files()
    assert "2 bytes could not be decoded" in record.error
    # The reader the CLI uses for --pin and --history says so too.
    decoded = read_text(path)
    assert "Grüße aus Köln" in decoded.text and decoded.encoding.note


# --- Word, OpenDocument, PowerPoint, spreadsheets, CSV ---------------------------------------------


def test_word_text_in_every_part_in_order(tmp_path):
    (page,) = open_document(write_rich_docx(tmp_path / "rich.docx")).pages()
    positions = [page.text.find(marker) for marker in RICH_DOCX_MARKERS]
    assert all(p >= 0 for p in positions), [
        m for m, p in zip(RICH_DOCX_MARKERS, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)
    assert RICH_DOCX_DELETED not in page.text
    assert page.text.count("Text box note") == 1  # the fallback copy is not read twice
    assert page.headings == [(0, "Pump room")]


def test_opendocument_text(tmp_path):
    (page,) = open_document(write_odt(tmp_path / "boiler.odt")).pages()
    assert "Bleed the radiators before winter." in page.text
    assert "Use key type K3." in page.text
    assert "Pressure | 1.5 bar" in page.text and "Check the flue yearly." in page.text
    assert page.headings == [(0, "Boiler service")]


def test_slides_are_pages_cited_as_slides(tmp_path, open_library):
    path = write_pptx(tmp_path / "review.pptx")
    extraction = open_document(path)
    slides = list(extraction.pages())
    assert extraction.page_count == 2 and [s.page for s in slides] == [1, 2]
    assert "Gasket | part GX-17" in slides[1].text
    assert "Order impellers before March." in slides[1].text
    library = open_library()
    library.index([path])
    (hit,) = library.search("GX-17", k=1)
    assert (hit.page, hit.where) == (2, "slide 2")


def test_sheets_and_csv_are_cited_by_sheet_and_row(tmp_path, open_library):
    workbook = write_xlsx(tmp_path / "plant.xlsx")
    table = tmp_path / "parts.csv"
    table.write_text("part;place\nvalve V-9;shelf 3\nbelt B-2;shelf 7\n", encoding="cp1252")
    library = open_library()
    report = library.index([workbook, table])
    assert report.indexed == 2, report.to_dict()
    (hit,) = library.search("Heat exchanger overhaul", k=1, files=[workbook])
    assert hit.page is None and hit.where.startswith("sheet Budget, rows 1-")
    (hit,) = library.search("cooling tower shift lead", k=1, files=[workbook])
    assert hit.where == "sheet Staff, rows 1-2"
    (hit,) = library.search("belt B-2", k=1, files=[table])
    assert "belt B-2 | shelf 7" in hit.text and hit.where == "rows 1-3"


# --- keyword search for every script, exact codes -------------------------------------------------


def test_cjk_words_mid_sentence_are_found_by_keywords(tmp_path, open_library):
    chinese = tmp_path / "zh.txt"
    chinese.write_text(CHINESE, encoding="utf-8")
    japanese = tmp_path / "ja.txt"
    japanese.write_text(JAPANESE, encoding="utf-8")
    english = tmp_path / "en.txt"
    english.write_text("The coolant pump needs a new seal every spring.", encoding="utf-8")
    library = open_library()
    library.index([chinese, japanese, english])
    conn = library.manifest.conn
    names = dict(conn.execute("SELECT id, path FROM files").fetchall())

    def keyword_files(query: str) -> list[str]:
        return [Path(names[f]).name for f, _o, _s in keyword.search(conn, query, 5)]

    assert keyword_files("过热") == ["zh.txt"]  # "overheats", in the middle of a sentence
    assert keyword_files("液位") == ["zh.txt"]
    assert keyword_files("電源") == ["ja.txt"]
    assert keyword_files("過熱") == ["ja.txt"]
    assert "zh.txt" in keyword_files("冷却液的液位")


@pytest.mark.parametrize("code", ["C++17", "SKU#88-21/B", "v2.3.1"])
def test_codes_with_punctuation_are_matched_exactly(tmp_path, open_library, code):
    decoys = {
        "C++17": "The build uses C 17 flags and C17 mode.",
        "SKU#88-21/B": "Order SKU 88-21-B or SKU#88-21/C instead.",
        "v2.3.1": "Upgrade from v2.3.10 or v2.3 first.",
    }
    right = tmp_path / "right.txt"
    right.write_text(f"Compile the firmware with {code} enabled before flashing.")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(decoys[code])
    library = open_library()
    library.index([right, wrong])
    conn = library.manifest.conn
    exact = keyword.search(conn, code, 5, exact=True)
    assert [library.manifest.conn.execute(
        "SELECT path FROM files WHERE id = ?", (f,)).fetchone()[0] for f, _o, _s in exact
    ] == [str(right)]  # fmt: skip
    hits = library.search(code, k=2)
    assert hits[0].file == str(right) and hits[0].exact_match


# --- honest statuses ------------------------------------------------------------------------------


def test_vector_outlines_are_not_called_scanned(tmp_path, open_library):
    library = open_library()
    (outcome,) = library.index([write_outlines_pdf(tmp_path / "curves.pdf")]).outcomes
    assert outcome.status == VECTOR_OUTLINES
    assert outcome.message == "vector outlines, no text"


def test_truncated_pdf_is_indexed_and_called_damaged(tmp_path, open_library):
    library = open_library()
    (outcome,) = library.index([write_truncated_pdf(tmp_path / "cut.pdf")]).outcomes
    assert (outcome.status, outcome.pages) == (INDEXED, 20)
    assert outcome.message == (
        "damaged: 14 of 20 pages cannot be read (the file is cut short or damaged); "
        "the other 6 are searchable"
    )
    assert library.search("Page 6 describes valve 5", k=1)[0].page == 6


def test_folder_entries_that_are_not_files_each_get_a_line(tmp_path, open_library):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.txt").write_text("The real document about lighthouse lamps.")
    (docs / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(docs / "pipe.txt")
    (docs / "linked").symlink_to(tmp_path)
    library = open_library()
    report = library.index([docs, tmp_path / "also-dangling.pdf"])
    by_name = {Path(o.path).name: o for o in report.all_outcomes}
    assert by_name["real.txt"].status == INDEXED
    assert (by_name["dangling.txt"].status, by_name["dangling.txt"].message) == (
        BROKEN_LINK,
        "broken link",
    )
    assert (by_name["pipe.txt"].status, by_name["pipe.txt"].message) == (
        NOT_REGULAR,
        "not a regular file",
    )
    assert by_name["linked"].status == LINKED_FOLDER
    # A named pipe is never opened (that would wait forever), even when named directly.
    (outcome,) = library.index([docs / "pipe.txt"]).skipped
    assert outcome.status == NOT_REGULAR


def test_a_blank_page_is_counted_in_words_that_agree(tmp_path, open_library):
    import pymupdf

    path = tmp_path / "gap.pdf"
    document = pymupdf.open()
    for number in range(3):
        page = document.new_page()
        if number != 1:
            page.insert_text((72, 72), f"Page {number + 1} tells of the tides and the moon.")
    document.save(path)
    document.close()
    (outcome,) = open_library().index([path]).outcomes
    assert outcome.message == "1 of 3 pages is blank"


def test_a_short_western_european_text_in_a_windows_code_page_reads_as_written(tmp_path):
    """A sample this short reads equally well in cp1250, cp1252 and cp1257 to the detector:
    the likeliest, Western European, wins the tie ("crème", not "crčme")."""
    text = "Café Müller’s crème brûlée costs 7 € — “quoted”. The chef is Zoë Ångström."
    path = tmp_path / "menu.txt"
    path.write_bytes(text.encode("cp1252"))
    assert read_text(path).text == text
    czech = "Příliš žluťoučký kůň úpěl ďábelské ódy. Čeština je krásný jazyk, řekl Jiří."
    path.write_bytes(czech.encode("cp1250"))
    assert read_text(path).text == czech  # a clear winner still wins
