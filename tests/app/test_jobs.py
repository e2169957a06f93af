"""The worker pattern without Qt: functions run in order on one thread, report events, can be
cancelled or replaced by a newer request, and a queue shuts down the same way every time."""

from __future__ import annotations

import threading

import pytest

from app.jobs import JobCancelled, SerialQueue, Task
from app.throttle import Throttle
from engine.errors import HearthError


@pytest.fixture
def queue():
    queue = SerialQueue("test")
    yield queue
    queue.shutdown(5)


def test_jobs_run_in_order_on_one_thread(queue):
    seen: list[tuple[int, str]] = []
    jobs = [
        queue.submit(lambda _task, n=n: seen.append((n, threading.current_thread().name)) or n)
        for n in range(5)
    ]
    assert [job.result(5) for job in jobs] == [0, 1, 2, 3, 4]
    assert seen == [(n, "test") for n in range(5)]


def test_events_and_result_reach_the_callbacks_in_order(queue):
    got: list[object] = []
    done = threading.Event()

    def work(task: Task) -> str:
        for n in range(3):
            task.emit(n)
        return "end"

    queue.submit(work, on_event=got.append, on_done=lambda value: (got.append(value), done.set()))
    assert done.wait(5)
    assert got == [0, 1, 2, "end"]


def test_a_thread_can_iterate_the_events_and_sees_the_error_last(queue):
    def work(task: Task) -> None:
        task.emit("a")
        task.emit("b")
        raise HearthError("the model went away")

    job = queue.submit(work, stream=True)
    events = []
    with pytest.raises(HearthError, match="went away"):
        for event in job.events(timeout=5):
            events.append(event)
    assert events == ["a", "b"]


def test_errors_go_to_on_error_and_the_queue_keeps_working(queue):
    errors: list[Exception] = []
    queue.submit(lambda _task: 1 / 0, on_error=errors.append).wait(5)
    assert isinstance(errors[0], ZeroDivisionError)
    assert queue.submit(lambda _task: "still here").result(5) == "still here"


def test_cancel_reaches_a_running_job_between_steps(queue):
    started = threading.Event()
    steps: list[int] = []

    def work(task: Task) -> str:
        started.set()
        for step in range(1000):
            if task.cancelled:
                return "stopped"
            steps.append(step)
            threading.Event().wait(0.001)
        return "finished"

    job = queue.submit(work)
    assert started.wait(5)
    job.cancel()
    assert job.result(5) == "stopped"
    assert len(steps) < 1000


def test_only_the_newest_request_with_a_key_runs(queue):
    gate = threading.Event()
    queue.submit(lambda _task: gate.wait(5))  # keeps the thread busy while three requests wait
    ran: list[int] = []
    jobs = [queue.submit(lambda _task, n=n: ran.append(n), latest="page") for n in range(3)]
    gate.set()
    jobs[-1].wait(5)
    assert ran == [2]
    with pytest.raises(JobCancelled):
        jobs[0].result(1)


def test_shutdown_cancels_runs_the_last_step_and_refuses_new_work():
    queue = SerialQueue("closing")
    started = threading.Event()
    order: list[str] = []

    def long_job(task: Task) -> None:
        started.set()
        while not task.cancelled:
            threading.Event().wait(0.005)
        order.append("cancelled")

    queue.submit(long_job)
    waiting = queue.submit(lambda _task: order.append("should not run"))
    assert started.wait(5)
    assert queue.shutdown(5, last=lambda: order.append("last"))
    assert order == ["cancelled", "last"]
    with pytest.raises(JobCancelled):
        waiting.result(1)
    with pytest.raises(JobCancelled):
        queue.submit(lambda _task: None).result(1)
    assert queue.shutdown(1)  # twice is fine


def test_wait_idle(queue):
    gate = threading.Event()
    queue.submit(lambda _task: gate.wait(5))
    assert not queue.wait_idle(0.05)
    gate.set()
    assert queue.wait_idle(5)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_merges_and_sends_at_most_once_per_interval():
    clock = Clock()
    sent: list[tuple[float, str]] = []
    throttle = Throttle(lambda text: sent.append((clock.now, text)), 1 / 30, str.__add__, clock)
    # A model writing 1000 pieces in one second (one per millisecond).
    for n in range(1000):
        throttle(f"{n},")
        clock.now += 0.001
    throttle.flush()
    assert "".join(text for _, text in sent) == "".join(f"{n}," for n in range(1000))
    gaps = [b - a for (a, _), (b, _) in zip(sent, sent[1:-1], strict=False)]
    assert min(gaps) >= 1 / 30 - 1e-9
    assert 30 <= len(sent) <= 32  # one second at 30 a second, plus the first and the flush


def test_the_throttle_sends_a_slow_stream_as_it_comes():
    clock = Clock()
    sent: list[int] = []
    throttle = Throttle(sent.append, 0.1, clock=clock)
    for n in range(5):
        throttle(n)
        clock.now += 0.5
    throttle.flush()
    assert sent == [0, 1, 2, 3, 4]


def test_the_thread_starts_with_the_first_job_and_an_unused_queue_stops_at_once():
    def named(name: str) -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == name]

    unused = SerialQueue("never-used")
    assert named("never-used") == []  # making a queue does not wait for a thread to start
    assert unused.shutdown(5)
    used = SerialQueue("used-once")
    assert named("used-once") == []
    assert used.submit(lambda _task: threading.current_thread().name).result(5) == "used-once"
    assert used.shutdown(5) and named("used-once") == []
    ran = []
    last_only = SerialQueue("last-only")
    assert last_only.shutdown(5, last=lambda: ran.append(threading.current_thread().name))
    assert ran == ["last-only"]  # `last` still runs on the queue's own thread
