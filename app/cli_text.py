"""Text a person hands the `hearth` command: arguments, standard input and files, each decoded
in the encoding it was written in, as the document library reads text files.

A terminal passes bytes. Python decodes arguments and standard input as UTF-8 and keeps bytes
that are not UTF-8 as lone surrogates ("caf\\udce9" for Latin-1 "café"), which no model can read
and which used to end a command in "unexpected error". Such text is decoded again here, its
encoding detected (engine/library/textfile.py); bytes that fit no encoding are said, never
replaced silently.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from engine.errors import HearthError


def argument_text(value: str) -> str:
    """An argument as the person wrote it (an argparse `type`): bytes the terminal passed that
    are not UTF-8 are decoded as the text of a file would be."""
    if value.isascii() or not _escaped_bytes(value):
        return value
    try:
        return bytes_text(os.fsencode(value), "the argument")
    except HearthError as exc:  # argparse says it, as it does any argument it cannot take
        raise argparse.ArgumentTypeError(str(exc)) from exc


def stdin_text() -> str:
    """Everything on standard input, decoded as a text file is."""
    return bytes_text(sys.stdin.buffer.read(), "standard input")


def bytes_text(data: bytes, name: str) -> str:
    """`data` decoded in the encoding detected over all of it; `name` says where it came from
    in the note about bytes no encoding decodes."""
    with tempfile.TemporaryDirectory(prefix="hearth-text-") as folder:
        spool = Path(folder) / "text"
        spool.write_bytes(data)
        return file_text(str(spool), name)


def file_text(path: str, name: str | None = None) -> str:
    """A file's text in its own encoding (the document library's reader); lost bytes are said
    on stderr, naming the file (or `name`).

    Raises:
        HearthError: The file cannot be read, or holds binary data.
    """
    from engine.library.textfile import read_text
    from engine.library.types import FileProblem

    try:
        decoded = read_text(path)
    except FileProblem as exc:
        raise HearthError(f"Cannot read {name or path}: {exc}.") from exc
    except OSError as exc:
        raise HearthError(f"Cannot read {name or path}: {exc.strerror}.") from exc
    if decoded.encoding.note:
        print(f"note: {name or path}: {decoded.encoding.note}", file=sys.stderr)
    return decoded.text


def _escaped_bytes(value: str) -> bool:
    """Whether `value` holds bytes Python kept undecoded (U+DC80-U+DCFF, surrogateescape)."""
    return any("\udc80" <= char <= "\udcff" for char in value)
