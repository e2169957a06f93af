"""`hearth chat --pin/--history` read files with the document library's reader: in their own
encoding, and saying so when bytes could not be decoded."""

from __future__ import annotations

import pytest

from app.cli_engine import _read_text
from engine.errors import HearthError


def test_pinned_file_in_a_legacy_encoding_is_read_as_written(tmp_path, capsys):
    text = "冷却泵过热时，请先关闭电源，然后检查冷却液的液位。" * 3
    path = tmp_path / "gbk.txt"
    path.write_bytes(text.encode("gbk"))
    assert _read_text(str(path)) == text
    assert capsys.readouterr().err == ""


def test_undecodable_bytes_are_reported(tmp_path, capsys):
    path = tmp_path / "broken.txt"
    path.write_bytes("Grüße aus Köln.\n".encode() * 3 + b"\xff\xfe\n")
    assert "Grüße aus Köln." in _read_text(str(path))
    assert "2 bytes could not be decoded" in capsys.readouterr().err


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "blob.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(HearthError):
        _read_text(str(path))
