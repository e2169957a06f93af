"""Settings: validated against the schema, written atomically, migrated from older versions, and a
damaged file never stops the app."""

from __future__ import annotations

import json

import pytest

from app.settings import Settings
from engine.settings_schema import OPTIONS, SCHEMA_VERSION, SettingError, defaults


def test_defaults_are_valid_for_their_own_schema():
    for option in OPTIONS:
        assert option.validate(option.default) == option.default


def test_changes_persist_and_emit_changed(tmp_path, qtbot):
    path = tmp_path / "settings.json"
    settings = Settings(path)
    with qtbot.wait_signal(settings.changed) as signal:
        settings.set("sampling.temperature", 0.2)
    assert signal.args == ["sampling.temperature", 0.2]
    settings.update({"model.gpu_layers": "12", "appearance.theme": "dark"})
    reopened = Settings(path)
    assert reopened.get("sampling.temperature") == 0.2
    assert reopened.get("model.gpu_layers") == 12
    assert reopened.get("appearance.theme") == "dark"
    data = json.loads(path.read_text())
    assert data["version"] == SCHEMA_VERSION
    assert not list(tmp_path.glob(".settings.json.*"))  # no temporary file left behind


def test_setting_the_same_value_does_not_emit(tmp_path, qtbot):
    settings = Settings(tmp_path / "settings.json")
    with qtbot.assert_not_emitted(settings.changed):
        assert settings.update({"sampling.top_k": defaults()["sampling.top_k"]}) == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sampling.temperature", 5.0, "between 0 and 2"),
        ("sampling.top_k", 2.5, "whole number"),
        ("model.context_size", "big", "number"),
        ("model.gpu_layers", -3, "auto"),
        ("model.kv_type", "q2", "one of"),
        ("model.flash_attention", "yes", "on or off"),
        ("no.such", 1, "no setting"),
    ],
)
def test_bad_values_are_refused_with_a_reason_and_change_nothing(tmp_path, key, value, message):
    settings = Settings(tmp_path / "settings.json")
    before = settings.values()
    with pytest.raises(SettingError, match=message):
        settings.update({"sampling.temperature": 0.3, key: value})
    assert settings.values() == before


def test_version_1_files_are_migrated(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"temperature": 0.1, "n_ctx": 2048, "theme": "light"}))
    settings = Settings(path)
    assert settings.get("sampling.temperature") == 0.1
    assert settings.get("model.context_size") == 2048
    assert settings.get("appearance.theme") == "light"
    assert settings.problems == []


def test_a_damaged_file_is_kept_aside_and_defaults_are_used(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"version": 2, "values": {"sampling.top_k": 3')
    settings = Settings(path)
    assert settings.values() == defaults()
    assert (tmp_path / "settings.json.bad").exists()
    # In words, without the JSON parser's own ("Unterminated string starting at: line 1 ...").
    assert settings.problems == [
        "The settings file is damaged (not valid JSON); defaults are used and the old file was "
        "kept as settings.json.bad."
    ]


def test_an_invalid_stored_value_falls_back_to_its_default(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "values": {"sampling.top_p": 7, "unknown": 1}}))
    settings = Settings(path)
    assert settings.get("sampling.top_p") == defaults()["sampling.top_p"]
    assert "Top P" in settings.problems[0]
