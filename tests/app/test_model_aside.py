"""Work that needs the machine to itself (a benchmark) sets the chat model aside on the model
thread and brings it back: after success, failure or a stop, before what was queued behind it; not
while the app shuts down."""

from __future__ import annotations

import threading
import time

from app.model_controller import load_settings_from
from app.model_worker import ModelClient
from engine.errors import HearthError
from engine.settings_schema import defaults
from tests.fakes import FakeEngine


def loaded_client(qtbot, default_model_path) -> tuple[ModelClient, FakeEngine]:
    engine = FakeEngine(ready=False)
    client = ModelClient(engine=engine)
    with qtbot.wait_signal(client.loaded, timeout=20000):
        client.load(load_settings_from(defaults(), str(default_model_path)))
    return client, engine


def test_the_model_comes_back_after_the_work_and_before_what_waited(qtbot, default_model_path):
    client, engine = loaded_client(qtbot, default_model_path)
    release = threading.Event()
    seen: list[bool] = []

    def work(task):
        seen.append(engine.ready)  # the chat model is not loaded while the work runs
        task.emit("measuring")
        release.wait(10)
        return "done"

    events, order = [], []
    with qtbot.wait_signal(client.setAside, timeout=10000) as aside:
        client.run_aside(work, on_event=events.append, on_done=order.append)
    assert aside.args == [str(default_model_path)]
    # Queued behind the work: it runs once the model is back.
    client.submit(lambda eng, _task: order.append(("after", eng.ready)))
    with qtbot.wait_signal(client.loaded, timeout=10000):
        release.set()
    qtbot.wait_until(lambda: len(order) == 2, timeout=10000)
    assert seen == [False] and events == ["measuring"]
    assert ("after", True) in order and engine.ready
    assert client.loaded_model is not None
    client.shutdown()


def test_a_failing_work_still_brings_the_model_back(qtbot, default_model_path):
    client, engine = loaded_client(qtbot, default_model_path)
    errors = []

    def work(_task):
        raise HearthError("The benchmark could not start.")

    with qtbot.wait_signal(client.loaded, timeout=10000):
        client.run_aside(work, on_error=errors.append)
    qtbot.wait_until(lambda: bool(errors), timeout=10000)
    assert engine.ready and str(errors[0]) == "The benchmark could not start."
    client.shutdown()


def test_a_model_that_cannot_come_back_is_reported_unloaded(qtbot, default_model_path, tmp_path):
    client, engine = loaded_client(qtbot, default_model_path)
    failures, unloaded = [], []
    client.loadFailed.connect(failures.append)
    client.unloaded.connect(lambda: unloaded.append(True))

    def work(_task):
        engine.memory_bytes = 1000  # the machine has no room left for the chat model

    with qtbot.wait_signal(client.loadFailed, timeout=10000):
        client.run_aside(work)
    assert unloaded and client.loaded_model is None and not engine.ready
    assert isinstance(failures[0], HearthError)
    client.shutdown()


def test_shutting_down_during_the_work_does_not_load_the_model_again(qtbot, default_model_path):
    client, engine = loaded_client(qtbot, default_model_path)
    started = threading.Event()

    def work(task):
        started.set()
        while not task.cancelled:
            time.sleep(0.02)

    client.run_aside(work)
    assert started.wait(10)
    client.shutdown()
    assert not engine.ready
