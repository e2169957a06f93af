"""Text handed to the `hearth` command is read in the encoding it was written in."""

from __future__ import annotations

import io
import os
import sys

from app.cli_text import argument_text, stdin_text


def test_an_argument_in_a_legacy_encoding_is_read_as_written():
    assert argument_text(os.fsdecode("Ein Schlüssel für die Tür".encode("cp1252"))) == (
        "Ein Schlüssel für die Tür"
    )
    assert argument_text("Grüße ✓") == "Grüße ✓"  # UTF-8 as it came


def test_standard_input_in_a_legacy_encoding_is_read_as_written(monkeypatch):
    text = "Die Tür öffnet sich, und wir grüßen die schöne Straße mit größter Freude."
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("latin-1"))))
    assert stdin_text() == text
