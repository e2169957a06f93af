"""The Benchmark window: a real plan run to the end on tiny models, Stop keeping what finished,
saved results reopened, the recommendation under a constraint, and pictures of it all.

The chat engine is the fast fake (it is only set aside and brought back); everything the lab
measures runs through llama.cpp for real."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.bench_controller import split_constraints
from app.paths import styles_dir
from engine.lab import BenchResults, ModelResult, RunConfig, Spread
from tests.engine.context.tiny_gguf import write_tiny_model
from ui.bench.window import PROGRESS, RESULTS, SETUP
from ui.theme import apply_theme

GB = 1e9
FAST = {"model.threads": 1, "model.gpu_layers": 0}


@pytest.fixture
def bench_app(qtbot):
    """The window on the fast fake chat engine, given time to start on a busy machine."""
    from tests.conftest import FakeApp
    from tests.fakes import FakeEngine, FakeLibraryClient

    app = FakeApp(qtbot, FakeEngine(ready=False, reply="Blue is a colour."), FakeLibraryClient())
    app.controller.start()
    qtbot.wait_until(lambda: app.window.model_status.state == "loaded", timeout=60000)
    yield app
    app.stop()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """Random F32 weights with 256-wide rows: every variant type applies."""
    return write_tiny_model(tmp_path_factory.mktemp("bench-ui") / "tiny-f32.gguf", n_embd=256,
                            n_ff=512)  # fmt: skip


def open_bench(app, qtbot, models=()):
    """The Benchmark window from the main window's button, with `models` in the catalog."""
    from app.paths import app_paths
    from engine.catalog import ModelCatalog

    for path in models:
        ModelCatalog(app_paths().models_file).import_model(path)
    app.window.bench_button.click()
    window = app.controller.bench.window
    qtbot.wait_until(lambda: window.setup.models.count() >= 2 + len(models), timeout=20000)
    return window


def tick_only(window, paths):
    setup = window.setup
    for i in range(setup.models.count()):
        item = setup.models.item(i)
        wanted = str(item.data(Qt.ItemDataRole.UserRole)) in {str(p) for p in paths}
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)


def small_run(window, repeats=1):
    setup = window.setup
    setup.repeats.setValue(repeats)
    setup.prompt_lengths.setText("32")
    setup.gen_tokens.setValue(8)
    setup.chunks.setValue(2)
    setup.chunk_tokens.setValue(64)


def spread(*values):
    return Spread.of(values)


def made_up_results() -> BenchResults:
    """Four variants as a real run on a laptop CPU would give them (one dominated)."""
    windows = (2048, 4096, 8192, 16384, 32768)

    def row(kind, size, gen, kl, top1, ppl, ram, reference=False):
        return ModelResult(
            model=f"/models/llama-3.2-3b-{kind}.gguf", name=f"llama-3.2-3b-{kind}.gguf",
            file_type=kind, file_size=int(size * GB), parameter_count=3_210_000_000,
            config=RunConfig(), backend="CPU (8 threads)", n_ctx=4096, is_reference=reference,
            load_s=spread(0.8 * size, 0.85 * size, 0.9 * size),
            prompt_tokens_per_s={512: spread(gen * 9, gen * 9.4, gen * 10)},
            gen_tokens_per_s=spread(gen * 0.94, gen, gen * 1.05), ttft_s=spread(0.4, 0.42, 0.5),
            # The window's process holds 0.3 GB besides the model: its peak is the larger.
            peak_ram_bytes=spread((ram + 0.3) * GB), model_ram_bytes=spread(ram * GB, ram * GB),
            estimated_ram_bytes=int(ram * 0.97 * GB),
            memory_by_context={w: int((size + 0.11 * w / 1024) * GB) for w in windows},
            perplexity=ppl, perplexity_error=0.05, kl_divergence=kl, top1_agreement=top1,
            quality_tokens=4096,
        )  # fmt: skip

    return BenchResults(
        results=(
            row("Q8_0", 3.19, 9.8, 0.0, 1.0, 8.12, 3.9, reference=True),
            row("Q4_K_M", 1.88, 21.5, 0.021, 0.953, 8.31, 2.6),
            row("Q4_0", 1.78, 20.9, 0.048, 0.931, 8.55, 2.5),
            row("Q2_K", 1.27, 27.3, 0.31, 0.812, 10.9, 2.0),
        ),
        machine={"cpu": "a laptop CPU"},
        started_at="2026-11-30T10:15:00+00:00",
        seconds=312.0,
        reference="/models/llama-3.2-3b-Q8_0.gguf",
    )


