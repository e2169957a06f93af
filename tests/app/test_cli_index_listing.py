"""`hearth index` lists each entry of a folder once, in plain words, and counts the files as
`hearth library show` and the window do."""

from __future__ import annotations

import os

import pytest

from app.cli import main

pytestmark = pytest.mark.usefixtures("one_embedding_model")


def test_each_entry_is_listed_once_without_doubled_words(capsys, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tides.txt").write_text("The tide turns twice a day at the harbour.")
    (docs / "linked").symlink_to(tmp_path)
    bad_name = os.fsencode(docs) + b"/caf\xe9.txt"  # not UTF-8: the library cannot store it
    with open(bad_name, "wb") as stream:
        stream.write(b"Latin-1 named notes.")
    code = main(["index", str(docs), "--library", "listing"])
    out, _err = capsys.readouterr()
    assert code == 1  # the misnamed file is not indexed
    lines = out.splitlines()
    assert lines[0].startswith("Library 'listing': 1 indexed, 0 unchanged, 1 skipped, 1 failed")
    # Before: the misnamed file twice ("unreadable: ..." and "skipped: ..."), and
    # "skipped: ...: skipped: link to a folder, not followed".
    assert sum("caf" in line for line in lines) == 1
    assert any(line.startswith("  unreadable: ") and "caf" in line for line in lines)
    assert f"  skipped: {docs / 'linked'}: link to a folder, not followed" in lines
    assert "skipped: skipped" not in out and ": skipped:" not in out

    assert main(["library", "show", "listing"]) == 0
    shown = capsys.readouterr().out
    assert "1 file: 1 indexed" in shown.splitlines()[0]
