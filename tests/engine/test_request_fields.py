"""The settings schema checks request values too: one table for settings, CLI and API."""

from __future__ import annotations

import pytest

from engine.session import SamplingSettings
from engine.settings_schema import (
    CHAT_REQUEST_FIELDS,
    OPTIONS_BY_KEY,
    SettingError,
    format_number,
    validate_field,
    validate_fields,
)


def test_an_api_request_is_checked_field_by_field_with_its_own_names():
    body = {"max_tokens": "64", "temperature": 0.5, "model": "ignored"}
    assert validate_fields(body, CHAT_REQUEST_FIELDS) == {"max_tokens": 64, "temperature": 0.5}
    with pytest.raises(SettingError, match="^top_p must be between 0 and 1.$"):
        validate_fields({"top_p": 1.5}, CHAT_REQUEST_FIELDS)


def test_special_values_are_named_with_their_meaning():
    assert validate_field(0, "request.context_size") == 0
    with pytest.raises(SettingError, match=r"0 \(the model's trained length\) or between 512"):
        validate_field(-5, "request.context_size", "n_ctx")
    with pytest.raises(SettingError, match="between 512 and 131,072"):
        OPTIONS_BY_KEY["model.context_size"].validate(0)  # the saved setting has no special value


def test_engine_settings_refuse_out_of_range_values_whoever_builds_them():
    with pytest.raises(SettingError, match="max_tokens must be between 1 and 32,768"):
        SamplingSettings(max_tokens=0)
    with pytest.raises(SettingError, match="temperature"):
        SamplingSettings(temperature=float("nan"))
    assert SamplingSettings(lookup_draft_tokens=0).lookup_draft_tokens == 0


def test_numbers_are_written_the_same_way_everywhere():
    assert [format_number(n) for n in (131072, 2.0, 0.05, 2**31 - 1)] == [
        "131,072", "2", "0.05", "2,147,483,647"]  # fmt: skip
    with pytest.raises(SettingError, match="between -1 and 2,147,483,647"):
        OPTIONS_BY_KEY["sampling.seed"].validate(2**31)


def test_a_negative_window_never_reaches_llama_cpp(default_model_path):
    from engine.session import LoadSettings, ModelSession

    session = ModelSession()
    with pytest.raises(SettingError, match="context window must be a whole number of at least 0"):
        session.load(LoadSettings(str(default_model_path), n_ctx=-5))
    assert not session.loaded
