"""The model thread with the real bundled model: load, batched streaming, stop, and a bad model
file that leaves the working one in place."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QObject, Signal

from app.model_controller import load_settings_from
from app.model_worker import ChatRequest, ModelClient
from engine.settings_schema import defaults


class GuiSide(QObject):
    """The worker's signals re-emitted on the GUI thread, where the test waits for them."""

    loaded = Signal(dict)
    loadFailed = Signal(str, str)
    replyFinished = Signal(int, dict)
    replyFailed = Signal(int, str)

    def __init__(self, worker) -> None:
        super().__init__()
        for name in ("loaded", "loadFailed", "replyFinished", "replyFailed"):
            getattr(worker, name).connect(getattr(self, name).emit)


@pytest.fixture
def client(qtbot, default_model_path):
    client = ModelClient()
    client.gui = GuiSide(client.worker)
    with qtbot.wait_signal(client.gui.loaded, timeout=30000) as loaded:
        client.load(load_settings_from(defaults(), str(default_model_path)))
    client.info = loaded.args[0]
    yield client
    client.shutdown()


def _request(question: str, max_tokens: int = 24, history=None) -> ChatRequest:
    sampling = {"temperature": 0.0, "max_tokens": max_tokens}
    return ChatRequest(history or [], question, "You are brief.", sampling)


def test_load_reports_the_model_and_backend(client, default_model_path):
    assert client.info["model"]["path"] == str(default_model_path)
    backend = client.info["backend"]
    assert backend["threads"] >= 1
    assert backend["total_layers"] == client.info["model"]["block_count"] + 1


def test_text_arrives_in_batches_then_stats(client, qtbot):
    batches: list[tuple[float, str, int]] = []
    client.worker.replyText.connect(
        lambda _rid, text, n: batches.append((time.monotonic(), text, n))
    )
    usages: list[dict] = []
    client.worker.contextUsage.connect(usages.append)
    with qtbot.wait_signal(client.gui.replyFinished, timeout=60000) as finished:
        rid = client.chat(_request("Count from one to twenty in words.", max_tokens=120))
    assert finished.args[0] == rid
    stats = finished.args[1]
    pieces = sum(n for _, _, n in batches)
    assert pieces >= stats["generated_tokens"] - 2  # special tokens produce no text
    assert "".join(text for _, text, _ in batches).strip()
    # At most ~30 updates a second reach the GUI, however fast the model is.
    seconds = max(batches[-1][0] - batches[0][0], 1e-3)
    assert len(batches) <= 30 * seconds + 2
    assert usages[0]["n_ctx"] == 4096
    assert usages[0]["parts"]["reply_reserve"] == 120
    assert usages[0]["parts"]["system"] > 0
    assert not client.busy()


def test_stop_cancels_and_the_session_stays_usable(client, qtbot):
    client.worker.replyText.connect(lambda *_: client.stop())
    with qtbot.wait_signal(client.gui.replyFinished, timeout=60000) as finished:
        client.chat(_request("Tell a long story.", max_tokens=500))
    assert finished.args[1]["stop_reason"] == "cancelled"
    assert finished.args[1]["generated_tokens"] < 500
    client.worker.replyText.disconnect()
    with qtbot.wait_signal(client.gui.replyFinished, timeout=60000) as again:
        client.chat(_request("Say hi."))
    assert again.args[1]["stop_reason"] in ("stop", "length")


def test_a_bad_model_file_fails_with_a_reason_and_keeps_the_old_one(client, qtbot, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 10)
    with qtbot.wait_signal(client.gui.loadFailed, timeout=30000) as failed:
        client.load(load_settings_from(defaults(), str(bad)))
    assert "broken.gguf" in failed.args[0]
    with qtbot.wait_signal(client.gui.replyFinished, timeout=60000) as finished:
        client.chat(_request("Say hi."))
    assert finished.args[1]["generated_tokens"] > 0


def test_a_conversation_too_long_for_the_window_drops_old_turns(client, qtbot):
    filler = "word " * 900
    history = []
    for _ in range(4):
        history += [{"role": "user", "content": filler}, {"role": "assistant", "content": "ok"}]
    usages: list[dict] = []

    def on_usage(usage: dict) -> None:
        usages.append(usage)
        client.stop()  # only the plan matters here, not a long prefill

    client.worker.contextUsage.connect(on_usage)
    with qtbot.wait_signal(client.gui.replyFinished, timeout=60000):
        client.chat(_request("And now?", max_tokens=2048, history=history))
    assert "older messages dropped" in usages[0]["notice"]
    parts = usages[0]["parts"]
    assert sum(parts.values()) <= usages[0]["n_ctx"]


def test_the_stop_policy_refuses_with_a_clear_message(client, qtbot):
    request = _request(
        "And now?",
        history=[
            {"role": "user", "content": "word " * 5000},
            {"role": "assistant", "content": "ok"},
        ],
    )
    request.overflow_policy = "stop"
    with qtbot.wait_signal(client.gui.replyFailed, timeout=30000) as failed:
        client.chat(request)
    assert "context window" in failed.args[1]
