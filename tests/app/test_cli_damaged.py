"""`hearth index`, `search` and `library show` on a cut-short PDF: indexed, its damage said on
its line, its pages found at their own numbers."""

from __future__ import annotations

import pytest

from app.cli import main
from tests.engine.library.test_cut_short import cut_inside_page

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_embedding_model")]

NOTE = (
    "damaged: 13 of 30 pages cannot be read (the file is cut short or damaged); "
    "the other 17 are searchable"
)


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_cut_short_pdf_is_indexed_and_its_damage_said(capsys, tmp_path):
    pdf = cut_inside_page(tmp_path / "bird-log.pdf", 18)
    code, out, err = run(capsys, "index", str(pdf), "--library", "birds")
    assert code == 0
    assert f"indexed    {pdf}  (30 pages, 17 chunks; {NOTE})" in err
    assert "Library 'birds': 1 indexed, 0 unchanged, 0 skipped, 0 failed; 30 pages" in out

    code, out, _ = run(capsys, "search", "HX-017", "--library", "birds", "--k", "1")
    assert code == 0 and out.startswith("1. bird-log.pdf, page 17  (score ")

    code, out, _ = run(capsys, "library", "show", "birds")
    assert code == 0 and f"indexed    {pdf}  ({NOTE})" in out

    code, out, err = run(capsys, "index", str(pdf), "--library", "birds")
    assert code == 0 and "1 unchanged" in out and "unchanged  " in err