def test_constraints_are_split_where_a_person_separates_them():
    assert split_constraints("at least 20 tokens/s, under 8 GB") == ["at least 20 tokens/s",
                                                                     "under 8 GB"]  # fmt: skip
    assert split_constraints("KL under 0,05") == ["KL under 0,05"]
    assert split_constraints(" ") == []


def test_results_show_the_table_the_figures_and_the_recommendation(bench_app, qtbot, tmp_path):
    results = made_up_results()
    saved_json, saved_csv = results.save(tmp_path / "laptop.json")
    window = open_bench(bench_app, qtbot)
    bench = bench_app.controller.bench
    panel = window.results

    bench.open_results(str(saved_json))
    qtbot.wait_until(lambda: panel.model.rowCount() == 4, timeout=10000)
    assert window.pages.currentIndex() == RESULTS
    table = panel.model.cell_texts()
    assert [row[1] for row in table] == ["Q8_0", "Q4_K_M", "Q4_0", "Q2_K"]
    assert table[1][5] == "21.5" and table[1][9] == "0.0210" and table[1][10] == "95.3%"
    # Time to first token in seconds, as the terminal shows it; memory the model's own.
    assert table[1][6] == "0.420" and table[1][7] == "2.6 GB"
    headings = [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(11)]
    assert headings[6] == "TTFT\n(s)" and headings[7] == "RAM\nused"
    tip = panel.model.data(panel.model.index(1, 7), Qt.ItemDataRole.ToolTipRole)
    assert "2.6 GB" in tip and "whole process peaked at 2.9 GB" in tip and "estimated 2.5 GB" in tip
    # Q4_0 is slower and further from the reference than Q4_K_M: off the front, unmarked.
    assert [row[0].startswith("◆") for row in table] == [True, True, False, True]

    figures = panel.plots
    assert len(figures.speed_quality.front_points.points()) == 3
    assert len(figures.speed_quality.points.points()) == 1
    assert sorted(p.pos().x() for p in figures.speed_quality.front_points.points()) == [
        0.0, 0.021, 0.31]  # fmt: skip
    assert len(figures.memory.curves) == 4
    assert all(len(curve.xData) == 5 for curve in figures.memory.curves)
    assert len(figures.memory.measured.points()) == 4
    # The stars are the models' own memory, as the estimate lines count it.
    assert sorted(p.pos().y() for p in figures.memory.measured.points()) == pytest.approx(
        [2.0, 2.5, 2.6, 3.9]
    )
    assert figures.speed_bars.heights == [9.8, 21.5, 20.9, 27.3]
    for figure in figures.figures():
        assert "CPU (8 threads)" in figure.caption.text()
    assert "KL divergence" in figures.speed_quality.plot.getAxis("bottom").labelText
    assert "tokens/s" in figures.speed_bars.plot.getAxis("left").labelText

    # The recommendation follows the constraint the person types.
    panel.constraint.setText("at least 20 tokens/s")
    panel.constraint.returnPressed.emit()
    assert "Q4_K_M" in panel.advice.text() and "Q8_0" in panel.advice.text()
    assert panel.model.choice == 1
    panel.constraint.setText("under 2.2 GB")
    panel.constraint.returnPressed.emit()
    assert "use llama-3.2-3b-Q2_K.gguf" in panel.advice.text()
    panel.constraint.setText("as fast as possible")
    panel.constraint.returnPressed.emit()
    assert "not a constraint Hearth understands" in panel.advice.text()
    # Words it does not know are refused, not dropped: "fast" is not read as nothing.
    panel.constraint.setText("under 2.2 GB fast")
    panel.constraint.returnPressed.emit()
    assert "does not understand 'fast'" in panel.advice.text() and panel.model.choice is None

    # The CSV beside it reopens to the same table.
    bench.open_results(str(saved_csv))
    qtbot.wait_until(lambda: panel.source.text().startswith("laptop.csv"), timeout=10000)
    assert panel.model.cell_texts() == table


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.json", '{"hello": 1}'), ("ta-c.csv", "a,b"), ("ta-notes.txt", "shopping: eggs")],
)
def test_a_file_that_is_not_results_is_one_line_and_keeps_what_is_shown(
    bench_app, qtbot, tmp_path, name, content
):
    good = made_up_results().save(tmp_path / "good.json")[0]
    bad = tmp_path / name
    bad.write_text(content)
    window = open_bench(bench_app, qtbot)
    bench = bench_app.controller.bench
    bench.open_results(str(good))
    qtbot.wait_until(lambda: window.results.model.rowCount() == 4, timeout=10000)
    shown = window.results.source.text()
    bench.open_results(str(bad))
    qtbot.wait_until(lambda: window.notice.isVisible(), timeout=10000)
    said = window.notice.label.text()
    assert f"{name} is not a benchmark result file" in said
    assert "\n" not in said and "Expecting" not in said and "line 1" not in said
    assert window.results.model.rowCount() == 4 and window.results.source.text() == shown

    # Good results opened next: the banner about the other file has nothing left to say.
    bench.open_results(str(good))
    qtbot.wait_until(lambda: not window.notice.isVisible(), timeout=10000)


