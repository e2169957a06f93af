"""The Benchmark window's results across vocabularies (the chart keeps the models that compare and
names the others), counts said in the right number, and the setup's refusals in words that are
true."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.bench_controller import make_view
from tests.engine.lab.conftest import THREADS, across_vocabularies, partly_across_vocabularies
from ui.bench.results_model import COLUMNS
from ui.bench.results_panel import ResultsPanel
from ui.bench.setup_panel import SetupPanel

HEADINGS = [column[0] for column in COLUMNS]
PPL, KL, TOP1 = (HEADINGS.index(h) for h in ("Perplexity", "KL\ndivergence", "Top-1"))
GEMMA_LEFT_OFF = (
    "is not plotted: its vocabulary differs from the reference's, so its KL divergence cannot "
    "be measured against it."
)


@pytest.fixture
def panel(qtbot):
    panel = ResultsPanel()
    qtbot.add_widget(panel)
    panel.resize(1200, 700)
    panel.show()
    return panel


def test_quality_across_vocabularies_is_shown_as_not_comparable(panel):
    panel.show_view(make_view(across_vocabularies()))
    smol, gemma = panel.model.cell_texts()
    # The reference's own KL and top-1 are no score: it reads "reference", not 0.0000 / 100.0%.
    assert smol[KL] == smol[TOP1] == "reference"
    assert gemma[KL] == gemma[TOP1] == "not comparable" and gemma[PPL] == "9.000 ≠"
    tip = panel.model.data(panel.model.index(1, KL), Qt.ItemDataRole.ToolTipRole)
    assert "262,144 tokens against 49,152" in tip and "other tokens" in tip
    tip = panel.model.data(panel.model.index(1, PPL), Qt.ItemDataRole.ToolTipRole)
    assert "Not comparable with the reference's" in tip
    # Not recommended on perplexity; the chart draws no quality axis it cannot compare.
    advice = panel.advice.text()
    assert "lowest perplexity" not in advice and "another vocabulary" in advice
    assert "on speed, then memory" in advice
    figure = panel.plots.speed_quality
    assert "Perplexity" not in figure.plot.getAxis("bottom").labelText
    assert "vocabular" in figure.plot.getAxis("bottom").labelText
    assert "another vocabulary" in figure.caption.text()
    assert panel.model.front == frozenset()


def test_a_run_of_one_variant_of_one_vocabulary_keeps_its_figures(panel):
    # Both of one vocabulary (as two quantizations are): the figures compare as before.
    results = across_vocabularies()
    same = replace(results, results=(results.results[0],
                                     replace(results.results[1], same_vocabulary=True,
                                             quality_note="", kl_divergence=0.05,
                                             top1_agreement=0.9)))  # fmt: skip
    panel.show_view(make_view(same))
    smol, gemma = panel.model.cell_texts()
    assert smol[KL] == "reference" and gemma[KL] == "0.0500" and gemma[TOP1] == "90.0%"
    assert gemma[PPL] == "9.000"
    assert "KL divergence" in panel.plots.speed_quality.plot.getAxis("bottom").labelText


def plotted(figure):
    """(x, y) of every point the speed/quality chart draws, hollow or on the front."""
    return sorted((p.pos().x(), p.pos().y())
                  for item in (figure.points, figure.front_points) for p in item.points())  # fmt: skip


def test_the_chart_plots_the_models_of_the_reference_s_vocabulary_and_names_the_others(panel):
    results = partly_across_vocabularies()
    panel.show_view(make_view(results))
    figure = panel.plots.speed_quality
    # SmolLM2 and its variant, at their KL divergence and speed; Gemma left off, and said why.
    assert plotted(figure) == [(0.0, 90.0), (0.004, 70.0)]
    assert [label.toPlainText() for label in figure.labels] == ["Q4_1", "Q8_0"]
    assert "KL divergence" in figure.plot.getAxis("bottom").labelText
    assert f"gemma-3-270m.q4_k_m.gguf {GEMMA_LEFT_OFF}" in figure.caption.text()
    assert "SmolLM2" not in figure.caption.text()
    # The table marks the same front the chart draws.
    assert [row[0].startswith("◆") for row in panel.model.cell_texts()] == [True, False, False]


def test_a_figure_one_model_lacks_leaves_the_others_on_the_chart(panel):
    reference, variant, gemma = partly_across_vocabularies().results
    skipped = replace(variant, name="SmolLM2-135M-Instruct.Q6_K.gguf", file_type="Q6_K",
                      kl_divergence=None, top1_agreement=None, perplexity=None)  # fmt: skip
    results = replace(partly_across_vocabularies(), results=(reference, variant, skipped, gemma))
    panel.show_view(make_view(results))
    figure = panel.plots.speed_quality
    assert plotted(figure) == [(0.0, 90.0), (0.004, 70.0)]
    caption = figure.caption.text()
    not_measured = "its KL divergence was not measured."
    assert f"SmolLM2-135M-Instruct.Q6_K.gguf is not plotted: {not_measured}" in caption
    assert f"gemma-3-270m.q4_k_m.gguf {GEMMA_LEFT_OFF}" in caption


def test_counts_are_said_in_the_right_number(panel):
    results = across_vocabularies()
    panel.show_view(make_view(replace(results, results=results.results[:1], cancelled=True)))
    assert panel.source.text().startswith("1 row, measured")
    tip = panel.model.data(panel.model.index(0, PPL), Qt.ItemDataRole.ToolTipRole)
    assert "over 31 tokens" in tip
    one = replace(results.results[0], quality_tokens=1)
    panel.show_view(make_view(replace(results, results=(one,))))
    assert "over 1 token" in panel.model.data(
        panel.model.index(0, PPL), Qt.ItemDataRole.ToolTipRole
    )
    panel.show_view(make_view(results))
    assert panel.source.text().startswith("2 rows, measured")


@pytest.mark.parametrize(("typed", "shown"), [("-5, 99999999999", "-5"), ("512, 0", "0"),
                                              ("1.5k", "1.5k"), ("abc", "abc")])  # fmt: skip
def test_a_prompt_length_that_is_not_a_positive_whole_number_is_said_so(qtbot, typed, shown):
    setup = SetupPanel()
    qtbot.add_widget(setup)
    setup.prompt_lengths.setText(typed)
    with pytest.raises(ValueError) as refused:
        setup.request()
    assert str(refused.value) == (
        f"Prompt lengths are positive whole numbers of tokens, not '{shown}'."
    )


@pytest.mark.slow
def test_a_run_of_two_vocabularies_charts_the_models_of_the_reference_s(
    qtbot, tmp_path, default_model_path, gemma_model_path
):
    from engine.lab import BenchPlan, QualitySettings, run_bench
    from engine.lab.quantize import QuantizeRequest, quantize
    from ui.bench.plots import BenchPlots

    variant = tmp_path / "SmolLM2-135M-Instruct.Q8_0.gguf"
    list(quantize(QuantizeRequest(str(default_model_path), "Q8_0", str(variant),
                                  allow_requantize=True)))  # fmt: skip
    plan = BenchPlan(
        models=(str(default_model_path), str(variant), str(gemma_model_path)),
        prompt_lengths=(16,), gen_tokens=4, ttft_prompt_tokens=16, repeats=1,
        quality_settings=QualitySettings(n_ctx=64, max_chunks=1), n_threads=THREADS,
        n_gpu_layers=0,
    )  # fmt: skip
    results = list(run_bench(plan))[-1]
    rows = {Path(r.model).name: r for r in results.results}
    assert not any(r.error for r in rows.values())
    assert rows[variant.name].is_reference and rows[gemma_model_path.name].same_vocabulary is False
    plots = BenchPlots()
    qtbot.add_widget(plots)
    plots.resize(900, 520)
    plots.show()
    plots.draw(make_view(results))
    figure = plots.speed_quality
    smol = [rows[name] for name in (variant.name, default_model_path.name)]
    assert plotted(figure) == sorted((r.kl_divergence, r.gen_tokens_per_s.median) for r in smol)
    assert f"{gemma_model_path.name} {GEMMA_LEFT_OFF}" in figure.caption.text()
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    plots.grab().save(str(folder / "bench-chart-two-vocabularies.png"))
