"""Add a server, on the fast layer: bad addresses and servers that are not there are one line in
the dialog and nothing is saved; saved servers are listed in the picker and can be removed.
(tests/app/test_window_remote.py chats with a real one.)"""

from __future__ import annotations

import json

import pytest

from app.remote_controller import ServerCheck
from tests.memory_keyring import use_memory_keyring, use_no_keyring
from tests.remote_servers import free_port


@pytest.fixture
def add_dialog(fake_app, qtbot):
    fake_app.window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    # The list is read in the background: let it arrive before the window can close.
    qtbot.wait_until(lambda: picker.model.rowCount() >= 1, timeout=60000)
    picker.add_server_button.click()
    dialog = fake_app.controller.remotes.dialog
    qtbot.wait_until(dialog.isVisible)
    return dialog


def test_a_server_that_is_not_there_is_one_line_and_what_was_typed_stays(add_dialog, qtbot):
    dialog = add_dialog
    assert not dialog.test_button.isEnabled()  # nothing to test yet
    port = free_port()
    dialog.address.setText(f"127.0.0.1:{port}")
    dialog.test_button.click()
    assert not dialog.test_button.isEnabled()  # one test at a time
    qtbot.wait_until(dialog.test_button.isEnabled, timeout=20000)
    line = dialog.found.text()
    assert f"127.0.0.1:{port}" in line and "\n" not in line
    assert dialog.address.text() == f"127.0.0.1:{port}"


def test_a_bad_address_is_refused_in_words_and_nothing_is_saved(fake_app, add_dialog):
    add_dialog.address.setText("ftp://nowhere")
    add_dialog.add_button.click()
    assert "not an http or https server address" in add_dialog.found.text()
    assert add_dialog.isVisible()
    assert not fake_app.controller.paths.remotes_file.exists()


def test_a_saved_server_is_listed_beside_the_models_and_can_be_removed(fake_app, add_dialog, qtbot):
    picker = fake_app.controller.models.picker
    with use_memory_keyring() as keyring:
        add_dialog.address.setText("gpu-box:8080")
        add_dialog.key.setText("sk-secret")
        add_dialog.model.setCurrentText("qwen2.5-7b")
        add_dialog.add_button.click()
        qtbot.wait_until(lambda: not add_dialog.isVisible(), timeout=10000)
        saved = json.loads(fake_app.controller.paths.remotes_file.read_text())
        assert [c["url"] for c in saved["connections"]] == ["http://gpu-box:8080"]
        assert "sk-secret" not in json.dumps(saved) and list(keyring.passwords.values()) == [
            "sk-secret"
        ]
        row_id = "http://gpu-box:8080#qwen2.5-7b"
        qtbot.wait_until(lambda: picker.selected_path() == row_id, timeout=60000)
        row = next(r for r in picker.model.rows() if r.remote)
        assert row.cells()[0] == "qwen2.5-7b  (gpu-box:8080)" and row.cells()[-1].startswith(
            "runs on"
        )
        assert any(not r.remote for r in picker.model.rows())  # the local models are still there
        # One Remove, which asks first; Cancel keeps the server.
        assert picker.remove_button.isEnabled() and picker.edit_server_button.isEnabled()
        picker.remove_button.click()
        box = picker.remove_box
        assert box is not None and "gpu-box:8080" in box.text()
        box.button(box.StandardButton.Cancel).click()
        assert any(r.remote for r in picker.model.rows())
        picker.remove_button.click()
        next(b for b in picker.remove_box.buttons() if b.text() == "Remove").click()
        qtbot.wait_until(lambda: not any(r.remote for r in picker.model.rows()), timeout=60000)
        assert keyring.passwords == {}
        assert picker.status.text() == "Removed gpu-box:8080 · qwen2.5-7b."