def test_pictures_of_the_results_in_both_themes(bench_app, qtbot, tmp_path):
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = made_up_results().save(tmp_path / "laptop.json")[0]
    window = open_bench(bench_app, qtbot)
    window.resize(1180, 820)
    bench_app.controller.bench.open_results(str(path))
    qtbot.wait_until(lambda: window.results.model.rowCount() == 4, timeout=10000)
    window.results.constraint.setText("at least 20 tokens/s")
    window.results.constraint.returnPressed.emit()
    try:
        for theme in ("light", "dark"):
            apply_theme(QApplication.instance(), theme, styles_dir())
            QApplication.processEvents()
            for index, name in enumerate(("speed-quality", "memory", "speed-bars")):
                window.results.plots.setCurrentIndex(index)
                QApplication.processEvents()
                assert window.grab().save(str(folder / f"bench-{name}-{theme}.png"))
                # Axes show the values themselves (a KL divergence of 0.02 is not drawn as 20).
                figure = window.results.plots.widget(index)
                for side in ("bottom", "left"):
                    assert figure.plot.getAxis(side).autoSIPrefixScale == 1.0, (name, side)
            window.pages.setCurrentIndex(SETUP)
            QApplication.processEvents()
            assert window.grab().save(str(folder / f"bench-setup-{theme}.png"))
            window.pages.setCurrentIndex(RESULTS)
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())


def test_a_quantized_source_is_warned_about_and_a_full_disk_keeps_make_off(
    bench_app, qtbot, monkeypatch, default_model_path
):
    import shutil
    from collections import namedtuple

    window = open_bench(bench_app, qtbot)
    setup = window.setup
    setup.source.setCurrentIndex(setup.source.findData(str(default_model_path)))
    setup.type_boxes["Q4_K_M"].setChecked(True)
    qtbot.wait_until(lambda: "free" in setup.disk.text(), timeout=20000)
    assert setup.variant_warning.isVisible()
    assert "already Q4_1" in setup.variant_warning.text()
    assert "cannot come back" in setup.variant_warning.text()
    assert setup.make_button.isEnabled()

    # A disk with 1 MB free: said in words, and Make stays off.
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**12, 10**12, 10**6))
    setup.type_boxes["Q8_0"].setChecked(True)
    qtbot.wait_until(lambda: "Not enough space" in setup.disk.text(), timeout=20000)
    assert not setup.make_button.isEnabled()


