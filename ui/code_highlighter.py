"""Colours for code blocks in rendered Markdown: keywords, strings, comments and numbers.

One small rule set covers the languages small models write most (Python, JavaScript, C-like, shell);
it is a reading aid, not a parser.
"""

from __future__ import annotations

import re

from PySide6.QtGui import (
    QColor,
    QFont,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
    QTextFormat,
)

from ui.theme import is_dark

_KEYWORDS = [
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "def",
    "del",
    "do",
    "elif",
    "else",
    "enum",
    "except",
    "export",
    "extends",
    "false",
    "finally",
    "fn",
    "for",
    "from",
    "func",
    "function",
    "if",
    "impl",
    "import",
    "in",
    "interface",
    "is",
    "lambda",
    "let",
    "match",
    "new",
    "nil",
    "none",
    "not",
    "null",
    "or",
    "pass",
    "pub",
    "raise",
    "return",
    "self",
    "static",
    "struct",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "use",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "echo",
    "fi",
    "then",
    "done",
    "esac",
]

_RULES = (
    ("keyword", re.compile(r"\b(?:" + "|".join(_KEYWORDS) + r")\b", re.IGNORECASE)),
    ("number", re.compile(r"\b\d+(?:\.\d+)?\b")),
    ("string", re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`")),
    ("comment", re.compile(r"(?:#|//).*$")),
)

_COLOURS = {
    "light": {"keyword": "#8250df", "number": "#0550ae", "string": "#0a7d38", "comment": "#6e7781"},
    "dark": {"keyword": "#d2a8ff", "number": "#79c0ff", "string": "#7ee787", "comment": "#8b949e"},
}


def is_code_block(block) -> bool:
    """True for lines of a fenced or indented code block as Qt's Markdown reader marks them."""
    fmt = block.blockFormat()
    return bool(
        fmt.hasProperty(QTextFormat.Property.BlockCodeFence)
        or fmt.hasProperty(QTextFormat.Property.BlockCodeLanguage)
        or block.charFormat().fontFixedPitch()
    )


class CodeHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        colours = _COLOURS["dark" if is_dark() else "light"]
        self._formats = {}
        for name, colour in colours.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if name == "keyword":
                fmt.setFontWeight(QFont.Weight.DemiBold)
            if name == "comment":
                fmt.setFontItalic(True)
            self._formats[name] = fmt

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt name)
        if not is_code_block(self.currentBlock()):
            return
        for name, pattern in _RULES:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), self._formats[name])
