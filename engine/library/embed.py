"""Sentence embeddings with the bundled all-MiniLM-L6-v2, loaded on first use.

Queries run in NumPy (engine/library/bert_numpy.py); torch and sentence-transformers are
imported only when the first batch of document text is embedded, so neither the app nor a
search pays for them. Two settings make batches several times faster than plain
sentence-transformers on a CPU (bench/library.py measures both in one run):
- bfloat16 on CPUs that multiply it natively (AVX512-BF16 or AMX), float32 elsewhere; the vectors
  keep a cosine >= 0.9999 to the float32 ones and the rankings on the question sets are the same;
- half the cores for torch (at least one): the GUI and the chat model need the rest, and on a
  busy 2-core machine one thread embeds 2x faster than two that keep waiting for each other.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import HearthError
from engine.library.bert_numpy import BertNumpy

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
DEFAULT_BATCH_SIZE = 32
SMALL_INPUT = 4  # texts per call at or below which one thread is used (queries)


class EmbeddingError(HearthError):
    """The embedding model could not be loaded or run."""


def default_threads() -> int:
    """Half the physical cores, at least one."""
    import psutil

    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 2
    return max(1, cores // 2)


def native_bf16_supported() -> bool:
    """True when the CPU multiplies bfloat16 natively (without it bf16 is slower than fp32)."""
    import torch

    cpu = torch.cpu
    return bool(
        getattr(cpu, "_is_amx_tile_supported", lambda: False)()
        or getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    )


class Embedder:
    """Turns texts into unit-length float32 vectors.

    Args:
        model_dir: A sentence-transformers folder; the bundled model when None.
        precision: "auto" (bf16 where the CPU has it natively, else fp32), "bf16" or "fp32".
        batch_size: Texts per forward pass.
        threads: Torch intra-op threads for batches; half the physical cores when None.
        device: "cpu", "cuda" or "auto" (a GPU when torch sees one).
    """

    name = MODEL_NAME
    dimension = DIMENSION
    # The languages the model was trained on (sentence-transformers' model card: English data).
    languages: frozenset[str] = frozenset({"en"})

    def __init__(
        self,
        model_dir: Path | None = None,
        precision: str = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        device: str = "auto",
    ) -> None:
        if precision not in {"auto", "bf16", "fp32"}:
            raise ValueError(f"unknown precision {precision!r}")
        self._model_dir = model_dir
        self._precision = precision
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self._device = device
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()
        self._numpy: BertNumpy | bool | None = None  # None: not tried yet; False: not usable
        self.resolved_precision: str | None = None

    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            from engine.bundled import embedding_model_dir

            self._model_dir = embedding_model_dir()
        return Path(self._model_dir)

    @property
    def tokenizer(self):
        """The model's fast tokenizer (no torch needed); used to size chunks."""
        if self._tokenizer is None:
            from engine.library.chunk import load_tokenizer

            try:
                self._tokenizer = load_tokenizer(self.model_dir)
            except Exception as exc:
                raise EmbeddingError(
                    f"The embedding model's tokenizer could not be read: {exc}", "Reinstall Hearth."
                ) from exc
        return self._tokenizer

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model now (otherwise the first embed call does)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()

    def _load(self):
        # Never reach for a model hub: the model ships with the app.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Loading prints a progress bar on stderr; Hearth reports its own progress.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise EmbeddingError(
                "sentence-transformers is not installed.", "Reinstall Hearth."
            ) from exc
        transformers_logging.disable_progress_bar()
        device = self._device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        precision = self._precision
        if precision == "auto":
            precision = "bf16" if device == "cuda" or native_bf16_supported() else "fp32"
        kwargs = {"dtype": torch.bfloat16} if precision == "bf16" else {}
        try:
            model = SentenceTransformer(
                str(self.model_dir), device=device, local_files_only=True, model_kwargs=kwargs
            )
        except Exception as exc:
            raise EmbeddingError(
                f"The embedding model could not be loaded: {exc}", "Reinstall Hearth."
            ) from exc
        model.eval()
        self.resolved_precision = precision
        return model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), 384), float32, unit length.

        Up to `SMALL_INPUT` texts (a query) run in NumPy (`bert_numpy`), so that a search
        neither imports torch nor waits for an indexing batch; more run through
        sentence-transformers in batches. The two agree to a cosine >= 0.9999.

        Safe to call from several threads: batches take turns one at a time, so indexing
        never holds a search back by more than one batch.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= SMALL_INPUT:
            runtime = self._query_runtime()
            if runtime is not None:
                return _unit_length(runtime.embed(texts))
        self.load()
        parts = []
        for start in range(0, len(texts), self.batch_size):
            with self._lock:
                parts.append(self._encode(texts[start : start + self.batch_size]))
        return _unit_length(np.concatenate(parts))

    def _query_runtime(self) -> BertNumpy | None:
        """The NumPy runtime for short inputs, or None where the model is not one it computes
        (or it failed to load, which is logged: the torch model then serves queries too)."""
        with self._query_lock:
            if self._numpy is None:
                self._numpy = False
                if BertNumpy.supports(self.model_dir):
                    try:
                        self._numpy = BertNumpy(self.model_dir)
                    except (OSError, ValueError, KeyError) as exc:
                        log.warning("The NumPy embedding runtime could not load: %s", exc)
            return self._numpy if isinstance(self._numpy, BertNumpy) else None

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        # A query is a few words: one thread does it as fast, and several threads contending
        # with other busy processes turn 8 ms into hundreds. torch's thread count is global to
        # the process, so it is set on every call (only when it differs: setting it costs).
        wanted = 1 if len(texts) <= SMALL_INPUT else self.threads
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        with torch.inference_mode():
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=False,
                convert_to_tensor=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return vectors.float().cpu().numpy()

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _unit_length(vectors: np.ndarray) -> np.ndarray:
    # Normalise in float32: bf16 output rounded to unit length is not quite unit length.
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)