@pytest.mark.slow
def test_the_window_makes_a_variant_and_runs_a_plan_to_the_end(bench_app, qtbot, tiny_model,
                                                               hearth_home):  # fmt: skip
    bench_app.settings.update(FAST)
    window = open_bench(bench_app, qtbot, [tiny_model])
    setup = window.setup

    # A Q8_0 variant of the F32 model: made, added to the catalog, ticked.
    setup.source.setCurrentIndex(setup.source.findData(str(tiny_model)))
    setup.type_boxes["Q8_0"].setChecked(True)
    qtbot.wait_until(lambda: "free" in setup.disk.text(), timeout=10000)
    assert not setup.variant_warning.isVisible()  # F32 is a good source
    setup.make_button.click()
    assert window.pages.currentIndex() == PROGRESS
    variant = hearth_home / "data" / "models" / "tiny-Q8_0.gguf"
    qtbot.wait_until(lambda: str(variant) in setup.checked_models(), timeout=60000)
    assert variant.is_file() and "Made tiny-Q8_0 (Q8_0, " in window.progress.step.text()

    tick_only(window, [tiny_model, variant])
    small_run(window)
    engine = bench_app.engine
    setup.run_button.click()
    # The chat model is set aside while the run goes; a question waits for it and is answered.
    qtbot.wait_until(lambda: bench_app.window.model_status.state == "paused", timeout=30000)
    assert not engine.ready and "benchmark is running" in bench_app.window.notice.label.text()
    bench_app.send("Name a colour.")
    qtbot.wait_until(lambda: window.pages.currentIndex() == RESULTS, timeout=240000)
    bench_app.wait_reply()
    assert engine.ready and bench_app.window.model_status.state == "loaded"
    assert bench_app.stored_messages()[-1].content == "Blue is a colour."

    panel = window.results
    results = bench_app.controller.bench.results
    assert not results.cancelled and len(results.results) == 2
    for row in results.results:
        assert not row.error, row.error
        assert row.gen_tokens_per_s is not None and row.perplexity is not None
    table = panel.model.cell_texts()
    assert sorted(row[1] for row in table) == ["F32", "Q8_0"]
    view = panel.view
    figures = panel.plots
    assert len(figures.speed_quality.front_points.points()) == len(view.front) >= 1
    assert len(figures.speed_quality.points.points()) == 2 - len(view.front)
    assert [row[0].startswith("◆") for row in table] == [i in view.front for i in range(2)]
    assert len(figures.speed_bars.heights) == 2 and len(figures.memory.curves) == 2
    assert all(f.caption.text().count("CPU (1 thread)") == 1 for f in figures.figures())

    # Saved as JSON and CSV in the engine's format, and reopened to the same table.
    qtbot.wait_until(lambda: len(bench_app.controller.bench.saved) == 2, timeout=10000)
    saved_json, saved_csv = map(Path, bench_app.controller.bench.saved)
    assert saved_json.parent == hearth_home / "data" / "benchmarks" and saved_csv.is_file()
    panel.model.set_rows([])
    bench_app.controller.bench.open_results(str(saved_json))
    qtbot.wait_until(lambda: panel.model.rowCount() == 2, timeout=10000)
    assert panel.model.cell_texts() == table


@pytest.mark.slow
def test_stop_mid_run_keeps_the_finished_results(bench_app, qtbot, tiny_model, tmp_path):
    from engine.lab import QuantizeRequest
    from engine.lab.quantize import quantize

    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    variant = tmp_path / "tiny-Q4_0.gguf"
    list(quantize(QuantizeRequest(str(tiny_model), "Q4_0", str(variant))))
    bench_app.settings.update(FAST)
    window = open_bench(bench_app, qtbot, [tiny_model, variant])
    tick_only(window, [tiny_model, variant])
    small_run(window, repeats=50)  # long enough that Stop comes well before the end
    window.resize(1180, 780)
    window.setup.run_button.click()
    progress = window.progress
    # Four steps per model in the first round (load, prompt, generation, quality): step 5 starts
    # the second model, so the first is measured whole.
    qtbot.wait_until(lambda: progress.last is not None and progress.last.step >= 5, timeout=120000)
    assert window.grab().save(str(folder / "bench-progress-light.png"))
    progress.stop_button.click()
    qtbot.wait_until(lambda: window.pages.currentIndex() == RESULTS, timeout=60000)

    results = bench_app.controller.bench.results
    assert results.cancelled
    measured = [r for r in results.results if r.gen_tokens_per_s is not None]
    assert measured and all(len(r.gen_tokens_per_s.samples) < 50 for r in measured)
    assert "finished results are kept" in progress.step.text()
    assert window.results.model.rowCount() == 2
    assert "stopped early" in window.results.source.text()
    qtbot.wait_until(lambda: bench_app.engine.ready, timeout=10000)


