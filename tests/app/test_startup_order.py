"""Start-up work waits for the window's paint instead of running beside it, and the imports
made ahead pause the garbage collector."""

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


def test_the_first_load_waits_for_the_paint_and_a_question_waits_for_the_load(qtbot):
    from PySide6.QtCore import QEvent, QObject

    from tests.conftest import FakeApp
    from tests.fakes import FakeEngine, FakeLibraryClient

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, _watched, event) -> bool:  # noqa: N802 (Qt's name)
            if event.type() in (QEvent.Type.Paint, QEvent.Type.UpdateRequest):
                self.paints += 1
            return False

    engine = FakeEngine(ready=False, reply="Here.")
    app = FakeApp(qtbot, engine, FakeLibraryClient())
    counter = PaintCounter()
    app.window.installEventFilter(counter)
    painted_before_load: list[int] = []
    real_load = engine.load

    def load(*args, **kwargs):
        painted_before_load.append(counter.paints)
        return real_load(*args, **kwargs)

    engine.load = load  # type: ignore[method-assign]
    try:
        counter.paints = 0
        app.controller.start()
        app.send("Are you there?")  # before the model has loaded
        app.wait_reply()
        assert painted_before_load and painted_before_load[0] >= 1
        assert app.stored_messages()[-1].content.strip() == "Here."
    finally:
        app.stop()


def test_the_window_says_which_model_loads_from_its_first_paint(qtbot, monkeypatch):
    from app.gui import start_backend
    from app.paths import app_paths
    from app.settings import Settings
    from engine.bundled import default_model_path
    from ui.main_window import MainWindow

    monkeypatch.setattr("app.after_paint.after_next_paint", lambda *_args: None)  # no backend
    paths = app_paths().ensure()
    window = MainWindow()
    qtbot.addWidget(window)
    start_backend(window, Settings(paths.settings_file), paths, lambda _controller: None)
    assert window.model_status.state == "loading"
    assert default_model_path().stem in window.model_status.button.accessibleName()


def test_a_last_model_that_is_gone_is_replaced_by_the_bundled_one_and_said(qtbot, tmp_path):
    from engine.bundled import default_model_path
    from tests.conftest import FakeApp
    from tests.fakes import FakeEngine, FakeLibraryClient

    app = FakeApp(qtbot, FakeEngine(ready=False), FakeLibraryClient())
    app.settings.update({"model.path": str(tmp_path / "moved-away.gguf")})
    try:
        app.start()
        assert app.controller.models.loading_path == str(default_model_path())
        notice = app.window.notice.label.text()
        assert "moved-away.gguf is no longer where it was loaded from" in notice
        assert default_model_path().name in notice
    finally:
        app.stop()


def test_an_engine_that_cannot_start_is_said_and_takes_no_message(qtbot, monkeypatch):
    """A chat history file that is not a database stops the engine from starting: the window
    says why, stops saying a model loads, and takes no message that nothing would answer."""
    import pytest

    from app.gui import start_backend
    from app.paths import app_paths
    from app.settings import Settings
    from engine.chat_store import ChatStoreError
    from ui.main_window import MainWindow

    monkeypatch.setattr("app.after_paint.after_next_paint", lambda _window, callback: callback())
    monkeypatch.setattr("app.background.run_in_background",
                        lambda work, on_done, _on_error=None: on_done(work()))  # fmt: skip
    paths = app_paths().ensure()
    paths.chats_db.write_bytes(b"these are not the chats you are looking for" * 100)
    window = MainWindow()
    qtbot.addWidget(window)
    with pytest.raises(ChatStoreError):  # on to the crash dialog, with the details
        start_backend(window, Settings(paths.settings_file), paths, lambda _controller: None)
    assert window.model_status.state == "none"
    assert not window.composer.isEnabled()
    notice = window.notice.label.text()
    assert notice.startswith("Hearth could not start: The chat history file cannot be used")
    assert "Move the file away" in notice


@pytest.mark.slow
def test_a_quit_signal_closes_the_window_as_ctrl_q_does(tmp_path):
    """SIGTERM (a logout, a shutdown, `kill`) is not a crash: the window closes its own way,
    keeping the draft and the layout, and the process exits 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "draft.txt").write_text("Half a question", encoding="utf-8")
    env = {**os.environ, "HEARTH_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    log = home / "logs" / "hearth.log"
    with subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as process:  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "Window shown" not in (log.read_text() if log.exists() else ""):
                assert process.poll() is None and time.monotonic() < deadline, "no window"
                time.sleep(0.2)
            time.sleep(1.0)  # the backend starts after the first paint
            process.send_signal(signal.SIGTERM)
            _out, errors = process.communicate(timeout=30)
            assert process.returncode == 0, errors
        finally:
            if process.poll() is None:
                process.kill()
    settings = (home / "config" / "settings.json").read_text()
    assert "window.geometry" in settings
    assert (home / "data" / "draft.txt").read_text(encoding="utf-8") == "Half a question"
    assert "Quitting on SIGTERM" in log.read_text()
