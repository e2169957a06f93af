"""A remote engine in the window: add llama-cpp-python's server (the bundled model on a free
loopback port) through "Add a server", choose it in the model picker, chat with it (streamed,
badge, context bar), then lose it mid-reply and after: one line each, nothing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.memory_keyring import use_memory_keyring
from tests.remote_servers import LlamaCppPythonServer

pytestmark = pytest.mark.slow

KEY = "sk-remote-window-test"
LONG_REPLY_PROMPT = "Write a long story about a dragon."


@pytest.fixture
def remote(tmp_path, default_model_path):
    with LlamaCppPythonServer(tmp_path, default_model_path, api_key=KEY) as running:
        yield running


def _screens(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_add_a_server_choose_it_chat_there_and_lose_it(harness, remote, qtbot, tmp_path):
    from PySide6.QtWidgets import QApplication

    screens = _screens(tmp_path)
    with use_memory_keyring() as keyring:
        app = harness.start()
        window, controller = app.window, app.controller
        controller.settings.set("appearance.theme", "light")  # as the app starts: themed
        window.resize(1280, 820)
        window.modelsRequested.emit()
        picker = controller.models.picker
        picker.add_server_button.click()
        dialog = controller.remotes.dialog
        qtbot.wait_until(dialog.isVisible)

        # A wrong key is refused in one line; the right one finds the server and its model.
        dialog.address.setText(f"127.0.0.1:{remote.port}")
        dialog.key.setText("sk-wrong")
        dialog.test_button.click()
        qtbot.wait_until(lambda: dialog.test_button.isEnabled(), timeout=30000)
        assert "key" in dialog.found.text().lower() and "\n" not in dialog.found.text()
        assert "Give the server's key in the API key field" in dialog.found.text() or (
            "refused the API key" in dialog.found.text()
        )
        assert "--api-key" not in dialog.found.text()
        dialog.key.setText(KEY)
        # This server does not report its window: the test says it is only assumed.
        dialog.test_button.click()
        qtbot.wait_until(lambda: dialog.found.text().startswith("Found"), timeout=30000)
        assert "window unknown: the server does not say, so 4,096 tokens are assumed" in (
            dialog.found.text()
        )
        assert dialog.window_size.specialValueText() == "Unknown: 4,096 assumed"
        dialog.grab().save(str(screens / "add-server-window-unknown.png"))
        dialog.window_size.setValue(remote.n_ctx)
        dialog.test_button.click()
        qtbot.wait_until(lambda: dialog.found.text().startswith("Found"), timeout=30000)
        assert dialog.found.text() == (
            "Found a llama-cpp-python server · 1 model · window 2,048 tokens (as set here: the "
            "server does not say) · prompt sizes estimated before sending."
        )
        assert dialog.model.currentText() == str(remote.model)
        dialog.grab().save(str(screens / "add-server-tested.png"))

        dialog.add_button.click()
        qtbot.wait_until(lambda: not dialog.isVisible(), timeout=10000)
        assert list(keyring.passwords.values()) == [KEY]
        assert KEY not in controller.paths.remotes_file.read_text()
        row_id = f"{remote.url}#{remote.model}"
        # The picker lists the models again (reading GGUF headers), then selects the server.
        qtbot.wait_until(lambda: picker.selected_path() == row_id, timeout=90000)
        assert picker.edit_server_button.isEnabled()

        # Chosen like a local model; chats run there, with the window's gauges.
        picker.load_button.click()
        qtbot.wait_until(lambda: controller.model.remote_info is not None, timeout=30000)
        badge = window.gauges.backend.text()
        assert badge == f"Remote: 127.0.0.1:{remote.port} · SmolLM2-135M-Instruct.Q4_1.gguf"
        assert window.model_status.button.text().startswith("SmolLM2-135M-Instruct.Q4_1 on 127")
        assert controller.model.loaded_model is None  # the local model was freed
        picker.close()

        app.send("Name three colours.")
        reply = window.chat.last()
        qtbot.wait_until(lambda: bool(reply.text()), timeout=60000)
        app.wait_reply()
        assert app.stored_messages()[-1].content == reply.text() and reply.text().strip()
        gauge = window.gauges.context
        assert gauge.value.text().startswith("≈ ") and gauge.value.text().endswith("/ 2.0K")
        assert "Estimated counts" in gauge.toolTip()
        assert window.gauges.speed.value.text() not in ("idle", "thinking…")
        assert window.gauges.memory.remote_host == f"127.0.0.1:{remote.port}"  # this computer only
        window.grab().save(str(screens / "remote-chat.png"))

        # Stop closes the stream: the reply ends at once, its text kept and marked stopped.
        # Greedy, this prompt runs to max_tokens (400 tokens, seconds of streaming): the reply is
        # still being written when it is stopped, or when the server dies below.
        controller.settings.set("sampling.max_tokens", 400)
        controller.settings.set("sampling.temperature", 0.0)
        app.send(LONG_REPLY_PROMPT)
        stopped = window.chat.last()
        qtbot.wait_until(lambda: len(stopped.text()) > 5, timeout=60000)
        window.composer.stopRequested.emit()
        app.wait_reply(timeout=10000)
        assert app.stored_messages()[-1].stats["stop_reason"] == "cancelled"
        assert "stopped" in stopped.stats_label.text()

        # The server dies mid-reply: the text so far stays, marked, and one line says why.
        app.send(LONG_REPLY_PROMPT)
        cut = window.chat.last()
        qtbot.wait_until(lambda: len(cut.text()) > 5, timeout=60000)
        remote.kill()
        app.wait_reply()
        kept = app.stored_messages()[-1]
        assert kept.role == "assistant" and kept.content.startswith(cut.text()[:5])
        assert kept.stats["stop_reason"] == "error"
        assert "cut off" in cut.stats_label.text()
        # The notice bar keeps an earlier notice ("Added …") above a newer one: the last is this.
        notice = window.notice.label.text().strip().splitlines()[-1]
        assert "closed the connection" in notice and "the reply is incomplete" in notice

        # Asked again with the server gone: the question gets no reply, so it is not left in
        # the chat (it would go to the model with the next one): it is back in the message box.
        window.notice.dismiss()
        before = app.stored_messages()
        app.send("Are you there?")
        app.wait_reply()
        QApplication.processEvents()
        assert app.stored_messages() == before
        assert window.composer.text() == "Are you there?"
        assert window.chat.last().role == "assistant"
        notice = window.notice.label.text()
        assert notice.startswith("Not sent: ") and "127.0.0.1" in notice
        assert "\n" not in notice.strip()