@pytest.mark.slow
def test_closing_the_window_mid_run_stops_the_run_and_brings_the_chat_back(
    bench_app, qtbot, tiny_model, tmp_path
):
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    bench_app.settings.update(FAST)
    window = open_bench(bench_app, qtbot, [tiny_model])
    window.resize(1180, 780)
    tick_only(window, [tiny_model])
    small_run(window, repeats=50)
    apply_theme(QApplication.instance(), "dark", styles_dir())  # before the run, not during it
    try:
        window.setup.run_button.click()
        qtbot.wait_until(lambda: window.progress.last is not None
                         and window.progress.last.step >= 4, timeout=60000)  # fmt: skip
        assert window.grab().save(str(folder / "bench-progress-dark.png"))
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())
    job = bench_app.controller.bench.job
    window.close()
    assert job.wait(30)
    bench = bench_app.controller.bench
    qtbot.wait_until(lambda: bench.results is not None and bench_app.engine.ready, timeout=10000)
    assert bench.results.cancelled and bench.job is None


@pytest.mark.slow
def test_quitting_hearth_mid_run_keeps_the_finished_results(bench_app, qtbot, tiny_model):
    """Ctrl+Q from the Benchmark window while it runs: Hearth stops the run first, then
    closes, and what finished is saved as a stopped run's results are."""
    import json

    bench_app.settings.update(FAST)
    window = open_bench(bench_app, qtbot, [tiny_model])
    tick_only(window, [tiny_model])
    small_run(window, repeats=50)
    bench = bench_app.controller.bench
    results_dir = bench.results_dir
    window.setup.run_button.click()
    qtbot.wait_until(lambda: window.progress.last is not None
                     and window.progress.last.step >= 4, timeout=60000)  # fmt: skip
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not bench_app.window.isVisible()
    [saved] = list(results_dir.glob("bench-*.json"))
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["cancelled"] is True
    assert any(row.get("gen_tokens_per_s") for row in data["results"])


@pytest.fixture(scope="module")
def tiny_q4(tiny_model, tmp_path_factory):
    """The tiny model already quantized to Q4_0: a source the window warns about."""
    from engine.lab import QuantizeRequest
    from engine.lab.quantize import quantize

    path = tmp_path_factory.mktemp("bench-ui-q4") / "tiny-Q4_0.gguf"
    list(quantize(QuantizeRequest(str(tiny_model), "Q4_0", str(path))))
    return path


def test_the_requantizing_warning_shown_is_consent_and_the_variant_is_made(
    bench_app, qtbot, tiny_q4, hearth_home
):
    window = open_bench(bench_app, qtbot, [tiny_q4])
    setup = window.setup
    setup.source.setCurrentIndex(setup.source.findData(str(tiny_q4)))
    setup.type_boxes["Q8_0"].setChecked(True)
    qtbot.wait_until(lambda: "free" in setup.disk.text(), timeout=20000)
    assert "already Q4_0" in setup.variant_warning.text()
    setup.make_button.click()
    qtbot.wait_until(lambda: not window.busy, timeout=60000)
    assert "Made tiny-" in window.progress.step.text(), window.progress.step.text()
    assert not window.notice.isVisible()
    made = list((hearth_home / "data" / "models").glob("*Q8_0.gguf"))
    assert len(made) == 1
    qtbot.wait_until(lambda: str(made[0]) in setup.checked_models(), timeout=20000)


