"""Which models read a text as the same tokens: a model's vocabulary, from its GGUF metadata.

Perplexity per token, KL divergence and top-1 agreement are only comparable between models that
share a vocabulary (the variants of one model): another vocabulary cuts the text into other
tokens, so its per-token figures count other things, and llama.cpp's perplexity tool refuses KL
divergence across vocabularies. A `Vocabulary` is the tokenizer's kind and its token list
(`tokenizer.ggml.model`, `tokenizer.ggml.tokens`), kept as their size and a digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError
from engine.gguf_info import ModelInfo, read_model_info


@dataclass(frozen=True)
class Vocabulary:
    """A model's vocabulary: how many tokens, and a digest of the tokenizer's kind and tokens.

    Two models share a vocabulary when both are equal: then they read a text as the same tokens.
    """

    size: int
    digest: str


def vocabulary_of(info: ModelInfo) -> Vocabulary | None:
    """The vocabulary of a model read with `read_model_info` (its digest is taken in the same
    walk over the header); None when the file has no token list."""
    return Vocabulary(info.vocab_size, info.vocab_digest) if info.vocab_digest else None


def read_vocabulary(path: str | Path) -> Vocabulary | None:
    """The vocabulary in the GGUF file's metadata; None when the file has none or cannot be read
    (the comparison is then left to the tokens the models make of the text)."""
    try:
        return vocabulary_of(read_model_info(path, check=False))
    except ModelFileError:
        return None


def difference_words(name: str, size: int, reference_name: str, reference_size: int) -> str:
    """Why `name`'s quality is not comparable with the reference's, in plain words."""
    if size and reference_size and size != reference_size:
        sizes = f"{size:,} tokens against {reference_size:,}"
    else:
        sizes = "the same number of tokens, but not the same ones"
    return (
        f"{name} has another vocabulary than the reference {reference_name} ({sizes}), so it "
        "cuts the text into other tokens: its perplexity is per token of its own, and KL "
        "divergence and top-1 agreement need the same tokens. Quality compares only between "
        "models of one vocabulary (variants of one model)."
    )
