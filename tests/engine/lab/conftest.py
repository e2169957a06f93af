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
