"""`hearth library show` and `list` set a file indexed with a warning (a cut-short PDF's lost
pages) apart from one whose note is plain information, in the words the window's notice uses."""

from __future__ import annotations

import json

import pytest

from tests.app.test_cli_damaged import NOTE, run
from tests.engine.library.test_cut_short import cut_inside_page, sentence

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_embedding_model")]

BLANK_NOTE = "1 of 3 pages is blank"


@pytest.fixture
def docs(tmp_path):
    """A good text file, a PDF with a blank page (a note of information) and a PDF cut short
    inside its 18th page (a warning: 13 of its 30 pages are lost)."""
    import pymupdf

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("The lighthouse keeper logs every passing gannet.\n")
    doc = pymupdf.open()
    for page in (1, 0, 2):  # the middle page left empty
        new = doc.new_page()
        if page:
            new.insert_text((72, 72), sentence(page), fontsize=11)
    doc.save(folder / "short.pdf")
    doc.close()
    cut_inside_page(folder / "bird-log.pdf", 18)
    return folder


def shown_rows(out: str) -> dict[str, str]:
    """The rows of `library show`, by file name."""
    return {line.split("/")[-1].split("  ")[0]: line for line in out.splitlines()[1:]}


def test_show_marks_the_damaged_file_and_counts_it(capsys, docs):
    code, _, _ = run(capsys, "index", str(docs), "--library", "birds")
    assert code == 0
    code, out, _ = run(capsys, "library", "show", "birds")
    assert code == 0
    header = out.splitlines()[0]
    assert header.endswith("3 files: 3 indexed (20 chunks), 1 with damaged pages")
    rows = shown_rows(out)
    assert rows["bird-log.pdf"] == f"! indexed    {docs / 'bird-log.pdf'}  ({NOTE})"
    # Plain information (a blank page) and no note at all are not marked.
    assert rows["short.pdf"] == f"  indexed    {docs / 'short.pdf'}  ({BLANK_NOTE})"
    assert rows["notes.txt"] == f"  indexed    {docs / 'notes.txt'}  (1 chunk)"
    assert out.splitlines()[-1] == (
        "! 1 file with damaged pages: part of it cannot be searched, as its note says."
    )


def test_list_counts_the_files_with_warnings(capsys, docs):
    run(capsys, "index", str(docs), "--library", "birds")
    run(capsys, "index", str(docs / "bird-log.pdf"), "--library", "damaged")
    run(capsys, "index", str(docs / "notes.txt"), "--library", "good")
    code, out, _ = run(capsys, "library", "list")
    assert code == 0
    assert out.splitlines() == [
        "birds: 3 files: 3 indexed (20 chunks), 1 with damaged pages",
        # Not "1 indexed, 1 with damaged pages", which reads as two files.
        "damaged: 1 file: 1 indexed with damaged pages (17 chunks)",
        "good: 1 file: 1 indexed (1 chunk)",
    ]


def test_json_gives_each_note_its_level(capsys, docs):
    run(capsys, "index", str(docs), "--library", "birds")
    code, out, _ = run(capsys, "library", "show", "birds", "--json")
    assert code == 0
    shown = json.loads(out)
    levels = {f["path"].rsplit("/", 1)[-1]: (f["note_level"], f["error"]) for f in shown["files"]}
    assert levels == {
        "bird-log.pdf": ("warning", NOTE),
        "short.pdf": ("information", BLANK_NOTE),
        "notes.txt": (None, None),
    }
    assert shown["files_with_warnings"] == 1

    code, out, _ = run(capsys, "library", "list", "--json")
    assert code == 0 and json.loads(out)[0]["files_with_warnings"] == 1
