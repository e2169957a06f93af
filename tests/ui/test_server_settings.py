"""Settings → Local API server on the fast layer: the server in the window starts, stops and
says in one line why it cannot start, without a model (see tests/app/test_window_server.py for
requests answered by the real one)."""

from __future__ import annotations

import socket

import httpx
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from engine.secrets import SERVICE
from tests.memory_keyring import use_memory_keyring
from tests.remote_servers import free_port


@pytest.fixture
def keyring_in_memory():
    with use_memory_keyring() as backend:
        yield backend


def open_settings(app):
    app.window.settingsRequested.emit()
    dialog = app.controller.settings_dialog
    dialog.tabs.setCurrentIndex(
        next(i for i in range(dialog.tabs.count()) if dialog.tabs.tabText(i) == "Local API server")
    )
    return dialog


def save(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def status(app) -> str:
    return app.controller.server.state.text()


def test_the_switch_starts_and_stops_the_server_and_the_status_says_where(
    fake_app, qtbot, keyring_in_memory
):
    port = free_port()
    dialog = open_settings(fake_app)
    panel = fake_app.controller.server.panel
    assert panel.status.text() == "○ Off"
    dialog.set_value("server.enabled", True)
    dialog.set_value("server.port", port)
    save(dialog)
    server = fake_app.controller.server
    qtbot.wait_until(lambda: server.state.state == "serving", timeout=15000)
    assert status(fake_app).startswith(f"Serving on http://127.0.0.1:{port} · 0 requests served")
    assert panel.status.text().startswith("● Serving on")
    # Listening for real: a request without a key from this computer is let in.
    answer = httpx.get(f"http://127.0.0.1:{port}/nowhere", timeout=5)
    assert answer.status_code == 404 and answer.json()["error"]["message"]
    assert fake_app.settings.get("server.enabled") is True

    dialog = open_settings(fake_app)
    dialog.set_value("server.enabled", False)
    save(dialog)
    qtbot.wait_until(lambda: server.state.state == "off", timeout=15000)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5)


def test_a_port_in_use_and_an_open_address_without_a_key_are_one_line_each(
    fake_app, qtbot, keyring_in_memory
):
    server = fake_app.controller.server
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fake_app.settings.update({"server.enabled": True, "server.port": port})
        qtbot.wait_until(lambda: server.state.state == "failed", timeout=15000)
        line = status(fake_app)
        assert line == (
            f"Port {port} on 127.0.0.1 is already in use by another program. "
            "Choose another address or port."
        )
        # Settings is closed by now: the main window says why, not only the dialog next time.
        assert fake_app.window.notice.text() == f"The local API server is not running: {line}"
    fake_app.settings.update({"server.host": "0.0.0.0", "server.port": free_port()})
    qtbot.wait_until(lambda: "needs an API key" in status(fake_app), timeout=15000)
    assert "\n" not in status(fake_app) and status(fake_app).endswith("or use 127.0.0.1.")
    assert "needs an API key" in fake_app.window.notice.text()  # replaces the port's notice
    assert "already in use" not in fake_app.window.notice.text()
    open_settings(fake_app)
    assert fake_app.controller.server.panel.status.text().startswith("⚠ Listening on 0.0.0.0")


def test_on_all_addresses_the_status_says_so_with_a_local_address_to_try(
    fake_app, qtbot, keyring_in_memory
):
    server = fake_app.controller.server
    server.set_key("sk-hearth-test")
    port = free_port()
    fake_app.settings.update(
        {"server.enabled": True, "server.host": "0.0.0.0", "server.port": port}
    )
    qtbot.wait_until(lambda: server.state.state == "serving", timeout=15000)
    assert status(fake_app).startswith(
        f"Serving on all addresses, port {port} (on this computer: http://127.0.0.1:{port}) · "
    )
    assert "not running" not in fake_app.window.notice.text()


def test_the_key_is_generated_copied_and_kept_in_the_keyring_not_the_settings_file(
    fake_app, qtbot, keyring_in_memory
):
    from PySide6.QtGui import QGuiApplication

    dialog = open_settings(fake_app)
    panel = fake_app.controller.server.panel
    assert not panel.copy_button.isEnabled()
    panel.generate_button.click()
    key = panel.key()
    assert key.startswith("sk-hearth-") and len(key) > 30
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == key
    save(dialog)
    qtbot.wait_until(
        lambda: keyring_in_memory.passwords.get((SERVICE, "server:api-key")) == key, timeout=10000
    )
    assert key not in fake_app.settings.path.read_text()
    # Opened again, the dialog shows the kept key; clearing it forgets it.
    dialog = open_settings(fake_app)
    panel = fake_app.controller.server.panel
    assert panel.key() == key
    panel.key_edit.setText("")
    save(dialog)
    qtbot.wait_until(lambda: keyring_in_memory.passwords == {}, timeout=10000)


def test_turned_on_without_a_model_it_says_so_and_quitting_stops_it(
    fake_app, qtbot, keyring_in_memory
):
    fake_app.controller.model.unload()
    qtbot.wait_until(lambda: fake_app.window.model_status.state == "none", timeout=10000)
    port = free_port()
    fake_app.settings.update({"server.enabled": True, "server.port": port})
    server = fake_app.controller.server
    qtbot.wait_until(lambda: server.state.state == "serving", timeout=15000)
    assert status(fake_app).startswith(f"Serving on http://127.0.0.1:{port}")
    assert server.state.text(has_model=False).endswith("requests are refused until one is")
    assert "no local model is loaded" in fake_app.window.notice.label.text()
    assert httpx.get(f"http://127.0.0.1:{port}/nowhere", timeout=5).status_code == 404
    fake_app.controller.shutdown()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/nowhere", timeout=5)