def test_without_a_keyring_the_key_is_kept_until_hearth_closes_and_can_be_changed(
    fake_app, add_dialog, qtbot
):
    picker = fake_app.controller.models.picker
    remotes = fake_app.controller.remotes
    with use_no_keyring():
        add_dialog.address.setText("gpu-box:8080")
        add_dialog.key.setText("sk-first")
        add_dialog.model.setCurrentText("qwen2.5-7b")
        add_dialog.add_button.click()
        qtbot.wait_until(lambda: not add_dialog.isVisible(), timeout=10000)
        notice = fake_app.window.notice.text()
        assert notice.startswith("Added gpu-box:8080 · qwen2.5-7b.")
        assert "no keyring" in notice and "until it closes" in notice
        assert "sk-first" not in fake_app.controller.paths.remotes_file.read_text()
        assert remotes._session_keys == {"http://gpu-box:8080": "sk-first"}

        # The saved server's key (or model, or window) can be changed.
        row_id = "http://gpu-box:8080#qwen2.5-7b"
        qtbot.wait_until(lambda: picker.selected_path() == row_id, timeout=60000)
        picker.edit_server_button.click()
        qtbot.wait_until(add_dialog.isVisible)
        assert add_dialog.windowTitle() == "Edit server" and add_dialog.add_button.text() == "Save"
        assert add_dialog.address.text() == "http://gpu-box:8080"
        assert add_dialog.model.currentText() == "qwen2.5-7b"
        assert add_dialog.key.text() == "" and add_dialog.key.placeholderText().startswith("Saved")
        add_dialog.key.setText("sk-second")
        add_dialog.window_size.setValue(8192)
        add_dialog.add_button.click()
        qtbot.wait_until(lambda: not add_dialog.isVisible(), timeout=10000)
        assert remotes._session_keys == {"http://gpu-box:8080": "sk-second"}
        saved = json.loads(fake_app.controller.paths.remotes_file.read_text())["connections"]
        assert [(c["model"], c["context_window"]) for c in saved] == [("qwen2.5-7b", 8192)]
        assert fake_app.window.notice.text().startswith("Saved gpu-box:8080 · qwen2.5-7b.")


def test_adding_a_server_that_did_not_answer_the_test_says_so(fake_app, add_dialog, qtbot):
    port = free_port()
    add_dialog.address.setText(f"127.0.0.1:{port}")
    add_dialog.test_button.click()
    qtbot.wait_until(add_dialog.test_button.isEnabled, timeout=20000)
    with use_memory_keyring():
        add_dialog.add_button.click()
        qtbot.wait_until(lambda: not add_dialog.isVisible(), timeout=10000)
    notice = fake_app.window.notice.text()
    assert notice.startswith(f"Added 127.0.0.1:{port}.")
    assert "did not answer the test connection" in notice and "connection refused" in notice
    assert fake_app.window.notice.property("level") == "warning"


def test_the_test_result_is_one_line_naming_what_was_found():
    found = ServerCheck("llama.cpp", ("a", "b"), "a", 8192, "the server's model list", True)
    assert found.summary() == (
        "Found a llama.cpp server · 2 models · window 8,192 tokens · prompts measured exactly."
    )
    guessed = ServerCheck("llama-cpp-python", ("a",), "a", 4096, "", False, window_assumed=True)
    assert guessed.summary() == (
        "Found a llama-cpp-python server · 1 model · window unknown: the server does not say, so "
        "4,096 tokens are assumed (set Context window if you know it) · prompt sizes estimated before sending."
    )
    several = ServerCheck("vLLM", ("a", "b"))
    assert several.summary() == "Found a vLLM server · 2 models: choose one."


def test_the_window_field_says_when_the_window_is_only_assumed(add_dialog):
    field = add_dialog.window_size
    assert field.value() == 0 and field.specialValueText() == "As the server says"
    add_dialog.show_window_assumed(4096)
    assert field.specialValueText() == "Unknown: 4,096 assumed"
    assert "assumed" in field.toolTip()
    add_dialog.reset()
    assert field.specialValueText() == "As the server says"
