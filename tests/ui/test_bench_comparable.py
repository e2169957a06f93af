"""The Benchmark window's results across vocabularies, counts said in the right number, and the
setup's refusals in words that are true."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from app.bench_controller import make_view
from tests.engine.lab.conftest import across_vocabularies
from ui.bench.results_model import COLUMNS
from ui.bench.results_panel import ResultsPanel
from ui.bench.setup_panel import SetupPanel

HEADINGS = [column[0] for column in COLUMNS]
PPL, KL, TOP1 = (HEADINGS.index(h) for h in ("Perplexity", "KL\ndivergence", "Top-1"))


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
