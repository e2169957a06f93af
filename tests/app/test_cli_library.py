"""`hearth index`, `search`, `ask` and `library` as a person runs them in a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli import main
from tests.engine.library.corpus import write_encrypted_pdf, write_guide_pdf

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_embedding_model")]


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_guide_pdf(folder / "guide.pdf")
    write_encrypted_pdf(folder / "locked.pdf")
    return folder


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_reports_each_file_and_a_summary(capsys, docs):
    code, out, err = run(capsys, "index", str(docs), "--library", "manuals")
    assert code == 1  # one file could not be indexed
    assert "indexed    " in err and "guide.pdf" in err and "(12 pages," in err
    assert "encrypted" in err and "locked.pdf" in err
    assert "Library 'manuals': 1 indexed, 0 unchanged, 0 skipped, 1 failed; 12 pages" in out
    assert "encrypted: " in out and "password-protected" in out

    code, out, _ = run(capsys, "index", str(docs / "guide.pdf"), "--library", "manuals", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["unchanged"] == 1 and summary["indexed"] == 0
    assert summary["files"][0]["status"] == "unchanged"


def test_search_prints_file_page_score_and_excerpt(capsys, docs):
    run(capsys, "index", str(docs / "guide.pdf"))
    code, out, _ = run(capsys, "search", "best water temperature for green tea", "--k", "2")
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("1. guide.pdf, page 4 - Brewing green tea  (score ")
    assert "eighty degrees Celsius" in out

    code, out, _ = run(capsys, "search", "QZV-7734-KR", "--json", "--k", "3")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    assert hits[0]["page"] == 7 and hits[0]["file"].endswith("guide.pdf")
    assert {"file", "page", "text", "score", "heading"} <= set(hits[0])


def test_a_terminal_search_knows_a_german_question_from_its_first_search(capsys, docs):
    """A new `hearth search` process ranks as the window does: the English embedding model's
    similarity does not count for a German question (see engine/library/language.py)."""
    run(capsys, "index", str(docs / "guide.pdf"))

    def search(question: str) -> list[dict]:
        done = subprocess.run([sys.executable, "-m", "app", "search", question, "--json"],
                              capture_output=True, text=True, timeout=180, check=True)  # fmt: skip
        return json.loads(done.stdout)

    german = search("Wofür steht der Code QZV-7734-KR?")
    assert german[0]["page"] == 7
    assert not any(hit["meaning_known"] for hit in german)
    assert all(hit["meaning_known"] for hit in search("What does the code QZV-7734-KR mean?"))


def test_a_search_in_a_library_an_older_hearth_indexed_says_how_to_read_it_again(
    capsys, docs, hearth_home
):
    import sqlite3

    run(capsys, "index", str(docs / "guide.pdf"))
    database = hearth_home / "data" / "libraries" / "default" / "library.sqlite3"
    with sqlite3.connect(database) as conn:  # as the previous release left it
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    code, out, err = run(capsys, "search", "green tea", "--k", "1")
    assert code == 0 and "guide.pdf" in out
    assert "note: 1 document was indexed by an older Hearth; `hearth index`" in err

    run(capsys, "index", str(docs / "guide.pdf"))
    code, out, err = run(capsys, "search", "green tea", "--k", "1")
    assert code == 0 and "older Hearth" not in err


def test_search_and_ask_can_rerank_with_the_bundled_gemma(capsys, docs):
    run(capsys, "index", str(docs / "guide.pdf"))
    question = "best water temperature for green tea"
    code, out, _ = run(capsys, "search", question, "--k", "2", "--rerank", "--json")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2
    assert hits[0]["page"] == 4 and "Brewing green tea" in hits[0]["text"]
    # The order follows the reranker's score, which each hit carries.
    assert hits[0]["rerank_score"] >= hits[1]["rerank_score"]

    code, out, _ = run(capsys, "search", question, "--k", "2", "--rerank")
    first = out.splitlines()[0]
    assert first.startswith("1. guide.pdf, page 4 - Brewing green tea  (reranked -")
    assert ", score 0." in first

    code, out, _ = run(capsys, "ask", question, "--k", "2", "--rerank", "--json",
                       "--max-tokens", "8", "--seed", "1")  # fmt: skip
    answer = json.loads(out)
    assert code == 0 and answer["sources"][0]["page"] == 4
    assert answer["sources"][0]["rerank_score"] < 0


def test_a_reranking_model_that_cannot_load_is_said_and_the_search_goes_on(
    capsys, docs, tmp_path, monkeypatch
):
    run(capsys, "index", str(docs / "guide.pdf"))
    broken = tmp_path / "gemma.gguf"
    broken.write_bytes(b"this is not a model")
    monkeypatch.setattr("engine.bundled.gemma_model_path", lambda: broken)
    question = "best water temperature for green tea"
    code, out, err = run(capsys, "search", question, "--k", "2", "--rerank", "--json")
    hits = json.loads(out)
    assert code == 0 and hits[0]["page"] == 4 and hits[0]["rerank_score"] is None
    assert "hearth: The reranking model could not be loaded:" in err
    assert "Searches keep their own order" in err

    code, out, err = run(capsys, "ask", question, "--k", "2", "--rerank", "--json",
                         "--max-tokens", "8", "--seed", "1")  # fmt: skip
    assert code == 0 and json.loads(out)["sources"][0]["page"] == 4
    # Said although the chat model loads beside the search (its load silences stderr).
    assert "hearth: The reranking model could not be loaded" in err


def test_library_list_show_and_remove(capsys, docs):
    run(capsys, "index", str(docs), "--library", "one")
    run(capsys, "index", str(docs / "guide.pdf"), "--library", "two")
    code, out, _ = run(capsys, "library", "list")
    assert code == 0
    assert "one: 2 files: 1 indexed (" in out and ", 1 not indexed" in out
    assert "two: 1 file: 1 indexed (" in out

    code, out, _ = run(capsys, "library", "show", "one", "--json")
    shown = json.loads(out)
    assert {os.path.basename(f["path"]): f["status"] for f in shown["files"]} == {
        "guide.pdf": "indexed",
        "locked.pdf": "encrypted",
    }

    code, out, _ = run(capsys, "library", "remove", "one", "--file", str(docs / "guide.pdf"))
    assert code == 0 and "Removed" in out
    code, out, _ = run(capsys, "library", "show", "one")
    assert "guide.pdf" not in out and "locked.pdf" in out

    code, out, _ = run(capsys, "library", "remove", "one")
    assert code == 0
    code, out, _ = run(capsys, "library", "list", "--json")
    assert [entry["name"] for entry in json.loads(out)] == ["two"]


def test_mistakes_get_plain_messages(capsys, docs):
    code, _, err = run(capsys, "search", "bees", "--library", "nowhere")
    assert code == 2 and "There is no library named 'nowhere'" in err
    code, _, err = run(capsys, "index")
    assert code == 2 and "Name the files or folders to index" in err
    code, _, err = run(capsys, "index", str(docs), "--library", "../up")
    assert code == 2 and "cannot be used as a library name" in err
    run(capsys, "index", str(docs / "guide.pdf"))
    code, _, err = run(capsys, "search", "   ")
    assert code == 2 and "Type something to search for" in err
    code, _, err = run(capsys, "library", "remove", "default", "--file", "/not/indexed.pdf")
    assert code == 2 and "is not in the library" in err


def test_ask_says_not_found_without_loading_a_model(capsys, docs):
    run(capsys, "index", str(docs / "guide.pdf"))
    code, out, _ = run(capsys, "ask", "What does this document say about cryptocurrency taxes?")
    assert code == 0 and out.strip() == "Not found in your documents."
    code, out, _ = run(capsys, "ask", "Who won the 1966 world cup?", "--json")
    result = json.loads(out)
    assert result["found"] is False and result["sources"] == [] and result["stats"] is None


@pytest.mark.slow
def test_ask_streams_an_answer_then_numbered_sources(capsys, docs):
    run(capsys, "index", str(docs / "guide.pdf"))
    code, out, _ = run(capsys, "ask", "How do I season a cast iron skillet?", "--k", "2",
                       "--max-tokens", "40", "--temperature", "0")  # fmt: skip
    assert code == 0
    answer, sources = out.split("\nSources:\n")
    assert answer.strip()
    assert sources.startswith("[1] guide.pdf, page 9: ")


def test_index_as_a_separate_process(docs, tmp_path):
    """The real entry point, progress on stderr, JSON summary on stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "index", str(docs / "guide.pdf"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HEARTH_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["indexed"] == 1
    assert "[1/1] indexed" in result.stderr


def test_ctrl_c_while_the_reranking_model_loads_stops_the_search(docs, hearth_home):
    """Sent while llama.cpp reads the reranking model, Ctrl+C used to be swallowed by its log
    callback, and the search ran on to the end."""
    import signal
    import time

    import psutil

    from engine.bundled import gemma_model_path

    subprocess.run([sys.executable, "-m", "app", "index", str(docs / "guide.pdf")],
                   capture_output=True, check=True, timeout=300)  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "search", "best water temperature for green tea",
         "--rerank"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    gemma = str(gemma_model_path())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if any(m.path == gemma for m in psutil.Process(process.pid).memory_maps()):
                break  # the model is being read
        except psutil.Error:
            pass
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert out == ""


def test_ask_says_which_files_it_could_not_use_yet(capsys, docs, tmp_path):
    """A file whose indexing was stopped stays pending: `ask` answers from the rest, and says
    on stderr (and in --json) that this one was not used and how to finish it."""
    from app.paths import app_paths
    from engine.cancel import CancelToken
    from engine.library import Library

    run(capsys, "index", str(docs / "guide.pdf"))
    big = tmp_path / "big.txt"
    big.write_text("The keeper trimmed the wick and wrote the weather in the log.\n" * 4_000)
    cancel = CancelToken()
    with Library.open(app_paths().libraries_dir, "default", create=False) as library:
        report = library.index([big], progress=lambda _event: cancel.cancel(), cancel=cancel)
    assert report.cancelled

    note = ("note: 1 document is not indexed yet (big.txt): this answer does not use it. "
            "`hearth index --library default` finishes it.")  # fmt: skip
    code, out, err = run(capsys, "ask", "What does this document say about cryptocurrency taxes?")
    assert code == 0 and out.strip() == "Not found in your documents."
    assert note in err
    code, out, _ = run(capsys, "ask", "Who won the 1966 world cup?", "--json")
    result = json.loads(out)
    assert result["not_indexed"] == [str(big)]
    assert result["not_indexed_note"] == note.removeprefix("note: ")
    code, _, err = run(capsys, "search", "green tea", "--k", "1")
    assert code == 0 and note in err

    run(capsys, "index", "--library", "default")  # finishes it: nothing more is said
    code, out, err = run(capsys, "ask", "Who won the 1966 world cup?", "--json")
    assert "not indexed yet" not in err and json.loads(out)["not_indexed"] == []
