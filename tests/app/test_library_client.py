"""The document library's own process, for real: indexing, search, cancel, and what happens when
it dies or the app dies. Each test here starts real child processes with the real embedding model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from app.library.client import LibraryClient, LibraryProcessError
from app.library.protocol import (
    DocumentText,
    IndexFiles,
    ListFiles,
    ProcessId,
    RemoveFiles,
    RemoveLibrary,
    RenderPage,
    Search,
)
from engine.cancel import CancelToken
from engine.errors import HearthError
from engine.library.types import FileProgress
from tests.engine.library.corpus import QUESTIONS, guide_text, write_guide_pdf

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_process(tmp_path_factory):
    """One process for the tests that leave it running (starting one imports torch: seconds)."""
    root = tmp_path_factory.mktemp("libraries")
    process = LibraryClient(root, root / "library.log")
    yield process
    process.close()


@pytest.fixture
def long_pdf(tmp_path):
    return write_guide_pdf(tmp_path / "long-guide.pdf", repeat=8)  # 96 pages


def test_indexing_and_search_happen_in_another_process(shared_process, tmp_path):
    guide = write_guide_pdf(tmp_path / "field-guide.pdf")
    events: list[FileProgress] = []

    report = shared_process.call(IndexFiles("guide", (str(guide),)), on_event=events.append)

    assert shared_process.call(ProcessId()) != os.getpid()
    assert report.indexed == 1, report
    progress = [e.fraction for e in events if e.status == "indexing"]
    assert progress == sorted(progress) and len(progress) >= 2
    last = events[-1]
    assert (last.path, last.status, last.error, last.pages, last.file_count) == (
        str(guide),
        "indexed",
        "",
        12,
        1,
    )
    assert last.chunks and last.chunks == report.chunks
    [entry] = shared_process.call(ListFiles("guide"))
    assert (entry.path, entry.pages, entry.status) == (str(guide), 12, "indexed")

    question, page = QUESTIONS[0]
    sources = shared_process.call(Search("guide", question, 5))
    assert sources[0].number == 1
    assert (sources[0].file, sources[0].page) == (str(guide), page)
    started = time.monotonic()
    reranked = shared_process.call(Search("guide", question, 2, rerank=True))
    rerank_s = time.monotonic() - started
    assert len(reranked) <= 2 and (reranked[0].file, reranked[0].page) == (str(guide), page)
    # Stopped (Stop pressed under a reply), the rerank ends at once with the search's order.
    stop = CancelToken()
    stop.cancel()
    started = time.monotonic()
    stopped = shared_process.call(Search("guide", question, 2, rerank=True), cancel=stop)
    assert time.monotonic() - started < rerank_s / 2, "the rerank was not stopped"
    assert stopped == shared_process.call(Search("guide", question, 2))

    assert shared_process.call(RemoveFiles("guide", (str(guide),))) == (True,)
    assert shared_process.call(ListFiles("guide")) == ()
    assert shared_process.call(Search("guide", question, 5)) == ()
    shared_process.call(RemoveLibrary("guide"))
    assert not shared_process.exists("guide")


def test_the_window_reads_and_renders_documents_through_the_process(shared_process, tmp_path):
    guide = write_guide_pdf(tmp_path / "field-guide.pdf")
    text = shared_process.call(DocumentText(str(guide), 100_000))
    assert text.count("\n\n") >= 11 and guide_text(1).split("\n")[0] in text
    assert shared_process.call(DocumentText(str(guide), 200)) is None  # too long to go in whole

    passage = guide_text(3).split("\n")[1][:60]
    page = shared_process.call(RenderPage(str(guide), 3, 1.0, passage))
    assert page.png.startswith(b"\x89PNG") and (page.page, page.page_count) == (3, 12)
    assert page.highlights
    with pytest.raises(HearthError, match="has no page 40"):
        shared_process.call(RenderPage(str(guide), 40, 1.0, ""))


def test_a_library_never_created_is_answered_without_the_process(tmp_path):
    process = LibraryClient(tmp_path)
    try:
        assert process.call(ListFiles("nothing-here")) == ()
        assert process.call(Search("nothing-here", "anything", 3)) == ()
        process.call(RemoveLibrary("nothing-here"))
        assert process.running_pids() == []  # nothing was started for any of it
    finally:
        process.close()


def test_a_search_does_not_wait_for_indexing(shared_process, tmp_path, long_pdf):
    guide = write_guide_pdf(tmp_path / "field-guide.pdf")
    shared_process.call(IndexFiles("searched", (str(guide),)))
    indexing_started, indexing_done = threading.Event(), threading.Event()

    def index_long_file() -> None:
        shared_process.call(IndexFiles("busy", (str(long_pdf),)),
                            on_event=lambda _event: indexing_started.set())  # fmt: skip
        indexing_done.set()

    worker = threading.Thread(target=index_long_file)
    worker.start()
    assert indexing_started.wait(120)
    sources = shared_process.call(Search("searched", QUESTIONS[1][0], 3))
    answered_during_indexing = not indexing_done.is_set()
    worker.join(240)

    assert sources[0].page == QUESTIONS[1][1]
    assert answered_during_indexing
    assert indexing_done.is_set()


def test_cancel_stops_indexing_at_the_next_page(shared_process, long_pdf):
    cancelled_at: list[float] = []

    def on_progress(event: FileProgress) -> None:
        if event.status == "indexing" and (event.fraction or 0) > 0.1 and not cancelled_at:
            cancelled_at.append(event.fraction)
            shared_process.cancel()

    report = shared_process.call(IndexFiles("cancelled", (str(long_pdf),)), on_event=on_progress)

    assert report.cancelled is True
    assert report.indexed == 0
    assert [entry.status for entry in shared_process.call(ListFiles("cancelled"))] == ["pending"]


def test_a_crashed_process_gives_a_plain_error_and_the_next_call_starts_afresh(tmp_path, long_pdf):
    process = LibraryClient(tmp_path / "libraries")
    try:
        first_pid = process.call(ProcessId())

        def kill_at_first_page(event: FileProgress) -> None:
            if event.status == "indexing":
                psutil.Process(first_pid).kill()  # as a native crash in a PDF library would

        with pytest.raises(LibraryProcessError, match="stopped unexpectedly") as error:
            process.call(IndexFiles("crash", (str(long_pdf),)), on_event=kill_at_first_page)
        assert "Re-index" in str(error.value)

        report = process.call(IndexFiles("crash", (str(long_pdf),)))
        assert process.call(ProcessId()) != first_pid
        assert report.indexed == 1
        assert [entry.status for entry in process.call(ListFiles("crash"))] == ["indexed"]
    finally:
        process.close()


def test_closing_while_indexing_answers_the_waiting_call(tmp_path, long_pdf):
    process = LibraryClient(tmp_path / "libraries")
    outcome: list[object] = []
    started = threading.Event()

    def index() -> None:
        try:
            outcome.append(process.call(IndexFiles("closing", (str(long_pdf),)),
                                        on_event=lambda event: started.set()))  # fmt: skip
        except LibraryProcessError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=index)
    worker.start()
    assert started.wait(120)
    pid = process.call(ProcessId())
    process.close()
    worker.join(30)

    assert not worker.is_alive()
    assert outcome and (isinstance(outcome[0], LibraryProcessError) or outcome[0].cancelled)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(LibraryProcessError, match="closing"):
        process.call(ProcessId())


PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from app.library.client import LibraryClient
    from app.library.protocol import ProcessId

    process = LibraryClient(Path(sys.argv[1]))
    print(process.call(ProcessId()), flush=True)
    time.sleep(600)
    """
)


def test_the_process_ends_when_the_app_is_killed(tmp_path):
    with subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as app:  # closes its pipe: an open one would be a ResourceWarning in a later test
        try:
            child = psutil.Process(int(app.stdout.readline()))
            app.kill()
            app.wait(10)
            gone, alive = psutil.wait_procs([child], timeout=20)
            assert gone and not alive
        finally:
            app.kill()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux's nice and affinity")
def test_the_process_runs_low_from_its_start_and_leaves_the_windows_core(tmp_path):
    """Lowered by the parent as soon as it is spawned, so its own start-up imports yield too;
    lowering itself again in `serve` changes nothing."""
    from app.library.service import INDEXER_NICE

    process = LibraryClient(tmp_path, tmp_path / "library.log")
    try:
        child = psutil.Process(process.call(ProcessId()))
        assert child.nice() == max(psutil.Process().nice(), INDEXER_NICE)
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) >= 2:
            assert child.cpu_affinity() == cores[1:]
    finally:
        process.close()
