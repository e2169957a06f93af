"""The library commands print file names escaped, count files the same way in text and JSON, and
keep library progress bars off the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli import main

HOSTILE = {
    "two\nlines.txt": "two\\nlines.txt",
    "red\x1b[31mtext.txt": "red\\x1b[31mtext.txt",
    "invoice\u202etxt.exe.txt": "invoice\\u202etxt.exe.txt",
}


pytestmark = pytest.mark.usefixtures("one_embedding_model")


@pytest.fixture
def hostile_docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in HOSTILE:
        (folder / name).write_text(f"The harbour crane {name!r} lifts containers at dawn.")
    raw = os.path.join(os.fsencode(folder), b"caf\xe9.txt")
    with open(raw, "wb") as stream:
        stream.write(b"The harbour cafe opens at six.")
    return folder


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(text):
    assert "\x1b" not in text and "\u202e" not in text
    for line in text.splitlines():
        line.encode("utf-8")  # no lone surrogates reach the terminal
    for raw in HOSTILE:
        assert raw not in text


def test_names_are_escaped_in_progress_show_and_search(capsys, hostile_docs):
    code, out, err = run(capsys, "index", str(hostile_docs))
    assert code == 1  # the name that is not text cannot be stored; it is reported
    assert_clean(out + err)
    for shown in HOSTILE.values():
        assert shown in err  # one progress line per file, name escaped
    assert len([line for line in err.splitlines() if "indexed" in line]) == 3
    assert "caf\\xe9.txt: the file name is not valid text" in out

    code, out, err = run(capsys, "library", "show", "default")
    assert_clean(out)
    assert len(out.strip().splitlines()) == 1 + 3
    for shown in HOSTILE.values():
        assert shown in out

    code, out, _ = run(capsys, "search", "harbour crane", "--k", "4")
    assert code == 0
    assert_clean(out)
    assert any(shown in out for shown in HOSTILE.values())


def test_index_json_and_the_summary_count_the_same_files(capsys, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "notes.txt").write_text("Lanterns were lit at dusk along the quay.")
    (folder / "empty.txt").write_text("")
    (folder / "picture.xyz").write_bytes(b"\0\1\2")
    (folder / ".hidden.txt").write_text("secret")
    counts = []
    for _ in range(2):  # the second run finds notes.txt unchanged
        # The same files into two libraries: one reports in words, the other in JSON.
        _, out, _ = run(capsys, "index", str(folder), "--library", "words")
        text = out.splitlines()[0]
        _, out, _ = run(capsys, "index", str(folder), "--library", "json", "--json")
        report = json.loads(out)
        counts.append(report)
        for key in ("indexed", "unchanged", "skipped", "failed"):
            assert f" {report[key]} {key}" in text, (key, text)
        assert f"{report['chunks']} chunk" in text
    assert counts[0]["indexed"] == 1 and counts[0]["skipped"] == 2 and counts[0]["failed"] == 1
    assert counts[1]["unchanged"] == 1 and counts[1]["skipped"] == 2


def test_library_show_counts_every_file_and_says_one_chunk(capsys, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    (folder / "one.txt").write_text("A single short note.\n")
    (folder / "blank.txt").write_text("   ")
    run(capsys, "index", str(folder), "--library", "few")
    _, out, _ = run(capsys, "library", "show", "few")
    header, *rows = out.strip().splitlines()
    assert "2 files: 1 indexed (1 chunk), 1 not indexed" in header
    assert any(row.endswith("(1 chunk)") for row in rows)
    assert "1 chunks" not in out and "1 pages" not in out


def test_no_library_progress_bars_on_stderr_with_json(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("The router resets after ten seconds.")
    env = {**os.environ, "HEARTH_HOME": str(tmp_path / "home")}
    for args in (["index", str(folder), "--json"], ["search", "router", "--json"]):
        result = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True,
                                text=True, timeout=300, env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        json.loads(result.stdout)
        assert "Loading weights" not in result.stderr and "it/s" not in result.stderr
        assert "\r" not in result.stderr


def test_library_counts_have_thousands_separators():
    """Before: "default: 65 files: 25 indexed (4950 chunks)" and "1484 chunks in 64.6 s"."""
    import io

    from app.cli_library import _library_counts, print_summary
    from engine.library.library import LibraryInfo
    from engine.library.types import FileOutcome, IndexReport

    info = LibraryInfo("big", "/tmp/big", files=1_200, chunks=4_950, pending=1_001, failed=0)
    assert _library_counts(info) == "2,201 files: 1,200 indexed (4,950 chunks), 1,001 pending"
    report = IndexReport("big")
    report.outcomes = [FileOutcome(f"/d/{i}.txt", "indexed", chunks=2, pages=3)
                       for i in range(1_500)]  # fmt: skip
    stream = io.StringIO()
    print_summary(report, stream)
    assert "1,500 indexed" in stream.getvalue()
    assert "4,500 pages, 3,000 chunks" in stream.getvalue()


def test_a_file_taken_out_of_the_library_is_named_with_why():
    """Before: "1 removed" and nothing else, so a file that was only moved seemed lost."""
    import io

    from app.cli_library import print_summary
    from engine.library.types import REMOVED, FileOutcome, IndexReport

    report = IndexReport("docs", [FileOutcome("/d/manual.pdf", REMOVED, "the file is gone")])
    stream = io.StringIO()
    print_summary(report, stream)
    assert "1 removed" in stream.getvalue()
    assert "removed: /d/manual.pdf: the file is gone" in stream.getvalue()
