"""The window's own API server with the bundled model: turned on in Settings, OpenAI's Python
client gets an answer while the window is up and takes turns with a question typed in the
window; a key, once set, is required; the switch stops it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
import openai
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from tests.memory_keyring import use_memory_keyring
from tests.remote_servers import free_port

pytestmark = pytest.mark.slow


def _settings(app, **changes):
    app.window.settingsRequested.emit()
    dialog = app.controller.settings_dialog
    for key, value in changes.items():
        dialog.set_value(key.replace("_", ".", 1), value)
    return dialog


def _picture(app, dialog, folder: Path) -> None:
    """The server page in both appearances, for a person to look at."""
    from PySide6.QtWidgets import QApplication

    from app.paths import styles_dir
    from ui.theme import apply_theme

    tabs = dialog.tabs
    tabs.setCurrentIndex(
        next(i for i in range(tabs.count()) if tabs.tabText(i) == "Local API server")
    )
    for theme in ("light", "dark"):
        apply_theme(QApplication.instance(), theme, styles_dir())
        QApplication.processEvents()
        assert dialog.grab().save(str(folder / f"settings-server-on-{theme}.png"))
    apply_theme(QApplication.instance(), "light", styles_dir())


def _serving(state) -> bool:
    return state.state == "serving"


def _save(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_the_window_serves_its_model_to_the_openai_client_and_the_switch_stops_it(
    app_window, qtbot, tmp_path
):
    app, server = app_window, app_window.controller.server
    screens = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    screens.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with use_memory_keyring() as keyring:
        dialog = _settings(app, server_enabled=True, server_port=port)
        _save(dialog)
        qtbot.wait_until(lambda: server.state.state == "serving", timeout=20000)
        url = f"http://127.0.0.1:{port}/v1"

        # An API request and a window question at once: they take turns on the one model.
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=120)
        model = client.models.list().data[0].id
        assert model == "SmolLM2-135M-Instruct.Q4_1"
        answers: list[object] = []

        def ask() -> None:
            try:
                answers.append(client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": "Say hello."}],
                    max_tokens=8, temperature=0))  # fmt: skip
            except Exception as exc:  # reported by the assertion below
                answers.append(exc)

        asker = threading.Thread(target=ask)
        asker.start()
        app.send("Name a colour.")
        app.wait_reply()
        qtbot.wait_until(lambda: bool(answers), timeout=60000)
        asker.join()
        reply = answers[0]
        assert not isinstance(reply, Exception), reply
        assert reply.choices[0].message.content.strip() and reply.usage.completion_tokens <= 8
        assert app.stored_messages()[-1].content.strip()  # the window's reply is whole too
        qtbot.wait_until(lambda: "1 request served" in server.panel.status.text(), timeout=30000)

        # A key set in Settings is required from then on; it lives in the keyring.
        dialog = _settings(app)
        qtbot.wait_until(dialog.isVisible)
        _picture(app, dialog, screens)
        server.panel.generate_button.click()
        key = server.panel.key()
        # Saved: the server restarts with the key ("starting", then "serving").
        with qtbot.wait_signal(server.stateChanged, check_params_cb=_serving, timeout=20000):
            _save(dialog)
        assert bool(keyring.passwords) and server._key == key
        assert httpx.get(url + "/models").status_code == 401
        client.close()  # its kept-alive connection belongs to the server just stopped
        with (
            openai.OpenAI(base_url=url, api_key="sk-wrong", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError),
        ):
            wrong.models.list()
        with openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=60) as right:
            assert [m.id for m in right.models.list().data] == [model]

        _save(_settings(app, server_enabled=False))
        qtbot.wait_until(lambda: server.state.state == "off", timeout=20000)
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/models", timeout=5)
