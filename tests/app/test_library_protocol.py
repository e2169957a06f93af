"""The library process's protocol without a process: the registry, the service's routing and
errors over a real pipe, and the progress it sends. The slow tests in test_library_client.py run
the same requests through the real process."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import threading

import pytest

from app.library.client import LibraryClient
from app.library.protocol import (
    LANES,
    QUICK,
    REQUESTS,
    FileProgressFeed,
    IndexFiles,
    ListFiles,
    ProcessId,
    RemoveLibrary,
    RerankSkipped,
    Search,
)
from app.library.service import LibraryService
from engine.errors import HearthError
from engine.library.types import FileOutcome, FileProgress, IndexProgress, IndexReport
from tests.fakes import sources


def test_every_request_is_a_frozen_dataclass_with_a_lane_and_survives_the_pipe():
    routes = list(REQUESTS)
    assert len(routes) == 13
    for route in routes:
        assert dataclasses.is_dataclass(route.payload) and route.lane in LANES
        assert route.payload.__dataclass_params__.frozen
        fields = {f.name: _example(f.type) for f in dataclasses.fields(route.payload)}
        request = route.payload(**fields)
        assert pickle.loads(pickle.dumps(request)) == request
        assert REQUESTS.route(request) is route


def _example(annotation: object) -> object:
    return {"str": "x", "int": 1, "float": 1.0, "bool": True,
            "tuple[str, ...]": ("a", "b")}[str(annotation)]  # fmt: skip


class FakeLibrary:
    def __init__(self) -> None:
        self.cancelled_with: object = None

    def index(self, paths, progress, cancel):
        for page in range(1, 201):  # 200 pages: 100 whole percentages, then done
            progress(IndexProgress("page", paths[0], 0, 1, page=page, page_count=200))
        progress(IndexProgress("done", paths[0], 0, 1, page_count=200, chunks=9,
                               status="damaged", message="the file is damaged"))  # fmt: skip
        return IndexReport("chat-1", [FileOutcome(paths[0], "damaged", "the file is damaged")])


class FakeLibraries:
    def __init__(self) -> None:
        self.library = FakeLibrary()
        self.closed = False
        self.rerank_error: str | None = None
        self.searching = threading.Event()
        self.search_cancelled = threading.Event()

    def get(self, _name):
        return self.library

    def search(self, name, question, k, relevant_only, rerank=False, cancel=None):
        if question == "boom":
            raise RuntimeError("the index is on fire")
        if question == "refused":
            raise HearthError("That library is locked.")
        if question == "slow":  # a rerank that runs until its call is cancelled
            self.searching.set()
            if cancel is not None and _wait_for(lambda: cancel.cancelled, 10):
                self.search_cancelled.set()
        return sources(2, 5)[:k]

    def files(self, _name):
        return ()

    def close(self):
        self.closed = True


def _wait_for(condition, timeout_s: float) -> bool:
    done = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return False


@pytest.fixture
def libraries():
    return FakeLibraries()


@pytest.fixture
def service(libraries):
    here, there = multiprocessing.Pipe()
    service = LibraryService(libraries, there)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    yield here
    here.send(("shutdown",))
    runner.join(5)
    service.close(5)
    assert service.libraries.closed


def _answer(pipe, request_id):
    events = []
    while True:
        message = pipe.recv()
        if message[0] == "event":
            events.append(message[2])
        else:
            assert message[1] == request_id
            return message, events


def test_a_request_is_answered_with_its_typed_result(service):
    service.send(("call", 1, Search("chat-1", "tides", 1)))
    (kind, _id, value), events = _answer(service, 1)
    assert kind == "result" and events == []
    assert [(s.number, s.page) for s in value] == [(1, 2)]


def test_indexing_sends_one_update_per_percent_and_the_outcome(service):
    service.send(("call", 2, IndexFiles("chat-1", ("/docs/guide.pdf",))))
    (kind, _id, report), events = _answer(service, 2)
    assert kind == "result" and report.failed[0].message == "the file is damaged"
    indexing = [e for e in events if e.status == "indexing"]
    assert len(indexing) == 101  # not 200: one per whole percentage, 0 to 100
    assert [round(e.fraction, 3) for e in indexing[:2]] == [0.005, 0.01]
    assert events[-1] == FileProgress("/docs/guide.pdf", "failed", None, "the file is damaged",
                                      200, 9, 0, 1)  # fmt: skip


def test_failures_come_back_as_plain_errors_and_the_service_goes_on(service):
    service.send(("call", 3, Search("chat-1", "boom")))
    (kind, _id, message), _ = _answer(service, 3)
    assert (kind, message) == ("error", "Searching failed: the index is on fire")
    service.send(("call", 4, Search("chat-1", "refused")))
    assert _answer(service, 4)[0] == ("error", 4, "That library is locked.")
    service.send(("call", 5, "not a request"))
    assert _answer(service, 5)[0][0] == "error"
    service.send(("call", 6, Search("chat-1", "tides", 2)))
    assert _answer(service, 6)[0][0] == "result"


def test_a_rerank_that_cannot_happen_is_said_before_the_excerpts(service, libraries):
    libraries.rerank_error = "The reranking model could not be loaded: not a GGUF file."
    service.send(("call", 7, Search("chat-1", "tides", 2, rerank=True)))
    (kind, _id, value), events = _answer(service, 7)
    assert kind == "result" and len(value) == 2
    assert events == [RerankSkipped(libraries.rerank_error)]
    service.send(("call", 8, Search("chat-1", "tides", 2)))  # not asked for: nothing said
    assert _answer(service, 8)[1] == []


def test_one_call_can_be_cancelled_and_still_answers(service, libraries):
    service.send(("call", 9, Search("chat-1", "slow", 2, rerank=True)))
    assert libraries.searching.wait(5)
    service.send(("cancel_call", 9))
    (kind, _id, value), _ = _answer(service, 9)
    assert kind == "result" and len(value) == 2
    assert libraries.search_cancelled.is_set()
    service.send(("cancel_call", 99))  # a call already answered, or never made: nothing happens
    service.send(("call", 10, Search("chat-1", "tides", 1)))
    assert _answer(service, 10)[0][0] == "result"


def test_closing_the_service_stops_the_calls_in_flight():
    here, there = multiprocessing.Pipe()
    libraries = FakeLibraries()
    service = LibraryService(libraries, there)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    here.send(("call", 1, Search("chat-1", "slow", 2, rerank=True)))
    assert libraries.searching.wait(5)
    here.send(("shutdown",))
    runner.join(5)
    service.close(5)  # without the call's cancel, this waits for the rerank to end on its own
    assert libraries.search_cancelled.is_set() and libraries.closed


def test_a_process_that_dies_under_a_call_is_said_in_the_call_s_words():
    from app.library.client import _stopped_error

    searching = str(_stopped_error("Searching", -9))
    assert searching.startswith("The document process stopped unexpectedly (exit code -9):")
    assert "searching did not finish" in searching and "Re-index" not in searching
    assert "while indexing" in str(_stopped_error("Indexing", -9))
    assert "Re-index" in str(_stopped_error("Indexing", -9))


def test_quick_requests_have_their_own_lane():
    assert REQUESTS.route(Search("x", "y")).lane == QUICK
    assert REQUESTS.route(ProcessId()).lane == QUICK
    assert REQUESTS.route(IndexFiles("x", ())).lane != QUICK


def test_a_library_never_created_is_answered_without_a_process(tmp_path):
    client = LibraryClient(tmp_path)
    assert client.call(ListFiles("chat-9")) == ()
    assert client.call(Search("chat-9", "anything")) == ()
    assert client.call(RemoveLibrary("chat-9")) is None
    assert client.running_pids() == []
    client.close()


def test_the_progress_feed_skips_repeats_and_files_without_a_name():
    sent: list[FileProgress] = []
    feed = FileProgressFeed(sent.append)
    feed(IndexProgress("scan", None, 0, 2))
    for page in (1, 1, 2):
        feed(IndexProgress("page", "/a.pdf", 0, 2, page=page, page_count=3))
    feed(IndexProgress("done", "/a.pdf", 0, 2, page_count=3, chunks=4, status="unchanged"))
    assert [(e.status, e.fraction, e.error, e.pages) for e in sent] == [
        ("indexing", 1 / 3, "", None),
        ("indexing", 2 / 3, "", None),
        ("indexed", None, "", 3),
    ]


def test_an_indexed_file_s_note_comes_with_its_progress():
    """The panel shows a damaged file's note as soon as the file is done, not only once the
    library is listed again after the whole run."""
    sent: list[FileProgress] = []
    note = "damaged: 13 of 30 pages cannot be read (the file is cut short or damaged)"
    feed = FileProgressFeed(sent.append)
    feed(IndexProgress("done", "/cut.pdf", 0, 2, page_count=30, chunks=9, status="indexed",
                       message=note))  # fmt: skip
    feed(IndexProgress("done", "/a.zip", 1, 2, status="skipped",
                       message="unsupported file type (.zip)"))  # fmt: skip
    assert [(e.status, e.error) for e in sent] == [
        ("indexed", note),
        ("skipped", "unsupported file type (.zip)"),
    ]
