"""Clean the text PyMuPDF gives for one page: ligatures spelled out, words broken at a line end
joined, hyphens that belong to a code, a compound or a number kept.

MuPDF's own dehyphenation joins every line that ends with a hyphen, so a code set across two
lines ("ERR-" / "4471") became "ERR4471", and a search for it found a page with a similar code
instead. Here a line-end hyphen is dropped only where a word was broken: a lower-case letter on
both sides, and the hyphenated form is not written elsewhere on the page (then it is a compound:
"well-known"). Anywhere else the hyphen stays and the two lines join without a space, as the
term was written: "ERR-4471", "TF-20-B", "1998-2004".
"""

from __future__ import annotations

import re

# Typographic ligatures (Unicode's Alphabetic Presentation Forms) spelled out.
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)
_SOFT_HYPHEN = "\u00ad"
# A hyphen (ASCII, Unicode hyphen, soft hyphen) ending a line, and the first word of the next
# line (looked at, not consumed). Anchored on the hyphen so that the search is one scan.
_LINE_END_HYPHEN = re.compile(r"([-\u2010\u00ad])[ \t]*\n[ \t]*(?=(\w+))")


_ANY_LIGATURE = re.compile("[\ufb00-\ufb06]")


def expand_ligatures(text: str) -> str:
    return text.translate(_LIGATURES) if _ANY_LIGATURE.search(text) else text


def join_broken_lines(text: str) -> str:
    """Join words a line end broke, keep hyphens that are part of a term. See the module doc."""
    if "\n" not in text:
        return text
    lowered: list[str] = []  # the page in lower case, made once, when a candidate needs it

    def join(match: re.Match[str]) -> str:
        hyphen, right = match.group(1), match.group(2)
        if hyphen == _SOFT_HYPHEN:
            return ""
        start = match.start()
        before = start
        while before > 0 and _is_word_char(text[before - 1]):
            before -= 1
        left = text[before:start]
        broken = left[-1:].isalpha() and left[-1:].islower() and right[:1].islower()
        if broken and not lowered:
            lowered.append(text.lower())
        if broken and not _written_with_hyphen(lowered[0], left, right):
            return ""  # a word broken at the line end
        return hyphen  # a code, a compound or a number: the hyphen stays, the lines join

    joined = _LINE_END_HYPHEN.sub(join, text)
    return joined.replace(_SOFT_HYPHEN, "") if _SOFT_HYPHEN in joined else joined


def _written_with_hyphen(lowered: str, left: str, right: str) -> bool:
    """True when "left-right" stands elsewhere in the page (`lowered`: its text in lower case)
    as written, on one line: a compound.

    Only the few line-end candidates are looked up, each with a plain substring search; listing
    every hyphenated word of every page up front cost more than MuPDF's text extraction.
    """
    term = f"{left}-{right}".lower()
    at = lowered.find(term)
    while at >= 0:
        end = at + len(term)
        if (at == 0 or not _is_word_char(lowered[at - 1])) and (
            end == len(lowered) or not _is_word_char(lowered[end])
        ):
            return True
        at = lowered.find(term, at + 1)
    return False


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def clean_page_text(text: str) -> str:
    """A page's text as indexed: NULs and carriage returns gone, ligatures out, lines joined."""
    if "\x00" in text or "\r" in text:
        text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return join_broken_lines(expand_ligatures(text))
