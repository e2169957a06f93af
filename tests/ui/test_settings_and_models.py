"""Settings through the dialog persist across restarts; a bad model file leaves the old model
working; the picker lists the bundled models with their metadata."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow


def test_settings_dialog_changes_persist_across_a_restart(harness, qtbot):
    harness.start()
    window = harness.window
    window.settingsRequested.emit()
    dialog = harness.controller.settings_dialog
    qtbot.wait_until(dialog.isVisible)
    dialog.set_value("sampling.temperature", 0.35)
    dialog.set_value("chat.system_prompt", "You answer like a pirate.")
    dialog.set_value("model.gpu_layers", "auto")
    dialog.set_value("context.overflow_policy", "summarize")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert not dialog.isVisible()
    assert "apply when the model is loaded again" not in window.notice.text()
    harness.restart()
    settings = harness.controller.settings
    assert settings.get("sampling.temperature") == 0.35
    assert settings.get("chat.system_prompt") == "You answer like a pirate."
    assert settings.get("context.overflow_policy") == "summarize"


def test_an_invalid_value_keeps_the_dialog_open_with_the_reason(harness, qtbot):
    harness.start()
    harness.window.settingsRequested.emit()
    dialog = harness.controller.settings_dialog
    dialog.editors["model.threads"].setValue(0)
    # Spin boxes cannot hold a bad number; a value read from elsewhere can.
    dialog._initial["sampling.top_p"] = 0.5
    dialog.editors["sampling.top_p"].setRange(0, 5)
    dialog.editors["sampling.top_p"].setValue(3.0)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.isVisible()
    assert "between 0 and 1" in dialog.error.text()
    assert harness.controller.settings.get("sampling.top_p") == 0.95


def test_changing_the_window_size_offers_a_reload_that_applies_it(harness, qtbot):
    harness.start()
    window = harness.window
    harness.controller.settings.set("model.context_size", 1024)
    assert window.notice.action_button.text() == "Reload now"
    window.notice.action_button.click()
    qtbot.wait_until(lambda: window.gauges.context.budget.n_ctx == 1024, timeout=30000)


def test_a_bad_model_file_keeps_the_working_model(harness, qtbot, tmp_path):
    harness.start()
    window = harness.window
    loaded = harness.controller.models.loaded_path
    bad = tmp_path / "half-download.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x01" * 64)
    harness.controller.models.load(str(bad))
    qtbot.wait_until(lambda: "Could not load half-download.gguf" in window.notice.text(),
                     timeout=30000)  # fmt: skip
    assert "Still using" in window.notice.text()
    assert harness.controller.models.loaded_path == loaded
    assert window.model_status.state == "loaded"
    harness.send("Say hi.")
    harness.wait_reply()
    assert window.chat.last().text().strip()


def test_the_picker_lists_models_and_loads_another(harness, qtbot, gemma_model_path):
    harness.start()
    window = harness.window
    window.modelsRequested.emit()
    picker = harness.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() >= 2, timeout=30000)
    cells = [row.cells() for row in picker.model.rows()]
    assert any(c[0].startswith("● ") and "(bundled)" in c[0] for c in cells)
    assert cells[0][2] == "Q4_1"
    assert cells[0][5].startswith("fits in RAM, needs ~"), cells[0][5]
    assert "with room for the system" in cells[0][5]
    assert picker.count.text() == f"{len(cells)} models."
    picker.select_path(str(gemma_model_path))
    picker.load_button.click()
    qtbot.wait_until(lambda: harness.controller.models.loaded_path == str(gemma_model_path),
                     timeout=60000)  # fmt: skip
    assert window.model_status.state == "loaded"
    assert "gemma" in window.model_status.button.text().lower()


def test_window_size_and_layout_are_remembered(harness, qtbot):
    harness.start()
    # Within the offscreen screen (800x600) and no narrower than the window's panes allow.
    width = harness.window.minimumWidth()
    harness.window.resize(width, 560)
    harness.restart()
    assert (harness.window.width(), harness.window.height()) == (width, 560)
    # Opened, the documents panel widens the window to what its panes need; it stays open.
    harness.window.show_documents(True)
    harness.restart()
    assert harness.window.documents.isVisible()
