"""Names from outside are shown on one line, with nothing a terminal or a label would obey."""

from __future__ import annotations

import os

import pytest

from engine.display import display_name, display_path, display_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("Grüße – 東京 🇯🇵 👨‍👩‍👧.txt", "Grüße – 東京 🇯🇵 👨‍👩‍👧.txt"),
        ("two\nlines.txt", "two\\nlines.txt"),
        ("tab\there\r.txt", "tab\\there\\r.txt"),
        ("red\x1b[31malert\x1b[0m.txt", "red\\x1b[31malert\\x1b[0m.txt"),
        ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),
        ("para\u2029sep", "para\\u2029sep"),
        ("bell\x07", "bell\\x07"),
        ("del\x7f", "del\\x7f"),
        ("nbsp\u00a0ok", "nbsp\u00a0ok"),
    ],
)
def test_display_text(raw, shown):
    assert display_text(raw) == shown
    assert "\n" not in display_text(raw) and "\x1b" not in display_text(raw)


def test_bytes_that_are_not_text_show_as_hex():
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes on a UTF-8 system: a lone surrogate
    assert display_text(name) == "caf\\xe9.txt"
    display_text(name).encode("utf-8")  # printable on any UTF-8 terminal


def test_paths_and_names():
    assert display_path("/tmp/a\nb/c.txt") == "/tmp/a\\nb/c.txt"
    assert display_name("/tmp/a\nb/c\x1b.txt") == "c\\x1b.txt"


def test_numbers_take_the_article_they_are_said_with():
    from engine.display import with_article

    assert with_article(4096, "-token") == "a 4,096-token"
    assert with_article(8192) == "an 8,192"
    assert with_article(11_000) == "an 11,000"
    assert with_article(18_432) == "an 18,432"
    assert with_article(80_000) == "an 80,000"
    assert with_article(110_000) == "a 110,000"
    assert with_article(1_800) == "a 1,800"
