"""What the Benchmark window sends and receives: requests it makes, and results as it shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.lab.results import BenchResults

# The variants the window offers, best quality first (llama.cpp's names).
VARIANT_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K")
# Sources a variant is best made from; from anything else quality lost earlier cannot come back.
GOOD_SOURCES = ("F32", "F16", "BF16", "Q8_0")

# The Benchmark window's tabs, in order.
SETUP, PROGRESS, RESULTS = range(3)


@dataclass(frozen=True)
class BenchRequest:
    """A run as the person set it up.

    Attributes:
        models: GGUF files to measure.
        reference: The model others are judged against; None picks the most precise one.
        speed: Measure load time, prompt and generation speed, TTFT and peak memory.
        quality: Measure perplexity, KL divergence and top-1 agreement on `text_path`.
        text_path: A UTF-8 text file; None for the bundled public-domain sample.
        repeats: Speed runs per model (the table shows the median, the plots min-max).
        prompt_lengths: Prompt-processing lengths in tokens.
        gen_tokens: Tokens generated per generation run.
        chunk_tokens, chunks: Tokens per perplexity chunk and how many chunks (0: the whole text).
    """

    models: tuple[str, ...]
    reference: str | None = None
    speed: bool = True
    quality: bool = True
    text_path: str | None = None
    repeats: int = 3
    prompt_lengths: tuple[int, ...] = (512, 4096)
    gen_tokens: int = 64
    chunk_tokens: int = 512
    chunks: int = 8


@dataclass(frozen=True)
class VariantRequest:
    """Variants to make of `source`: one GGUF per type in `types`, in `folder`.

    `allow_requantize` is set once the window has said that the source is already quantized.
    """

    source: str
    types: tuple[str, ...]
    folder: str
    allow_requantize: bool = False


@dataclass(frozen=True)
class VariantCheck:
    """What making variants of a source would take: warnings and the disk space needed and free."""

    source: str
    source_type: str
    needed_bytes: int
    free_bytes: int
    folder: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchView:
    """Results as the window shows them.

    Attributes:
        results: The engine's results (rows, machine, settings).
        front: Indices into `results.results` of the speed/quality Pareto front.
        metric: The quality figure the plots and the front use ("kl_divergence", "perplexity",
            "task_score"), None when nothing measured quality.
        advice: The recommendation in words, under the person's constraint.
        choice: Index of the recommended row, or None.
        source: The file the results came from ("" for a run just finished).
        quality_note: Why the quality figures do not compare (models of other vocabularies),
            in words; "" when they do.
    """

    results: BenchResults
    front: tuple[int, ...] = ()
    metric: str | None = None
    advice: str = ""
    choice: int | None = None
    source: str = ""
    quality_note: str = ""
