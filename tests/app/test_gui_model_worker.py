"""The model thread with the real bundled model: load, batched streaming, stop, a bad model file
that leaves the working one in place, a window too large refused before loading, and a server-
style caller that shares the thread with the window."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from app.model_controller import load_settings_from
from app.model_worker import ModelClient
from engine.chat.answer import Question
from engine.chat.events import ReplyEnded, TextArrived
from engine.context.fit import ContextFitError
from engine.errors import ModelFileError
from engine.session import SamplingSettings
from engine.settings_schema import defaults

pytestmark = pytest.mark.slow


@pytest.fixture
def client(qtbot, default_model_path):
    client = ModelClient()
    with qtbot.wait_signal(client.loaded, timeout=60000) as loaded:
        client.load(load_settings_from(defaults(), str(default_model_path)))
    client.info = loaded.args[0]
    yield client
    client.shutdown()


def _question(text: str, max_tokens: int = 24, history=(), policy="sliding_window") -> Question:
    sampling = SamplingSettings(temperature=0.0, max_tokens=max_tokens)
    return Question(text, "You are brief.", tuple(history), sampling=sampling,
                    overflow_policy=policy)  # fmt: skip


def test_load_reports_the_model_and_where_it_runs(client, default_model_path):
    loaded = client.info
    assert loaded.path == str(default_model_path)
    assert loaded.report.n_threads >= 1
    assert loaded.total_layers == loaded.report.model.block_count + 1
    assert loaded.device == "CPU" and loaded.ram_bytes > loaded.report.model.file_size / 2
    assert client.loaded_model is loaded


def test_text_arrives_in_batches_then_stats(client, qtbot):
    batches: list[tuple[float, TextArrived]] = []
    client.replyText.connect(lambda _rid, batch: batches.append((time.monotonic(), batch)))
    usages: list = []
    client.contextUsed.connect(usages.append)
    with qtbot.wait_signal(client.replyFinished, timeout=120000) as finished:
        rid = client.ask(_question("Count from one to twenty in words.", max_tokens=120))
    assert finished.args[0] == rid
    stats = finished.args[1]
    pieces = sum(batch.pieces for _, batch in batches)
    assert pieces >= stats.generated_tokens - 2  # special tokens produce no text
    assert "".join(batch.text for _, batch in batches).strip()
    # Batches leave the model thread at most ~30 times a second (app/throttle.py is tested
    # exactly with a clock; here the real stream must not exceed it either).
    sent_over = max(batches[-1][0] - batches[0][0], 1e-3)
    assert len(batches) <= 30 * sent_over + 2
    assert usages[0].budget.n_ctx == 4096
    assert usages[0].budget.reply_reserve == 120
    assert usages[0].budget.system > 0
    assert usages[-1].budget.generated == stats.generated_tokens
    assert not client.busy()


def test_stop_cancels_and_the_session_stays_usable(client, qtbot):
    client.replyText.connect(lambda *_: client.stop())
    with qtbot.wait_signal(client.replyFinished, timeout=120000) as finished:
        client.ask(_question("Tell a long story.", max_tokens=500))
    assert finished.args[1].stop_reason == "cancelled"
    assert finished.args[1].generated_tokens < 500
    client.replyText.disconnect()
    with qtbot.wait_signal(client.replyFinished, timeout=120000) as again:
        client.ask(_question("Say hi."))
    assert again.args[1].stop_reason in ("stop", "length")


def test_a_bad_model_file_fails_with_a_reason_and_keeps_the_old_one(client, qtbot, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 10)
    with qtbot.wait_signal(client.loadFailed, timeout=60000) as failed:
        client.load(load_settings_from(defaults(), str(bad)))
    assert isinstance(failed.args[0], ModelFileError)
    assert "broken.gguf" in str(failed.args[0])
    with qtbot.wait_signal(client.replyFinished, timeout=120000) as finished:
        client.ask(_question("Say hi."))
    assert finished.args[1].generated_tokens > 0


def test_a_window_larger_than_trained_is_refused_before_loading(client, qtbot, default_model_path):
    settings = replace(load_settings_from(defaults(), str(default_model_path)), n_ctx=65536)
    with qtbot.wait_signal(client.loadFailed, timeout=60000) as refused:
        client.load(settings)
    error = refused.args[0]
    assert isinstance(error, ContextFitError)
    assert "trained for windows up to 8,192" in error.message
    assert [p.n_ctx for p in error.report.proposals] == [8192]  # nothing else need change
    assert client.loaded_model.report.n_ctx == 4096  # the loaded model stayed


def test_a_conversation_too_long_for_the_window_drops_old_turns(client, qtbot):
    filler = "word " * 900
    history = []
    for _ in range(4):
        history += [{"role": "user", "content": filler}, {"role": "assistant", "content": "ok"}]
    usages: list = []

    def on_usage(usage) -> None:
        usages.append(usage)
        client.stop()  # only the plan matters here, not a long prefill

    client.contextUsed.connect(on_usage)
    with qtbot.wait_signal(client.replyFinished, timeout=120000):
        client.ask(_question("And now?", max_tokens=2048, history=history))
    assert "older messages dropped" in usages[0].notice
    budget = usages[0].budget
    assert budget.prompt + budget.reserved <= budget.n_ctx


def test_the_stop_policy_refuses_with_a_clear_message(client, qtbot):
    history = [{"role": "user", "content": "word " * 5000}, {"role": "assistant", "content": "ok"}]
    with qtbot.wait_signal(client.replyFailed, timeout=60000) as failed:
        client.ask(_question("And now?", history=history, policy="stop"))
    assert "context window" in failed.args[1]


def test_a_server_thread_takes_its_turn_on_the_same_model_thread(client, qtbot):
    """What the API server will do: submit from a plain thread, iterate the events, cancel; the
    window's reply, queued first, is not disturbed (the order itself: test_model_thread.py)."""
    finished: list = []
    client.replyFinished.connect(lambda _rid, stats: finished.append(stats))
    client.ask(_question("Say yes."))  # the window's reply goes first
    job = client.model_thread.ask(_question("Count to fifty.", max_tokens=200))
    texts = []
    for event in job.events(timeout=120):
        if isinstance(event, TextArrived):
            texts.append(event.text)
            if len(texts) == 3:
                job.cancel()  # the client went away
        last = event
    assert isinstance(last, ReplyEnded) and last.stats.stop_reason == "cancelled"
    assert len(texts) >= 3 and last.stats.generated_tokens < 200
    qtbot.wait_until(lambda: bool(finished), timeout=10000)
    assert finished[0].stop_reason in ("stop", "length") and finished[0].generated_tokens > 0
