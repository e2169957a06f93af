"""The Qt side of the worker pattern: callbacks arrive on the GUI thread, in order, and nothing
arrives after shutdown."""

from __future__ import annotations

import threading

from app.jobs import SerialQueue, Task
from app.worker import SerialWorker


def test_callbacks_run_on_the_gui_thread_in_order(qtbot):
    worker = SerialWorker("test-gui")
    gui = threading.current_thread()
    seen: list[tuple[object, bool]] = []

    def work(task: Task) -> str:
        task.emit("event")
        return "result"

    worker.run(work, on_event=lambda e: seen.append((e, threading.current_thread() is gui)),
               on_done=lambda r: seen.append((r, threading.current_thread() is gui)))  # fmt: skip
    qtbot.wait_until(lambda: len(seen) == 2, timeout=20000)
    assert seen == [("event", True), ("result", True)]
    assert worker.shutdown(5)


def test_nothing_is_delivered_after_shutdown(qtbot):
    worker = SerialWorker("test-closed")
    release = threading.Event()
    delivered: list[object] = []
    worker.run(lambda _task: release.wait(5) and "late", on_done=delivered.append)
    release.set()
    worker.queue.wait_idle(5)  # the result is queued for the GUI thread, not yet delivered
    worker.shutdown(5)
    qtbot.wait(50)
    assert delivered == []


def test_two_workers_can_share_one_queue_with_plain_threads(qtbot):
    queue = SerialQueue("shared")
    worker = SerialWorker(queue)
    order: list[str] = []
    worker.run(lambda _task: order.append("window"))
    job = queue.submit(lambda _task: order.append("server") or "answered", stream=True)
    assert list(job.events(timeout=5)) == []
    assert job.result(5) == "answered"
    assert order == ["window", "server"]
    worker.shutdown(5)
