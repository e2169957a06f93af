"""Errors a person can act on: each carries a plain-words message and, where known, what to do next."""

from __future__ import annotations


class HearthError(Exception):
    """Base of every error the engine raises on purpose.

    Args:
        message: What went wrong, in words a person understands.
        hint: What they can do about it, if anything.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        return f"{as_sentence(self.message)} {self.hint}".strip()


def as_sentence(text: str) -> str:
    """`text` ending as a sentence does, so that another can follow it: "... replace it" gets
    a full stop; text that already ends in . ! ? : or a closing quote or bracket after one is
    kept as it is."""
    text = text.rstrip()
    if not text or text.rstrip("\"')]»”’").endswith((".", "!", "?", ":", "…")):
        return text
    return text + "."


def describe(exc: BaseException, failed: str = "Something went wrong") -> str:
    """An error in one line for a person.

    A `HearthError` is said in its own words (message and hint). Any other exception is a fault
    in Hearth: said as `failed` ("The reply failed") with the exception's type and text, and a
    pointer to the log, where the code that caught it has written the traceback.
    """
    if isinstance(exc, HearthError):  # a sentence: callers go on after it ("Not sent: ...")
        return as_sentence(" ".join(str(exc).split()))
    detail = " ".join(str(exc).split())
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"{failed} ({what}). Details are in the log file."


class ModelFileError(HearthError):
    """A model file that is missing, unreadable, not GGUF or damaged."""


class ModelLoadError(HearthError):
    """llama.cpp refused to load a model (out of memory, unsupported architecture...)."""


class GenerationError(HearthError):
    """Generation failed part-way (context full, decode error)."""


class InvalidTextError(HearthError, ValueError):
    """Text that has no UTF-8 form, so no model can read it: a lone surrogate, as a JSON
    "\\ud800" escape or bytes decoded with Python's surrogateescape leave in a string."""


def utf8(text: str, what: str = "The text") -> bytes:
    """`text` encoded as UTF-8, for a tokenizer; `what` names it in the error.

    Raises:
        InvalidTextError: `text` holds a lone surrogate (named, with its place).
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidTextError(
            f"{what} holds a character that is not valid Unicode (U+{ord(text[exc.start]):04X}, "
            f"half of a surrogate pair) at character {exc.start + 1:,}.",
            "Remove it, or save the text again as UTF-8.",
        ) from exc
