"""Start-up work waits for the window's paint instead of running beside it, the imports made
ahead pause the garbage collector, and a model asked for early is the one that loads."""

from __future__ import annotations

import gc

import pytest
from PySide6.QtWidgets import QWidget

from app.after_paint import after_next_paint
from app.startup_imports import import_ahead


class _Painted(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.paints += 1
        super().paintEvent(event)


def test_the_callback_runs_after_the_windows_paint_not_before(qtbot):
    window = _Painted()
    qtbot.addWidget(window)
    window.show()
    seen: list[int] = []
    after_next_paint(window, lambda: seen.append(window.paints))
    assert seen == []  # not at once: the paint has not happened yet
    qtbot.wait_until(lambda: bool(seen), timeout=5000)
    assert seen[0] >= 1
    qtbot.wait(400)  # past the fallback: it ran once
    assert len(seen) == 1


def test_a_window_not_on_screen_runs_the_callback_at_once(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    seen: list[bool] = []
    after_next_paint(window, lambda: seen.append(True))
    assert seen == [True]


def test_without_a_paint_the_callback_runs_after_the_fallback(qtbot):
    window = _Painted()
    qtbot.addWidget(window)
    window.show()
    qtbot.wait_until(lambda: window.paints > 0, timeout=5000)
    qtbot.wait(50)
    seen: list[bool] = []
    after_next_paint(window, lambda: seen.append(True), fallback_ms=100)  # nothing to repaint
    qtbot.wait_until(lambda: bool(seen), timeout=5000)
    qtbot.wait(150)
    assert seen == [True]


def test_imports_made_ahead_freeze_what_exists_and_leave_the_collector_running():
    frozen = gc.get_freeze_count()
    try:
        import_ahead(["json", "colorsys"])
        assert gc.isenabled() and gc.get_freeze_count() > frozen
        with pytest.raises(ImportError):
            import_ahead(["json", "no_such_module_here"])
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # the rest of the suite collects as usual


def test_a_model_asked_for_before_the_first_load_starts_is_the_one_loaded(qtbot, tmp_path):
    from tests.conftest import FakeApp
    from tests.engine.context.tiny_gguf import write_tiny_model
    from tests.fakes import FakeEngine, FakeLibraryClient

    chosen = tmp_path / "chosen.gguf"
    write_tiny_model(chosen)
    engine = FakeEngine(ready=False)
    loads: list[str] = []
    real_load = engine.load
    engine.load = lambda settings, *a, **k: (
        loads.append(settings.model_path)
        or real_load(  # type: ignore[method-assign]
            settings, *a, **k
        )
    )
    app = FakeApp(qtbot, engine, FakeLibraryClient())
    try:
        app.controller.start()  # the default model's load waits for the window's paint
        app.controller.models.load(str(chosen))  # a model file opened with Hearth, say
        qtbot.wait_until(lambda: app.window.model_status.state == "loaded", timeout=60000)
        qtbot.wait(500)  # past the paint and its fallback
        assert [str(p) for p in loads] == [str(chosen)]
    finally:
        app.stop()
