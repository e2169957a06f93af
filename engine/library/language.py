"""Which language a query is written in, so that retrieval leans on the signals that can read it.

The bundled embedding model (all-MiniLM-L6-v2) was trained on English text: for a German
question its ranking is close to chance (bench/retrieval.py, vector-only, language=de), and
fused in with full weight it pushes the right page down. py3langid (a maintained fork of
Lui & Baldwin's langid.py, 97 languages, its model inside the package) tells the language in
well under a millisecond once loaded. Loading takes a few seconds of CPU, so it happens on a
thread of its own when a language is first asked for, and until it is done no language is
known: a search never waits for it, and a process that only indexes never pays for it. A process
that answers one search and exits (`hearth search`, `hearth ask`) does not start it at all: it
would finish after the answer, and meanwhile take a core from the chat model's prefill.
"""

from __future__ import annotations

import threading
from typing import Any

# Below this confidence (py3langid's normalised probability) a query is of no known language:
# short queries ("xsel", "ssh keys") are, and then every signal keeps its weight.
MIN_CONFIDENCE = 0.8

_identifier: Any = None
_lock = threading.Lock()
_loader: threading.Thread | None = None
_load_on_demand = True


def load_on_demand(enabled: bool) -> None:
    """Whether `language_of` starts loading the model when it is not loaded yet (default on).
    `warm()` loads it either way."""
    global _load_on_demand
    _load_on_demand = enabled


def _load() -> None:
    global _identifier
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    with _lock:
        _identifier = identifier


def warm(wait: bool = True) -> None:
    """Start loading the language model (once per process); with `wait`, until it is loaded."""
    global _loader
    with _lock:
        if _identifier is None and _loader is None:
            _loader = threading.Thread(target=_load, name="language-model", daemon=True)
            _loader.start()
        loader = _loader
    if wait and loader is not None:
        loader.join()


def language_of(text: str, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the language `text` is written in ("en", "de"), or None when the
    text is too short or too mixed to tell with `min_confidence`, or the model is not loaded
    yet (the first call starts loading it, unless `load_on_demand(False)`)."""
    if _identifier is None:
        if _load_on_demand:
            warm(wait=False)
        return None
    if not text.strip():
        return None
    language, confidence = _identifier.classify(text)
    return str(language) if confidence >= min_confidence else None
