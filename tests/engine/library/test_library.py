"""The library end to end: index, re-index, prune, bad files, cancel, search and citations."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.library import Library, LibraryError, list_libraries, remove_library
from engine.library.types import (
    CANCELLED,
    DAMAGED,
    EMPTY,
    ENCRYPTED,
    HIDDEN,
    INDEXED,
    PENDING,
    REMOVED,
    SCANNED,
    UNCHANGED,
    UNREADABLE,
    UNSUPPORTED,
    VANISHED,
)
from tests.engine.library.corpus import (
    EXACT_TERM,
    EXACT_TERM_PAGE,
    HTML_SAMPLE,
    MARKDOWN_SAMPLE,
    QUESTIONS,
    TOPICS,
    write_damaged_pdf,
    write_docx,
    write_encrypted_pdf,
    write_guide_pdf,
    write_image_only_pdf,
    write_mixed_pdf,
    write_text_pdf,
)

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow


def statuses(report) -> dict[str, str]:
    return {Path(o.path).name: o.status for o in report.all_outcomes}


def consistent(library: Library) -> None:
    """Every chunk row has a vector and every vector a chunk row of an indexed file."""
    _files, chunks = library.manifest.counts()
    assert library.store.count() == chunks
    rows = library.manifest.conn.execute(
        "SELECT COUNT(*) FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.status = ?",
        (INDEXED,),
    ).fetchone()[0]
    assert rows == chunks


# --- the question set ------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "page"), QUESTIONS)
def test_question_finds_its_page_in_top_five(guide_library, question, page):
    hits = guide_library.search(question, k=5)
    assert page in [hit.page for hit in hits], [(h.page, h.text[:40]) for h in hits]


def test_hits_carry_file_page_text_score_heading(guide_library, guide_pdf):
    (hit,) = guide_library.search("How do I season a skillet?", k=1)
    assert hit.file == str(guide_pdf)
    assert hit.page == 9
    assert hit.heading == "Caring for cast iron pans"
    assert "cast iron skillet" in hit.text
    assert hit.score > 0 and hit.similarity is not None and hit.similarity > 0.3


def test_exact_term_found_only_by_keyword_search(tmp_path, open_library):
    # A parts list where every page looks alike to the embedding model; only the exact part
    # number tells them apart.
    items = ["hinge", "bracket", "valve", "gasket", "spring", "washer", "bearing", "clamp"]
    pages = [
        f"Spare part QZV-{7700 + 7 * i}-KR fits the {items[i % len(items)]} of the garden pump. "
        f"Keep it in storage bin {i + 1} of the workshop."
        for i in range(30)
    ]
    target = 12
    code = f"QZV-{7700 + 7 * target}-KR"
    path = write_text_pdf(tmp_path / "parts.pdf", pages)
    library = open_library()
    library.index([path])

    vector_only = library.store.query(library.embedder.embed_query(code), 5)
    assert target + 1 not in [ordinal + 1 for _file, ordinal, _ in vector_only]
    (hit,) = library.search(code, k=1)
    assert hit.page == target + 1 and code in hit.text
    assert hit.keyword_rank == 1 and (hit.vector_rank is None or hit.vector_rank > 5)


def test_exact_term_in_the_guide(guide_library):
    (hit,) = guide_library.search(EXACT_TERM, k=1)
    assert hit.page == EXACT_TERM_PAGE and hit.keyword_rank == 1


def test_neighbours_give_context(guide_library):
    hit = guide_library.search("Perseid meteor shower", k=1, neighbours=1)[0]
    assert hit.page == 10
    assert len(hit.before) == 1 and len(hit.after) == 1
    assert "tomato" in hit.after[0].lower()
    assert guide_library.neighbours(hit, 1)[1] == hit.text


def test_search_rejects_bad_requests(guide_library):
    with pytest.raises(LibraryError):
        guide_library.search("   ")
    with pytest.raises(LibraryError, match="not in the library"):
        guide_library.search("bees", files=["/no/such/file.pdf"])


# --- indexing --------------------------------------------------------------------------------------


def test_incremental_reindex_skips_replaces_and_removes(tmp_path, open_library):
    docs = tmp_path / "docs"
    docs.mkdir()
    guide = write_guide_pdf(docs / "guide.pdf")
    extra = write_text_pdf(docs / "extra.pdf", ["Otters hold hands while they sleep."])
    notes = docs / "notes.md"
    notes.write_text(MARKDOWN_SAMPLE)
    library = open_library()

    first = library.index([docs])
    assert statuses(first) == {"guide.pdf": INDEXED, "extra.pdf": INDEXED, "notes.md": INDEXED}
    assert first.pages == len(TOPICS) + 1
    consistent(library)

    second = library.index([docs])
    assert set(statuses(second).values()) == {UNCHANGED}
    # Touched but same content: still unchanged (content hash decides).
    os.utime(notes, (1_000_000, 1_000_000))
    assert statuses(library.index([docs]))["notes.md"] == UNCHANGED

    write_text_pdf(extra, ["Sea otters use rocks as tools to crack open shellfish."])
    notes.unlink()
    third = library.index([docs])
    assert statuses(third) == {"guide.pdf": UNCHANGED, "extra.pdf": INDEXED, "notes.md": REMOVED}
    consistent(library)
    assert [Path(r.path).name for r in library.files()] == ["extra.pdf", "guide.pdf"]
    (hit,) = library.search("otters crack shellfish with rocks", k=1, files=[extra])
    assert "rocks as tools" in hit.text
    assert not library.search("safety glasses at the lathe", k=5, files=[guide])[0].text.count(
        "lathe"
    )
    assert library.remove_file(guide) and not library.remove_file(guide)
    consistent(library)


def test_every_bad_input_gets_its_own_status_and_the_batch_goes_on(tmp_path, open_library):
    docs = tmp_path / "mixed"
    docs.mkdir()
    write_guide_pdf(docs / "good.pdf")
    write_encrypted_pdf(docs / "locked.pdf")
    write_damaged_pdf(docs / "cut.pdf", docs / "good.pdf")
    write_image_only_pdf(docs / "scan.pdf")
    write_mixed_pdf(docs / "half-scanned.pdf")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_text("  \n\n  ")
    (docs / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    (docs / "notes.xyz").write_text("a format nobody reads")
    (docs / ".secret.txt").write_text("hidden file")
    (docs / ".cache").mkdir()
    (docs / ".cache" / "junk.txt").write_text("in a hidden folder")
    (docs / "page.html").write_text(HTML_SAMPLE)
    write_docx(docs / "harbour.docx")
    missing = tmp_path / "not-there.pdf"
    library = open_library()

    report = library.index([docs, missing])
    got = statuses(report)
    assert got == {
        "good.pdf": INDEXED,
        "half-scanned.pdf": INDEXED,
        "page.html": INDEXED,
        "harbour.docx": INDEXED,
        "locked.pdf": ENCRYPTED,
        "cut.pdf": DAMAGED,
        "scan.pdf": SCANNED,
        "empty.txt": EMPTY,
        "blank.md": EMPTY,
        "photo.jpg": DAMAGED,
        "notes.xyz": UNSUPPORTED,
        ".secret.txt": HIDDEN,
        ".cache": HIDDEN,
        "not-there.pdf": UNREADABLE,
    }
    by_name = {Path(o.path).name: o for o in report.all_outcomes}
    assert by_name["scan.pdf"].message == "scanned, no text OCR could read"
    assert "password" in by_name["locked.pdf"].message
    assert by_name["half-scanned.pdf"].pages_without_text == 1
    assert len(report.failed) == 7
    consistent(library)
    records = {Path(r.path).name: r for r in library.files()}
    assert records["locked.pdf"].status == ENCRYPTED and records["locked.pdf"].error
    (hit,) = library.search("shower code at the harbour", k=1)
    assert hit.file.endswith("harbour.docx") and hit.page is None


def test_unreadable_file_is_reported(tmp_path, open_library, monkeypatch):
    # The tests run as root, for whom no permission bit blocks a read: fake the refusal.
    path = write_text_pdf(tmp_path / "private.pdf", ["Nothing to see."])
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    report = open_library().index([path])
    (outcome,) = report.outcomes
    assert outcome.status == UNREADABLE and "Permission denied" in outcome.message


def test_file_vanishing_during_indexing(tmp_path, open_library):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_text_pdf(docs / "a.pdf", ["First file."])
    doomed = write_text_pdf(docs / "b.pdf", ["Second file, deleted before its turn."])

    def on_progress(event):
        if event.stage == "file" and event.file.endswith("a.pdf"):
            doomed.unlink()

    report = open_library().index([docs], progress=on_progress)
    assert statuses(report) == {"a.pdf": INDEXED, "b.pdf": VANISHED}


def test_cancel_rolls_back_the_current_file_and_leaves_the_rest_pending(tmp_path, open_library):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_guide_pdf(docs / "a.pdf")
    write_guide_pdf(docs / "b.pdf")
    write_guide_pdf(docs / "c.pdf")
    cancel = CancelToken()
    events = []

    def on_progress(event):
        events.append(event)
        if event.stage == "page" and event.file.endswith("b.pdf") and event.page == 3:
            cancel.cancel()

    library = open_library()
    report = library.index([docs], progress=on_progress, cancel=cancel)
    assert report.cancelled
    assert statuses(report) == {"a.pdf": INDEXED, "b.pdf": CANCELLED, "c.pdf": CANCELLED}
    consistent(library)
    assert sorted(Path(p).name for p in library.pending_files()) == ["b.pdf", "c.pdf"]
    assert {r.status for r in library.files() if not r.path.endswith("a.pdf")} == {PENDING}
    assert events[-1].stage == "finished"

    resumed = library.resume()
    assert statuses(resumed) == {"b.pdf": INDEXED, "c.pdf": INDEXED}
    consistent(library)


def test_progress_reports_scan_files_pages_and_finish(open_library, guide_pdf):
    events = []
    open_library().index([guide_pdf], progress=events.append)
    stages = [e.stage for e in events]
    assert stages[0] == "scan" and events[0].file_count == 1
    assert stages.count("page") == len(TOPICS)
    assert [e.page for e in events if e.stage == "page"] == list(range(1, len(TOPICS) + 1))
    done = next(e for e in events if e.stage == "done")
    assert done.status == INDEXED and done.page_count == len(TOPICS) and done.chunks > 0
    assert stages[-1] == "finished"


def test_a_big_text_file_reports_how_far_it_is_read(tmp_path, open_library):
    """A text file has no pages to count: its progress is the share of its bytes read, so the
    documents panel's percentage and the terminal's line move while it is read (a 200 MB file
    sat at 0 % for minutes)."""
    from app.cli_library import ProgressPrinter
    from app.library.protocol import FileProgressFeed

    path = tmp_path / "big.txt"
    path.write_text("Grüße: the keeper trimmed the wick and wrote down the weather.\n" * 8_000)
    events, shown = [], []
    feed = FileProgressFeed(shown.append)
    open_library().index([path], progress=lambda e: (events.append(e), feed(e)))
    fractions = [e.file_fraction for e in events if e.stage == "page"]
    assert len(fractions) >= 3 and fractions == sorted(fractions)
    assert 0 < fractions[0] < 0.5 and fractions[-1] == 1.0
    percents = [round(p.fraction * 100) for p in shown if p.fraction is not None]
    assert len(set(percents)) >= 3 and max(percents) == 100

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return False

    out = Terminal()
    printer = ProgressPrinter(out)
    printer._last_line -= 60  # as if the file started a minute ago
    page = next(e for e in events if e.stage == "page")
    printer(page)
    assert f"  big.txt: {page.file_fraction:.1%}, " in out.getvalue()


def test_changed_file_that_turns_bad_loses_its_old_chunks(tmp_path, open_library):
    path = write_text_pdf(tmp_path / "doc.pdf", ["Walruses rest on floating ice."])
    library = open_library()
    library.index([path])
    shutil.copy(write_encrypted_pdf(tmp_path / "locked.pdf"), path)
    assert statuses(library.index([path])) == {"doc.pdf": ENCRYPTED}
    consistent(library)
    assert library.search("walrus on ice", k=3) == []


# --- libraries -------------------------------------------------------------------------------------


def test_list_and_remove_libraries(tmp_path, embedder, guide_pdf):
    root = tmp_path / "libraries"
    for name in ("alpha", "beta"):
        with Library.open(root, name, embedder=embedder) as library:
            library.index([guide_pdf])
    infos = {info.name: info for info in list_libraries(root)}
    assert set(infos) == {"alpha", "beta"}
    assert infos["alpha"].files == 1 and infos["alpha"].chunks > 0
    remove_library(root, "alpha")
    assert [info.name for info in list_libraries(root)] == ["beta"]
    with pytest.raises(LibraryError):
        remove_library(root, "alpha")
    with pytest.raises(LibraryError):
        Library.open(root, "alpha", embedder=embedder, create=False)
    # A removed name can be used again from scratch.
    with Library.open(root, "alpha", embedder=embedder) as library:
        assert library.files() == []


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 65, "trailing "])
def test_bad_library_names_are_refused(tmp_path, name):
    with pytest.raises(LibraryError):
        Library.open(tmp_path, name)


def test_second_indexer_is_refused_while_one_runs(tmp_path, open_library, guide_pdf):
    library = open_library()
    other = Library(library.folder, library.name, embedder=library.embedder)
    seen = []

    def on_progress(event):
        if event.stage == "page" and not seen:
            with pytest.raises(LibraryError, match="being indexed"):
                other.index([guide_pdf])
            seen.append(True)

    library.index([guide_pdf], progress=on_progress)
    assert seen
    other.close()
