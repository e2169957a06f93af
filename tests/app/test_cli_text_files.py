"""Text handed to the `hearth` command (`chat --pin/--history` files, arguments, standard input)
is read with the document library's reader: in its own encoding, and saying so when bytes could
not be decoded."""

from __future__ import annotations

import io
import os
import sys

import pytest

from app.cli_text import argument_text, file_text, stdin_text
from engine.errors import HearthError


def test_pinned_file_in_a_legacy_encoding_is_read_as_written(tmp_path, capsys):
    text = "冷却泵过热时，请先关闭电源，然后检查冷却液的液位。" * 3
    path = tmp_path / "gbk.txt"
    path.write_bytes(text.encode("gbk"))
    assert file_text(str(path)) == text
    assert capsys.readouterr().err == ""


def test_undecodable_bytes_are_reported(tmp_path, capsys):
    path = tmp_path / "broken.txt"
    path.write_bytes("Grüße aus Köln.\n".encode() * 3 + b"\xff\xfe\n")
    assert "Grüße aus Köln." in file_text(str(path))
    assert "2 bytes could not be decoded" in capsys.readouterr().err


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "blob.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(HearthError):
        file_text(str(path))


def test_an_argument_in_a_legacy_encoding_is_read_as_written():
    assert argument_text(os.fsdecode("Ein Schlüssel für die Tür".encode("cp1252"))) == (
        "Ein Schlüssel für die Tür"
    )
    assert argument_text("Grüße ✓") == "Grüße ✓"  # UTF-8 as it came


def test_standard_input_in_a_legacy_encoding_is_read_as_written(monkeypatch):
    text = "Die Tür öffnet sich, und wir grüßen die schöne Straße mit größter Freude."
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("latin-1"))))
    assert stdin_text() == text
