"""Quality compares only between models of one vocabulary: told apart before a run, never ranked,
charted or scored across vocabularies, and the reference's own KL and top-1 are no score."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from engine.lab import (
    BenchPlan,
    LabNotice,
    QualitySettings,
    incomparable_reason,
    load_results,
    pareto_front,
    prepare,
    quality_comparable,
    quality_metric,
    recommend,
    run_bench,
)
from engine.lab.decide import comparable_results, speed_quality_points
from engine.lab.quantize import QuantizeRequest, quantize
from engine.lab.vocab import read_vocabulary
from tests.engine.context.tiny_gguf import SPECIAL_TOKENS, write_tiny_model
from tests.engine.lab.conftest import (
    THREADS,
    across_vocabularies,
    partly_across_vocabularies,
    run_all,
)


def test_the_bundled_models_vocabularies_are_read_from_their_metadata(
    default_model_path, gemma_model_path
):
    smol, gemma = read_vocabulary(default_model_path), read_vocabulary(gemma_model_path)
    assert smol is not None and gemma is not None
    assert (smol.size, gemma.size) == (49152, 262144)
    assert smol != gemma and read_vocabulary(default_model_path) == smol


def test_a_run_reads_each_model_s_vocabulary_in_its_one_header_walk(
    monkeypatch, default_model_path, gemma_model_path
):
    # The digest is taken while the header is read: preparing a run opens each file once.
    from engine import gguf_info

    opened = []
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        if str(file).endswith(".gguf"):
            opened.append(Path(file).name)
        return real_open(file, *args, **kwargs)

    gguf_info._cached_header.cache_clear()
    monkeypatch.setattr("builtins.open", counting_open)
    monkeypatch.setattr("io.open", counting_open)
    prepared = prepare(BenchPlan(models=(str(default_model_path), str(gemma_model_path)),
                                 speed=False, quality_settings=QualitySettings(64, 1)))  # fmt: skip
    assert sorted(opened) == sorted([default_model_path.name, gemma_model_path.name])
    smol, gemma = (m.vocabulary for m in prepared.models)
    assert smol == read_vocabulary(default_model_path) and gemma.size == 262144


def test_a_header_read_from_a_stream_gives_the_same_vocabulary(default_model_path):
    # As a file on the Hub is read, through a stream that cannot seek.
    from engine.gguf_info import read_header, read_model_info

    class Unseekable(io.RawIOBase):
        def __init__(self, path):
            self.file, self.at = open(path, "rb"), 0  # noqa: SIM115 (closed with the stream)

        def readable(self):
            return True

        def tell(self):
            return self.at

        def readinto(self, buffer):
            data = self.file.read(len(buffer))
            buffer[: len(data)] = data
            self.at += len(data)
            return len(data)

        def close(self):
            self.file.close()
            super().close()

    size = default_model_path.stat().st_size
    streamed = read_header(default_model_path, Unseekable(default_model_path), size)
    assert streamed.vocab_digest == read_model_info(default_model_path).vocab_digest
    assert len(streamed.vocab_digest) == 32


def test_the_reference_is_of_the_vocabulary_most_models_share(tmp_path):
    # The most precise file (F32) has a vocabulary neither Q8_0 variant shares: judged against
    # it, no model would get a KL divergence.
    odd = write_tiny_model(tmp_path / "odd.gguf", special_tokens=(*SPECIAL_TOKENS, "<|tool|>"),
                           n_embd=256, n_ff=512)  # fmt: skip
    source = write_tiny_model(tmp_path / "source.gguf", n_embd=256, n_ff=512)
    first, second = tmp_path / "one-Q8_0.gguf", tmp_path / "two-Q8_0.gguf"
    for target in (first, second):
        run_all(quantize(QuantizeRequest(str(source), "Q8_0", str(target))))
    prepared = prepare(BenchPlan(models=(str(odd), str(first), str(second)), speed=False,
                                 quality_settings=QualitySettings(64, 1)))  # fmt: skip
    assert prepared.reference in (str(first), str(second))
    same = {m.path: m.same_vocabulary for m in prepared.models}
    assert same == {str(odd): False, str(first): True, str(second): True}
    assert read_vocabulary(odd).size == read_vocabulary(first).size + 1
    assert read_vocabulary(first) == read_vocabulary(source)
    assert any("odd.gguf" in n and "another vocabulary" in n for n in prepared.notes)


def test_recommending_across_vocabularies_rests_on_speed_and_says_why():
    rows = across_vocabularies().results
    assert not quality_comparable(rows)
    advice = recommend(rows)
    assert advice.metric == "gen_tokens_per_s" and advice.choice is rows[1]
    assert "perplexity" not in advice.text.split(":")[1]  # its figures: speed, memory, backend
    assert "lowest perplexity" not in advice.text and "not on quality" in advice.text
    assert "another vocabulary" in advice.text and "262,144" in advice.text
    # Nothing is charted or put on a front against a figure that does not compare.
    assert quality_metric(rows) is None and pareto_front(rows) == []
    assert [r.quality_standing for r in rows] == ["reference", "not comparable"]


def test_models_of_the_reference_s_vocabulary_are_judged_among_themselves():
    reference, variant, gemma = rows = partly_across_vocabularies().results
    assert comparable_results(rows) == [reference, variant]
    assert quality_metric(rows) == "kl_divergence" and pareto_front(rows) == [reference]
    assert speed_quality_points(rows, "kl_divergence") == ([0, 1], [
        "gemma-3-270m.q4_k_m.gguf is not plotted: its vocabulary differs from the reference's, "
        "so its KL divergence cannot be measured against it."])  # fmt: skip
    # Judged on perplexity, Gemma's lower one, over other tokens, puts it on no front.
    assert pareto_front(rows, "perplexity") == [reference, variant]
    assert "counted in other tokens" in speed_quality_points(rows, "perplexity")[1][0]
    # The recommendation still rests on what all three share: speed.
    advice = recommend(rows)
    assert advice.metric == "gen_tokens_per_s" and advice.choice is gemma
    assert "another vocabulary" in advice.text


def test_a_quality_figure_some_models_lack_is_still_used_for_the_others():
    from dataclasses import replace

    reference, variant, gemma = partly_across_vocabularies().results
    skipped = replace(variant, name="skipped.gguf", kl_divergence=None, top1_agreement=None,
                      perplexity=None)  # fmt: skip
    broken = replace(variant, name="broken.gguf", kl_divergence=float("nan"),
                     perplexity=float("inf"))  # fmt: skip
    failed = replace(variant, name="failed.gguf", error="out of memory")
    rows = [reference, variant, skipped, broken, failed, gemma]
    assert quality_metric(rows) == "kl_divergence"
    assert pareto_front(rows) == [reference]
    placed, left_off = speed_quality_points(rows, "kl_divergence")
    assert placed == [0, 1]
    assert left_off == [
        "skipped.gguf is not plotted: its KL divergence was not measured.",
        "broken.gguf is not plotted: its KL divergence came out as nan, not a number that "
        "can be plotted.",
        "failed.gguf is not plotted: its run failed.",
        "gemma-3-270m.q4_k_m.gguf is not plotted: its vocabulary differs from the reference's, "
        "so its KL divergence cannot be measured against it.",
    ]
    # A figure more models have wins over a stronger one fewer have; in a tie, the stronger.
    scored = [replace(r, task_score=0.5) for r in (reference, variant, skipped)]
    assert quality_metric(scored) == "task_score"
    assert quality_metric(scored[:2]) == "kl_divergence"
    assert speed_quality_points(rows, None) == ([], [])


def test_the_decision_is_saved_and_reopened_with_the_results(tmp_path):
    json_path, csv_path = across_vocabularies().save(tmp_path / "two.json")
    for path in (json_path, csv_path):
        rows = load_results(path).results
        assert [r.same_vocabulary for r in rows] == [True, False]
        assert "262,144 tokens against 49,152" in rows[1].quality_note
        assert not quality_comparable(rows)
    saved = across_vocabularies().to_dict()["results"]
    assert [r["quality_standing"] for r in saved] == ["reference", "not comparable"]


@pytest.mark.slow
def test_a_run_of_the_bundled_models_never_compares_their_quality(
    default_model_path, gemma_model_path
):
    plan = BenchPlan(
        models=(str(default_model_path), str(gemma_model_path)),
        prompt_lengths=(16,), gen_tokens=4, ttft_prompt_tokens=16, repeats=1,
        quality_settings=QualitySettings(n_ctx=64, max_chunks=1), n_threads=THREADS,
        n_gpu_layers=0,
    )  # fmt: skip
    events = run_all(run_bench(plan))
    results = events[-1]
    (reference,) = (r for r in results.results if r.is_reference)
    (other,) = (r for r in results.results if not r.is_reference)
    assert not reference.error and not other.error
    assert reference.quality_standing == "reference" and other.quality_standing == "not comparable"
    assert other.perplexity is not None and reference.perplexity is not None
    assert other.kl_divergence is None and other.top1_agreement is None
    assert {reference.vocabulary_size, other.vocabulary_size} == {49152, 262144}
    assert other.same_vocabulary is False and "another vocabulary" in other.quality_note
    notices = [e.message for e in events if isinstance(e, LabNotice)]
    assert any("another vocabulary" in n for n in notices)
    advice = recommend(results.results)
    assert advice.metric == "gen_tokens_per_s" and "lowest perplexity" not in advice.text
    assert incomparable_reason(results.results) in advice.text
    assert quality_metric(results.results) is None
