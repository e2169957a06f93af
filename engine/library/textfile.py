"""Read text files in the encoding they were written in, and say so when some bytes fit none.

The encoding is settled over the whole file, not its first block: a byte order mark decides;
else the whole file must decode as strict UTF-8 (or be UTF-8 with a few broken bytes); else
charset-normalizer, given the file's lines that hold non-ASCII bytes from anywhere in it,
proposes its candidates, best first, and the first one that decodes every byte is taken. Only when none does is the best guess used with U+FFFD for the bytes it cannot decode,
and their count is kept so the file's status (or the command that read it) can say so.
Nothing is ever replaced silently.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.library.types import DAMAGED, FileProblem

READ_BLOCK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Used with replacement characters when no candidate decodes every byte.
_LAST_RESORT = "cp1252"
# Bytes of non-ASCII lines handed to charset-normalizer.
SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class TextEncoding:
    """How a text file decodes.

    Attributes:
        name: A Python codec name.
        undecodable: Bytes no candidate could decode (each read as U+FFFD); 0 for a clean file.
    """

    name: str
    undecodable: int = 0

    @property
    def note(self) -> str | None:
        """Plain words for the file's status when bytes were lost, else None."""
        if not self.undecodable:
            return None
        noun = "byte" if self.undecodable == 1 else "bytes"
        return f"{self.undecodable} {noun} could not be decoded as {self.name} (shown as \ufffd)"


def detect_encoding(path: Path) -> TextEncoding:
    """Settle the encoding of the text file at `path` (see the module docstring).

    Raises:
        FileProblem: DAMAGED when the file holds binary data, not text.
        OSError: the file cannot be read.
    """
    with path.open("rb") as handle:
        head = handle.read(65536)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return TextEncoding(name, _undecodable(path, name))
    if b"\x00" in head:
        raise FileProblem(DAMAGED, "not a text file (binary data)")
    utf8_bad = _undecodable(path, "utf-8")
    if utf8_bad == 0:
        return TextEncoding("utf-8")
    if _utf8_sequences(path) > utf8_bad:
        # Real UTF-8 with a few broken bytes: a legacy encoding almost never forms valid
        # UTF-8 sequences by chance, while re-reading it as one would garble every character.
        return TextEncoding("utf-8", utf8_bad)
    candidates = _candidates(path)
    clean = [name for name in candidates if _undecodable(path, name, stop_at_first=True) == 0]
    if clean:
        sample = _non_ascii_lines(path)
        # Stable sort: charset-normalizer's order stands unless a reading is implausible.
        return TextEncoding(min(clean, key=lambda name: _mixed_script_share(sample, name) > 0.5))
    fewest = {name: _undecodable(path, name) for name in [*candidates, _LAST_RESORT]}
    best = min(fewest, key=lambda name: fewest[name])
    return TextEncoding(best, fewest[best])


def _non_ascii_lines(path: Path, budget: int = SAMPLE_BYTES) -> bytes:
    """The lines of the file that hold non-ASCII bytes (where encodings differ), up to `budget`."""
    kept: list[bytes] = []
    size = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.isascii():
                kept.append(line)
                size += len(line)
                if size >= budget:
                    break
    return b"".join(kept)


_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")


def _mixed_script_share(sample: bytes, encoding: str) -> float:
    """Share of the CJK characters a reading gives that sit right beside a Latin letter.

    Latin-1 text read as Shift-JIS or Big5 turns "größe" into "gr祊e": every CJK character
    it makes is wedged between Latin letters, which real CJK text almost never does.
    """
    text = sample.decode(encoding, errors="replace")
    wide = [match.start() for match in _WIDE.finditer(text)]
    if not wide:
        return 0.0

    def latin(index: int) -> bool:
        return 0 <= index < len(text) and text[index].isascii() and text[index].isalpha()

    wedged = sum(1 for i in wide if latin(i - 1) or latin(i + 1))
    return wedged / len(wide)


def _utf8_sequences(path: Path) -> int:
    """Characters beyond ASCII that decode as valid UTF-8 in the file."""
    text = _non_ascii_lines(path, budget=1 << 62).decode("utf-8", errors="replace")
    return sum(1 for char in text if ord(char) > 127 and char != "\ufffd")


def _candidates(path: Path) -> list[str]:
    """charset-normalizer's encodings for the file's non-ASCII lines, most likely first."""
    from charset_normalizer import from_bytes

    names: list[str] = []
    try:
        matches = from_bytes(_non_ascii_lines(path))
        best = matches.best()
        ordered = ([best] if best is not None else []) + list(matches)
        if best is not None:
            # A short sample often reads equally well in several Windows code pages (cp1250,
            # cp1252, cp1257 all give "Ã©"-free text); Western European is the likeliest.
            ties = [m for m in ordered if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
            ordered = [m for m in ties if m.encoding == _LAST_RESORT] + ordered
        for match in ordered:
            name = codecs.lookup(match.encoding).name
            # UTF-16/32 text without a byte order mark is full of NULs: rejected above.
            if name not in names and not name.startswith(("utf-16", "utf-32")):
                names.append(name)
    except (LookupError, OSError, ValueError):
        pass
    # Western European text is common enough to be always in the running (last, so a
    # detected encoding wins unless its reading is implausible).
    if _LAST_RESORT not in names:
        names.append(_LAST_RESORT)
    return names


def _undecodable(path: Path, encoding: str, stop_at_first: bool = False) -> int:
    """Bytes of the file that `encoding` cannot decode (1 at most with `stop_at_first`)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    bad = 0
    with path.open("rb") as handle:
        final = False
        while not final:
            data = handle.read(READ_BLOCK)
            final = not data
            while True:
                try:
                    decoder.decode(data, final=final)
                    break
                except UnicodeDecodeError as exc:
                    bad += max(1, exc.end - exc.start)
                    if stop_at_first:
                        return bad
                    # exc.object is what the decoder saw: bytes it held back, then `data`.
                    decoder.reset()
                    data = bytes(exc.object[exc.end :])
    return bad


def read_blocks(
    path: Path, encoding: TextEncoding, block_chars: int, bytes_read: list[int] | None = None
) -> Iterator[str]:
    """The file's text in pieces of at most `block_chars` characters, newlines as "\\n".

    Args:
        bytes_read: Its one item is set to the bytes of the file read so far (for progress).
    """
    errors = "replace" if encoding.undecodable else "strict"
    with (
        path.open("rb") as raw,
        io.TextIOWrapper(raw, encoding=encoding.name, errors=errors, newline=None) as handle,
    ):
        while data := handle.read(block_chars):
            if bytes_read is not None:
                bytes_read[0] = raw.tell()
            yield data


@dataclass(frozen=True)
class DecodedText:
    """A whole text file read by `read_text`."""

    text: str
    encoding: TextEncoding


def read_text(path: str | Path) -> DecodedText:
    """Read a whole text file in its own encoding (for files a person names: pinned documents,
    chat histories).

    Raises:
        FileProblem: binary data, not text.
        OSError: the file cannot be read.
    """
    path = Path(path)
    encoding = detect_encoding(path)
    text = "".join(read_blocks(path, encoding, READ_BLOCK))
    return DecodedText(text.removeprefix("\ufeff"), encoding)