def test_a_variant_that_cannot_be_made_ends_the_progress_page_and_says_why(
    bench_app, qtbot, tiny_model, tmp_path
):
    import shutil

    source = tmp_path / "gone-f32.gguf"
    shutil.copy(tiny_model, source)
    window = open_bench(bench_app, qtbot, [source])
    setup = window.setup
    setup.source.setCurrentIndex(setup.source.findData(str(source)))
    setup.type_boxes["Q8_0"].setChecked(True)
    qtbot.wait_until(lambda: "free" in setup.disk.text(), timeout=20000)
    source.unlink()  # gone between choosing and making: the job fails before its first step
    setup.make_button.click()
    progress = window.progress
    assert progress.stop_button.isVisible() and progress.stop_button.isEnabled()
    qtbot.wait_until(lambda: not window.busy, timeout=20000)
    # Finished, in words: no 0 % page with a live-looking Stop button.
    assert progress.title.text() == "Making Q8_0 of gone-f32: failed"
    assert progress.step.text().startswith("Failed: ") and "gone-f32" in progress.step.text()
    assert "\n" not in progress.step.text()
    assert not progress.stop_button.isVisible() and not progress.ticker.isActive()
    assert window.notice.isVisible() and "gone-f32" in window.notice.label.text()
    assert setup.make_button.isEnabled() or setup.run_button.isEnabled()

    # Closed and opened again: the banner about that attempt is gone.
    window.close()
    bench_app.window.bench_button.click()
    assert bench_app.controller.bench.window is window and window.isVisible()
    assert not window.notice.isVisible()


def test_the_elapsed_time_moves_while_a_step_runs(qtbot):
    from engine.lab.events import LabProgress
    from ui.bench.progress_panel import ProgressPanel

    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.start("Measuring 2 models")
    panel.show_progress(LabProgress(2, 8, "tiny: load", 0.04, 1.3, 35.0))
    assert panel.time.text() == "1.3 s elapsed · about 35 s left"

    # No progress for a while (a long step): the clock still moves, the time left counts down.
    def elapsed_and_left() -> tuple[float, int]:
        match = re.fullmatch(r"([\d.]+) s elapsed · about (\d+) s left", panel.time.text())
        assert match, panel.time.text()
        return float(match[1]), int(match[2])

    qtbot.wait_until(lambda: elapsed_and_left()[0] >= 2.0, timeout=10000)
    elapsed, left = elapsed_and_left()
    assert 35 - (elapsed - 1.3) - 1 <= left < 35, (elapsed, left)
    panel.finish("Done in 3 s.", completed=True)
    assert not panel.ticker.isActive() and panel.bar.value() == panel.bar.maximum()
    assert panel.title.text() == "Measuring 2 models: done"


