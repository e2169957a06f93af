"""Show text that came from outside (file names, paths, document titles) safely, on one line.

A file name can hold a newline, a terminal escape sequence, a right-to-left override or bytes that
are not text (Python keeps those as lone surrogates). Printed raw, it splits a line in two,
recolours or rewrites a terminal, or shows another name than the file has. `display_text` escapes
each such character the way Python writes it in a string literal (`\\n`, `\\x1b`, `\\u202e`); bytes
that are not text show as `\\xNN`. Ordinary letters of every script, spaces and emoji (with their
joiners) are kept, so a normal name looks exactly as it is.
"""

from __future__ import annotations

import os
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Format characters that belong to visible text: emoji joiners and the tags of subdivision flags.
_KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
_SURROGATE_BYTES = range(0xDC80, 0xDD00)


def display_text(text: str) -> str:
    """`text` with every character that is not visible text escaped; one line, always.

    Args:
        text: Any string (a name, a path, a message that quotes one).

    Returns:
        The same string when it is plain text, else a copy with escapes.
    """
    if text.isprintable():
        return text
    return "".join(_shown(char) for char in text)


def display_path(path: str | os.PathLike[str]) -> str:
    """A path for display (see `display_text`)."""
    return display_text(os.fspath(path))


def display_name(path: str | os.PathLike[str]) -> str:
    """The last part of a path (the file name) for display."""
    return display_text(os.path.basename(os.fspath(path).rstrip("/\\")) or os.fspath(path))


def with_article(number: int, unit: str = "") -> str:
    """'a 4,096', 'an 8,192', 'an 11,000', 'an 18-token': the article English gives a number
    said aloud (eight, eleven and eighteen begin with a vowel sound)."""
    written = f"{number:,}"
    lead = written.split(",")[0]
    article = "an" if lead.startswith("8") or lead in ("11", "18") else "a"
    return f"{article} {written}{unit}"


def counted(number: int, noun: str, plural: str = "") -> str:
    """'1 page', '2 pages', '1,200 pages': a number with its noun in the right form (`plural`
    where adding an s is wrong)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def duration_text(seconds: float) -> str:
    """Seconds as a person reads a time left: "40 s", "3 min", "1.2 h"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _shown(char: str) -> str:
    if char.isprintable() or char in _KEPT_FORMAT or "\U000e0020" <= char <= "\U000e007f":
        return char
    code = ord(char)
    if unicodedata.category(char) == "Zs":  # a space of another width: visible as a space
        return char
    if char in _NAMED:
        return _NAMED[char]
    if code in _SURROGATE_BYTES:  # a byte of a name that is not valid text
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
