"""Which language a query is written in, so that retrieval leans on the signals that can read it.

The bundled embedding model (all-MiniLM-L6-v2) was trained on English text: for a German
question its ranking is close to chance (bench/retrieval.py, vector-only, language=de), and
fused in with full weight it pushes the right page down. py3langid (a maintained fork of
Lui & Baldwin's langid.py, 97 languages, its model inside the package) tells the language in
about 2 ms once loaded.

Every search knows its query's language, so that `hearth search`, `hearth ask` and the window
rank a question the same way. The package ships its model LZMA-compressed, and unpacking it
takes ~0.5 s of CPU, so the unpacked model (an .npz of ~68 MB) is kept in a cache folder
(`keep_model_copy_in`): later processes load it in ~50 ms, on their first search. Where the
copy cannot be written (full or read-only disk), the model is unpacked in memory each time.
"""

from __future__ import annotations

import logging
import lzma
import shutil
import threading
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.atomic_io import write_atomic
from engine.errors import HearthError

if TYPE_CHECKING:
    import numpy as np

# Below this confidence (py3langid's normalised probability) a query is of no known language:
# short queries ("xsel", "ssh keys") are, and then every signal keeps its weight.
MIN_CONFIDENCE = 0.8

log = logging.getLogger(__name__)

_identifier: Any = None
_tried = False
_lock = threading.Lock()
_copy_dir: Path | None = None


def keep_model_copy_in(folder: Path | None) -> None:
    """Keep the unpacked language model in `folder` (made when missing; None: keep no copy).
    Takes effect for a model not loaded yet."""
    global _copy_dir
    _copy_dir = Path(folder) if folder is not None else None


def warm() -> None:
    """Load the language model now, once per process (threads asking meanwhile wait for it)."""
    global _identifier, _tried
    with _lock:
        if not _tried:
            _tried = True
            _identifier = _loaded()


def language_of(text: str, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the language `text` is written in ("en", "de"), or None when the
    text is too short or too mixed to tell with `min_confidence`. The first call of a process
    loads the model (see the module's docstring for how long that takes)."""
    if not text.strip():
        return None
    warm()
    if _identifier is None:
        return None
    language, confidence = _identifier.classify(text)
    return str(language) if confidence >= min_confidence else None


def _loaded() -> Any:
    """py3langid's identifier, or None (logged) for a broken install: searches then go on with
    every signal at full weight."""
    from py3langid.langid import LanguageIdentifier

    try:
        ptc, pc, classes, nextmove, row, output = _model_parts()
    except Exception as exc:  # noqa: BLE001
        log.warning("The language model could not be loaded: %s", exc)
        return None
    return LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)


def _model_parts() -> tuple:
    """The arrays of py3langid's model, from the unpacked copy where there is one."""
    from py3langid.langid import MODEL_FILE
    from py3langid.modelio import load_model

    packed = Path(MODEL_FILE)
    if not packed.is_absolute():
        from py3langid.langid import MODEL_DIR

        packed = Path(MODEL_DIR) / packed
    copy = _copy_path(packed)
    if copy is None:
        return load_model(packed)
    try:
        return _read_unpacked(copy)
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - a damaged copy fails in many ways: unpack it again
        log.info("The language model's copy %s is unreadable (%s); unpacking it again", copy, exc)
    try:
        write_atomic(copy, lambda handle: _unpack(packed, handle))
    except HearthError as exc:
        log.info("The language model's copy cannot be kept (%s); unpacking it in memory", exc)
        return load_model(packed)
    for older in copy.parent.glob("py3langid-*.npz"):  # another version's: never read again
        if older != copy:
            older.unlink(missing_ok=True)
    return _read_unpacked(copy)


def _copy_path(packed: Path) -> Path | None:
    """Where the unpacked copy of `packed` lives: its name changes with the package's model."""
    if _copy_dir is None:
        return None
    from py3langid import __version__

    return _copy_dir / f"py3langid-{__version__}-{packed.stat().st_size}.npz"


def _unpack(packed: Path, handle: Any) -> None:
    with lzma.open(packed) as source:
        shutil.copyfileobj(source, handle, length=1 << 20)


def _read_unpacked(copy: Path) -> tuple:
    """The model's arrays, in the order py3langid's `load_model` returns them."""
    import numpy as np

    with np.load(copy, allow_pickle=False) as data:
        return (data["ptc"], data["pc"], data["classes"].tolist(), _stdlib_array(data["nextmove"]),
                _stdlib_array(data["nextmove_row"]), data["out_feat"].tolist())  # fmt: skip


def _stdlib_array(values: np.ndarray) -> array:
    """An unsigned integer array as py3langid's tokenizer wants it: a stdlib `array`."""
    typecode = {2: "H", 4: "I", 8: "Q"}[values.dtype.itemsize]
    out = array(typecode)
    out.frombytes(values.tobytes())
    return out