def test_clipped_text_keeps_what_tells_things_apart(bench_app, qtbot, tmp_path):
    from dataclasses import replace

    from PySide6.QtWidgets import QStyleOptionViewItem

    def shown_names():
        texts = []
        for row in range(panel.model.rowCount()):
            option = QStyleOptionViewItem()
            option.rect = table.visualRect(panel.model.index(row, 0))
            option.widget = table
            panel.names.initStyleOption(option, panel.model.index(row, 0))
            texts.append(option.text)
        return texts

    results = made_up_results()
    names = ("SmolLM2-135M-Instruct-Q8_0.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf")
    rows = tuple(replace(r, name=n) for r, n in zip(results.results, names, strict=False))
    path = replace(results, results=rows).save(tmp_path / "smol.json")[0]
    window = open_bench(bench_app, qtbot)
    window.resize(820, 600)  # the smallest the window goes
    window.show()
    bench = bench_app.controller.bench
    bench.open_results(str(path))
    panel = window.results
    table = panel.table
    qtbot.wait_until(lambda: panel.model.rowCount() == 2, timeout=10000)
    QApplication.processEvents()
    # Even this narrow, the names show whole; the figures beside them scroll sideways.
    assert shown_names() == ["◆ " + n.removesuffix(".gguf") for n in names]
    assert table.horizontalScrollBar().maximum() > 0
    tip = panel.model.data(panel.model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("SmolLM2-135M-Instruct-Q8_0.gguf")

    # A name too long for its share loses its middle: which model and which variant show.
    long = ("Meta-Llama-3.1-8B-Instruct-abliterated-uncensored-imatrix-Q8_0.gguf",
            "Meta-Llama-3.1-8B-Instruct-abliterated-uncensored-imatrix-Q4_K_M.gguf")  # fmt: skip
    rows = tuple(replace(r, name=n) for r, n in zip(results.results, long, strict=False))
    bench.open_results(str(replace(results, results=rows).save(tmp_path / "long.json")[0]))
    qtbot.wait_until(lambda: "Meta" in panel.model.cell_texts()[0][0], timeout=10000)
    QApplication.processEvents()
    shown = shown_names()
    assert shown[0].endswith("-Q8_0") and shown[1].endswith("-Q4_K_M"), shown
    assert all(text.startswith("◆ Meta-Llama") and "…" in text for text in shown), shown

    # With more room, as at the window's usual size, the names take it.
    window.resize(1180, 780)
    QApplication.processEvents()
    header = table.horizontalHeader()
    others = sum(header.sectionSize(c) for c in range(1, header.count()))
    qtbot.wait_until(lambda: header.sectionSize(0) >= table.viewport().width() - others - 1,
                     timeout=10000)  # fmt: skip
    assert len(shown_names()[0]) > len(shown[0])

    # Where the results were saved is said whole, however deep the folder.
    deep = tmp_path / "a-rather-long-home-folder" / ".local" / "share" / "hearth" / "benchmarks"
    panel.show_saved((str(deep / "bench-20261130-101500.json"),
                      str(deep / "bench-20261130-101500.csv")))  # fmt: skip
    QApplication.processEvents()
    label = panel.source
    assert "bench-20261130-101500.json and bench-20261130-101500.csv" in label.text()
    assert label.heightForWidth(label.width()) <= label.height()
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(folder / "bench-results-narrow.png"))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_focused_tab_keeps_its_whole_name(bench_app, qtbot, theme):
    window = open_bench(bench_app, qtbot)
    try:
        apply_theme(QApplication.instance(), theme, styles_dir())
        window.pages.setCurrentIndex(PROGRESS)
        window.pages.tabBar().setFocus()
        QApplication.processEvents()
        bar = window.pages.tabBar()
        for i in range(bar.count()):
            # The focus ring is 2px; what is left inside it must hold the name.
            inside = bar.tabRect(i).width() - 2 * 2
            assert inside >= bar.fontMetrics().horizontalAdvance(bar.tabText(i)) + 8, bar.tabText(i)
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())


def test_the_memory_legend_hides_no_point(qtbot):
    from dataclasses import replace

    from ui.bench.plots import MemoryFigure
    from ui.bench.records import BenchView

    # A small model: flat lines, the measured peaks high at the smallest window (top left).
    results = made_up_results()
    rows = tuple(replace(r, n_ctx=2048, memory_by_context={2048: 2 * 10**8, 8192: 2 * 10**8},
                         peak_ram_bytes=spread(2.3e8)) for r in results.results)  # fmt: skip
    figure = MemoryFigure()
    qtbot.addWidget(figure)
    figure.resize(900, 360)
    figure.show()
    figure.draw(BenchView(replace(results, results=rows)))
    qtbot.wait_until(lambda: figure.plot.vb.sceneBoundingRect().width() > 0)
    QApplication.processEvents()
    legend = figure.plot.legend.sceneBoundingRect()
    # Beside the data, not over it (a pixel of rounding between them aside).
    assert legend.width() > 0 and legend.left() >= figure.plot.vb.sceneBoundingRect().right() - 1


