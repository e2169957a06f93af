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
# A hyphen (ASCII, Unicode hyphen, soft hyphen) ending a line, the word run before it, and the
# first word of the next line.
_LINE_END_HYPHEN = re.compile(r"(\w*)([-\u2010\u00ad])[ \t]*\n[ \t]*(\w+)?")
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")


def expand_ligatures(text: str) -> str:
    return text.translate(_LIGATURES)


def join_broken_lines(text: str) -> str:
    """Join words a line end broke, keep hyphens that are part of a term. See the module doc."""
    if "-" not in text and "\u2010" not in text and _SOFT_HYPHEN not in text:
        return text
    compounds = {match.lower() for match in _HYPHENATED.findall(text)}

    def join(match: re.Match[str]) -> str:
        left, hyphen, right = match.group(1), match.group(2), match.group(3)
        if right is None:
            return match.group(0)  # nothing word-like follows: a dash, a list, a rule
        if hyphen == _SOFT_HYPHEN:
            return left + right
        broken_word = left[-1:].isalpha() and left[-1:].islower() and right[:1].islower()
        if broken_word and f"{left}-{right}".lower() not in compounds:
            return left + right
        return left + hyphen + right

    return _LINE_END_HYPHEN.sub(join, text).replace(_SOFT_HYPHEN, "")


def clean_page_text(text: str) -> str:
    """A page's text as indexed: NULs and carriage returns gone, ligatures out, lines joined."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return join_broken_lines(expand_ligatures(text))
