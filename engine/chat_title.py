"""A chat's title: made from the first words of its first question, given back whole where that
cut it short, and turned into a file name an export can be saved under on any system."""

from __future__ import annotations

import re

# A title made from a question keeps its first this many words, or this many characters.
TITLE_WORDS = 7
TITLE_CHARS = 60
# A heading is a title, not the whole of a long first question.
HEADING_CHARS = 200
# The part of a suggested file name before ".md".
FILE_NAME_CHARS = 60
FALLBACK_FILE_NAME = "chat.md"

# Characters Windows, macOS or Linux refuse in a file name (or that hide or split it there).
_SEPARATORS = re.compile(r"[/\\:|]+")
_REFUSED = re.compile(r'[*?"<>\x00-\x1f\x7f]+')
# Names Windows keeps for devices, with any extension.
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)}
)


def title_from(text: str, words: int = TITLE_WORDS) -> str:
    """A chat title from the first words of its first question, ending in "…" where it cuts
    the question short."""
    parts = " ".join(text.split()).split(" ")
    title = " ".join(parts[:words])
    cut = len(title) > TITLE_CHARS or len(parts) > words
    return (title[:TITLE_CHARS] + "…") if cut else title


def whole_title(title: str, first_question: str | None) -> str:
    """The title a chat's export carries: where the stored one is its first question cut short
    ("Write a very long story about a…"), that question whole (up to HEADING_CHARS, cut at a
    word); any other title (a person's own, or one that was not cut) as it is stored."""
    if not first_question or not title.endswith("…") or title != title_from(first_question):
        return title
    whole = " ".join(first_question.split())
    return whole if len(whole) <= HEADING_CHARS else _cut_at_word(whole, HEADING_CHARS) + "…"


def file_name_for(title: str) -> str:
    """A Markdown file name made from `title`: cut at a word to FILE_NAME_CHARS, no "…", the
    characters some system refuses replaced, never empty (FALLBACK_FILE_NAME)."""
    text = _SEPARATORS.sub("-", title.replace("…", " "))
    text = " ".join(_REFUSED.sub(" ", text).split())
    text = re.sub(r" ([,;.!])", r"\1", text)  # no space left before a comma ('"A", b')
    # Windows drops dots and spaces at the end, and a leading dot hides the file elsewhere.
    stem = _cut_at_word(text, FILE_NAME_CHARS).strip(" .-")
    if not stem:
        return FALLBACK_FILE_NAME
    if stem.split(".")[0].upper() in _DEVICE_NAMES:
        stem = f"{stem} chat"
    return f"{stem}.md"


def _cut_at_word(text: str, limit: int) -> str:
    """`text` up to `limit` characters, ending at the end of a word (mid-word only when its
    first word alone is longer)."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return cut.rstrip(" ,;.-")