def test_two_files_of_one_name_are_told_apart_as_the_model_picker_does(
    bench_app, qtbot, default_model_path, hearth_home
):
    import shutil

    from app.paths import app_paths
    from engine.catalog import DownloadRecord, ModelCatalog

    copy = hearth_home / "data" / "models" / default_model_path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(default_model_path, copy)
    ModelCatalog(app_paths().models_file).add_download(DownloadRecord(
        str(copy), (str(copy),), "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "main", copy.name,
        "Q4_1", copy.stat().st_size, ()))  # fmt: skip
    window = open_bench(bench_app, qtbot)
    setup = window.setup
    qtbot.wait_until(lambda: setup.models.findItems(str(copy.stem), Qt.MatchFlag.MatchStartsWith)
                     and len(setup.models.findItems("SmolLM2", Qt.MatchFlag.MatchStartsWith)) == 2,
                     timeout=20000)  # fmt: skip
    rows = [setup.models.item(i).text() for i in range(setup.models.count())]
    smol = [row for row in rows if row.startswith("SmolLM2")]
    assert any("(bundled)" in row for row in smol), smol
    assert any("(from HuggingFaceTB/SmolLM2-135M-Instruct-GGUF)" in row for row in smol), smol
    for combo in (setup.source, setup.reference):
        texts = [combo.itemText(i) for i in range(combo.count())]
        assert len(set(texts)) == len(texts), texts


def test_made_or_stopped_variants_are_said_on_the_page_the_person_lands_on(
    bench_app, qtbot, tiny_model, gemma_model_path, hearth_home
):
    from engine.storage import size_text

    window = open_bench(bench_app, qtbot, [tiny_model])  # Gemma is bundled: listed already
    setup = window.setup
    setup.source.setCurrentIndex(setup.source.findData(str(tiny_model)))
    setup.type_boxes["Q8_0"].setChecked(True)
    qtbot.wait_until(lambda: "free" in setup.disk.text(), timeout=20000)
    setup.make_button.click()
    assert not setup.outcome.isVisible()
    qtbot.wait_until(lambda: not window.busy, timeout=60000)
    made = hearth_home / "data" / "models" / "tiny-Q8_0.gguf"
    assert window.pages.currentIndex() == SETUP and setup.outcome.isVisible()
    assert setup.outcome.text() == (f"✓ Made tiny-Q8_0 (Q8_0, {size_text(made.stat().st_size)}); "
                                    "ticked for the benchmark.")  # fmt: skip

    # Stopped at once: nothing made, and that is said where the person lands too.
    setup.source.setCurrentIndex(setup.source.findData(str(gemma_model_path)))
    setup.type_boxes["Q8_0"].setChecked(True)
    qtbot.wait_until(lambda: "free" in setup.disk.text() and setup.make_button.isEnabled(),
                     timeout=20000)  # fmt: skip
    setup.make_button.click()
    window.progress.stop_button.click()
    qtbot.wait_until(lambda: not window.busy, timeout=60000)
    assert window.pages.currentIndex() == SETUP
    assert setup.outcome.text() == "Stopped: nothing made, nothing partial left."
    assert not list((hearth_home / "data" / "models").glob("gemma*"))
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or hearth_home)
    assert window.grab().save(str(folder / "bench-setup-stopped.png"))


def test_close_button_esc_and_ctrl_w_close_and_a_run_going_is_not_stopped_unasked(
    bench_app, qtbot, monkeypatch
):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    window = open_bench(bench_app, qtbot)
    window.close_button.click()
    assert not window.isVisible()
    control = Qt.KeyboardModifier.ControlModifier
    for key, modifier in (
        (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_W, control),
    ):
        bench_app.window.bench_button.click()
        window.activateWindow()
        qtbot.wait_until(window.isActiveWindow, timeout=20000)
        qtbot.keyClick(window.setup.models, key, modifier)
        qtbot.wait_until(lambda: not window.isVisible(), timeout=20000)

    # While something runs, closing asks; "Keep running" keeps the window and the run.
    stopped = []
    monkeypatch.setattr(bench_app.controller.bench, "stop", lambda: stopped.append(True))
    bench_app.window.bench_button.click()
    window.busy = True
    answers = []

    def answer(choice):
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        answers.append(box.text())
        next(b for b in box.buttons() if b.text() == choice).click()

    QTimer.singleShot(200, lambda: answer("Keep running"))
    window.close_button.click()
    assert window.isVisible() and not stopped and "Closing the window stops it" in answers[0]
    QTimer.singleShot(200, lambda: answer("Stop and close"))
    window.close_button.click()
    assert not window.isVisible()
    window.busy = False
