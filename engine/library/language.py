"""Which language a query is written in, so that retrieval leans on the signals that can read it.

The bundled embedding model (all-MiniLM-L6-v2) was trained on English text: for a German
question its ranking is close to chance (bench/retrieval.py, vector-only, language=de), and
fused in with full weight it pushes the right page down. py3langid (a maintained fork of
Lui & Baldwin's langid.py, 97 languages, its model inside the package) tells the language in
well under a millisecond once loaded; loading takes a few seconds, so `warm()` does it off the
path of the first search.
"""

from __future__ import annotations

import threading
from typing import Any

# Below this confidence (py3langid's normalised probability) a query is of no known language:
# short queries ("xsel", "ssh keys") are, and then every signal keeps its weight.
MIN_CONFIDENCE = 0.8

_identifier: Any = None
_lock = threading.Lock()


def _load() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def warm() -> None:
    """Load the language model now (a few seconds, once per process)."""
    _load()


def language_of(text: str, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the language `text` is written in ("en", "de"), or None when the
    text is too short or too mixed to tell with `min_confidence`."""
    if not text.strip():
        return None
    language, confidence = _load().classify(text)
    return str(language) if confidence >= min_confidence else None
