"""Perplexity, KL divergence and top-1 agreement, checked against independent computations and on
real quantizations of Gemma 3 270M."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from engine.errors import HearthError
from engine.lab import BenchPlan, BenchResults, QualitySettings, run_bench
from engine.lab.evaluate import TokenEvaluator
from engine.lab.quality import measure_quality, text_chunks
from engine.session import LoadSettings, ModelSession
from tests.engine.context.tiny_gguf import write_tiny_model
from tests.engine.lab.conftest import THREADS, finish, run_all

TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having "
    "nothing to do: once or twice she had peeped into the book her sister was reading, but it had "
    "no pictures or conversations in it, and what is the use of a book, thought Alice, without "
    "pictures or conversations? "
) * 6


def load(path, n_ctx=128):
    session = ModelSession()
    session.load(LoadSettings(model_path=str(path), n_ctx=n_ctx, n_threads=THREADS, n_gpu_layers=0))
    return session


def direct_log_probs(path, chunks):
    """Log-probabilities at every position, from llama-cpp-python's own `Llama(logits_all=True)`:
    none of the lab's decoding or arithmetic."""
    import llama_cpp

    llama = llama_cpp.Llama(model_path=str(path), n_ctx=128, n_batch=128, logits_all=True,
                            n_threads=THREADS, verbose=False)  # fmt: skip
    rows = []
    for chunk in chunks:
        llama.reset()
        llama.eval(chunk)
        logits = np.array(llama.scores[: len(chunk)], dtype=np.float64)
        rows.append(logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1,
                    keepdims=True)) - logits.max(1, keepdims=True))  # fmt: skip
    llama.close()
    return rows


@pytest.mark.slow
def test_perplexity_kl_and_top1_match_a_direct_computation(tiny_f32_path, tmp_path):
    other = write_tiny_model(tmp_path / "other.gguf", seed=1, n_embd=256, n_ff=512)
    settings = QualitySettings(n_ctx=64, max_chunks=3)
    session = load(tiny_f32_path)
    with TokenEvaluator(session.llama) as evaluator:
        chunks = text_chunks(evaluator.tokenize(TEXT), 64, 3, None)
        _, (reference_result, reference) = finish(
            measure_quality(evaluator, TEXT, settings, keep_reference=True)
        )
    session.unload()
    session = load(other)
    with TokenEvaluator(session.llama) as evaluator:
        fractions, (result, _) = finish(measure_quality(evaluator, TEXT, settings, reference))
    session.unload()
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)

    base = direct_log_probs(tiny_f32_path, chunks)
    cand = direct_log_probs(other, chunks)
    nll, kl, same = [], [], []
    for chunk, p, q in zip(chunks, base, cand, strict=True):
        for position in range(32, 63):  # the second half of each chunk, as llama-perplexity
            nll.append(-q[position, chunk[position + 1]])
            kl.append(float((np.exp(p[position]) * (p[position] - q[position])).sum()))
            same.append(p[position].argmax() == q[position].argmax())
    assert result.scored_tokens == len(nll) == 3 * 31
    assert result.perplexity == pytest.approx(math.exp(np.mean(nll)), rel=1e-4)
    assert result.kl_divergence == pytest.approx(np.mean(kl), rel=1e-3, abs=1e-7)
    assert result.top1_agreement == pytest.approx(np.mean(same))
    assert reference_result.kl_divergence is None  # nothing to compare the reference with


def test_text_too_short_for_one_chunk_is_refused():
    with pytest.raises(HearthError, match="at least 512"):
        text_chunks(list(range(100)), 512, 8, None)
    chunks = text_chunks(list(range(1, 300)), 128, 0, bos=7)
    assert [len(c) for c in chunks] == [128, 128] and [c[0] for c in chunks] == [7, 7]
    assert chunks[1][1:] == list(range(130, 257))


def quality_only(models, reference, tmp_text=None):
    plan = BenchPlan(
        models=tuple(str(m) for m in models),
        reference=str(reference),
        speed=False,
        quality_settings=QualitySettings(n_ctx=128, max_chunks=2),
        n_threads=THREADS,
        n_gpu_layers=0,
    )
    events = run_all(run_bench(plan))
    results = events[-1]
    assert isinstance(results, BenchResults) and not results.cancelled
    return {r.model: r for r in results.results}


@pytest.mark.slow
def test_kl_divergence_of_a_model_against_itself_is_zero_and_top1_is_one(
    gemma_model_path, tmp_path
):
    twin = tmp_path / "gemma-twin.gguf"  # a copy: a link to the same file is measured once
    shutil.copyfile(gemma_model_path, twin)
    rows = quality_only([gemma_model_path, twin], reference=gemma_model_path)
    measured = rows[str(twin)]  # judged against the reference's kept distributions
    assert not measured.error
    assert measured.kl_divergence == pytest.approx(0.0, abs=1e-9)
    assert measured.top1_agreement == 1.0
    assert measured.perplexity == rows[str(gemma_model_path)].perplexity
    assert measured.quality_tokens == 2 * 63


@pytest.mark.slow
def test_q2_k_variant_of_gemma_is_worse_than_q8_0_in_perplexity_and_kl(
    gemma_variants, gemma_model_path
):
    q8, q2 = (gemma_variants[t][0].path for t in ("Q8_0", "Q2_K"))
    rows = quality_only([q8, q2], reference=gemma_model_path)
    reference = rows[str(gemma_model_path)]
    assert reference.is_reference and reference.kl_divergence == 0.0
    good, bad = rows[q8], rows[q2]
    assert bad.perplexity > good.perplexity
    assert bad.kl_divergence > good.kl_divergence > 0
    assert bad.top1_agreement < good.top1_agreement <= 1.0
    for row in (reference, good, bad):
        assert row.backend.startswith("CPU") and row.reference_model == str(gemma_model_path)


@pytest.mark.slow
def test_a_cancelled_evaluator_stops_before_its_next_batch(tiny_f32_path):
    """A long prefill stops within one batch of its cancel, not at the end of its measurement."""
    from engine.cancel import CancelToken
    from engine.lab.events import LabCancelled
    from engine.lab.speed import filler_tokens, prompt_tokens_per_s

    session = ModelSession()
    session.load(LoadSettings(model_path=str(tiny_f32_path), n_ctx=512, n_threads=1))
    cancel = CancelToken()
    try:
        with TokenEvaluator(session.llama, cancel) as evaluator:
            tokens = filler_tokens(evaluator.tokenize("some words to repeat"), 256)
            assert prompt_tokens_per_s(evaluator, tokens) > 0
            batches: list[int] = []
            decode = evaluator.decode

            def decode_then_cancel(*args, **kwargs):
                batches.append(1)
                produced = decode(*args, **kwargs)
                cancel.cancel()  # as Stop pressed during the first batch
                return produced

            evaluator.decode = decode_then_cancel  # type: ignore[method-assign]
            evaluator.n_batch = 64
            with pytest.raises(LabCancelled):
                prompt_tokens_per_s(evaluator, tokens)
            assert len(batches) == 2, "stopped at the batch after the cancel, of 4"
    finally:
        session.unload()
