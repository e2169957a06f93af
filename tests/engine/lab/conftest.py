"""Fixtures for the lab: a tiny F32 model with K-quant-sized rows, and Gemma's variants made once."""

from __future__ import annotations

import pytest

from engine.lab.quantize import QuantizeRequest, quantize
from tests.engine.context.tiny_gguf import write_tiny_model

# Two shared cores: llama.cpp's threads spin at their barriers, so two threads on a busy
# machine run slower than one. The lab's tests measure behaviour, not speed.
THREADS = 1


def run_all(events):
    """Every event of a lab job, in order."""
    return list(events)


def finish(generator):
    """Drive a measurement generator to its end; return (fractions, its return value)."""
    fractions = []
    while True:
        try:
            fractions.append(next(generator))
        except StopIteration as stop:
            return fractions, stop.value


@pytest.fixture(scope="session")
def tiny_f32_path(tmp_path_factory):
    """Random weights in F32, 256-wide rows: every K-quant type applies without fallbacks."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-f32.gguf", n_embd=256, n_ff=512)


@pytest.fixture(scope="session")
def gemma_variants(tmp_path_factory, gemma_model_path):
    """Gemma 3 270M (Q4_K_M) requantized to Q8_0 and Q2_K: {type: (result, events)}."""
    folder = tmp_path_factory.mktemp("gemma-variants")
    made = {}
    for quant_type in ("Q8_0", "Q2_K"):
        request = QuantizeRequest(
            str(gemma_model_path),
            quant_type,
            str(folder / f"gemma-3-270m-{quant_type}.gguf"),
            allow_requantize=True,
        )
        events = run_all(quantize(request))
        made[quant_type] = (events[-1], events)
    return made


def across_vocabularies():
    """Results of the bundled SmolLM2 (the reference) beside Gemma 3, whose vocabulary is another:
    Gemma is faster here and reads a lower perplexity, which must not make it the better model."""
    from engine.lab import BenchResults, ModelResult, RunConfig, Spread
    from engine.lab.vocab import difference_words

    def row(name, size, vocabulary, gen, ppl, reference):
        return ModelResult(
            model=f"/models/{name}", name=name, file_type=name.rsplit(".", 2)[-2].upper(),
            file_size=size, parameter_count=1, config=RunConfig(), backend="CPU (1 thread)",
            n_ctx=512, is_reference=reference, vocabulary_size=vocabulary,
            same_vocabulary=bool(reference),
            quality_note="" if reference else difference_words(
                name, vocabulary, "SmolLM2-135M-Instruct.Q4_1.gguf", 49152),
            gen_tokens_per_s=Spread(gen, gen, gen), model_ram_bytes=Spread(size, size, size),
            perplexity=ppl, perplexity_error=0.2, quality_tokens=31,
            kl_divergence=0.0 if reference else None, top1_agreement=1.0 if reference else None,
        )  # fmt: skip

    return BenchResults(
        results=(
            row("SmolLM2-135M-Instruct.Q4_1.gguf", 98_000_000, 49152, 90.0, 12.0, True),
            row("gemma-3-270m.q4_k_m.gguf", 253_000_000, 262144, 120.0, 9.0, False),
        ),
        reference="/models/SmolLM2-135M-Instruct.Q4_1.gguf",
        started_at="2026-11-30T10:15:00+00:00",
    )


def partly_across_vocabularies():
    """`across_vocabularies` with a Q8_0 variant of SmolLM2 beside its reference: two of the
    three models share a vocabulary, so their quality compares and Gemma's does not."""
    from dataclasses import replace

    from engine.lab import Spread

    two = across_vocabularies()
    reference, gemma = two.results
    variant = replace(reference, model="/models/SmolLM2-135M-Instruct.Q8_0.gguf",
                      name="SmolLM2-135M-Instruct.Q8_0.gguf", file_type="Q8_0",
                      is_reference=False, gen_tokens_per_s=Spread(70.0, 66.0, 73.0),
                      perplexity=11.9, kl_divergence=0.004, top1_agreement=0.97)  # fmt: skip
    return replace(two, results=(reference, variant, gemma))
