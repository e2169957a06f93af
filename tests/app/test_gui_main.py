"""The desktop entry point: the window is up fast, heavy libraries wait, crashes show a dialog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from PySide6.QtWidgets import QApplication, QMessageBox

from app.crash import CrashReporter


def test_window_shows_before_heavy_imports(tmp_path):
    """`hearth` with no subcommand opens the window; llama.cpp and torch are not loaded by then."""
    script = textwrap.dedent(
        """
        import json, sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        import app.gui

        def report():
            heavy = [m for m in ("llama_cpp", "torch", "chromadb", "sentence_transformers",
                                 "pymupdf", "fitz") if m in sys.modules]
            windows = [w.windowTitle() for w in QApplication.topLevelWidgets() if w.isVisible()]
            print(json.dumps({"heavy": heavy, "windows": windows}), flush=True)
            QApplication.instance().quit()

        QTimer.singleShot(0, report)
        from app.cli import main
        sys.exit(main([]))
        """
    )
    env = dict(os.environ, HEARTH_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = next(row for row in result.stdout.splitlines() if row.startswith("{"))
    state = json.loads(line)
    assert "Hearth" in state["windows"]
    assert state["heavy"] == []
    log = (tmp_path / "logs" / "hearth.log").read_text()
    assert "Window shown" in log


def test_an_unexpected_error_shows_a_dialog_with_the_log_path(qtbot, tmp_path):
    log_file = tmp_path / "hearth.log"
    reporter = CrashReporter(log_file)
    reporter.install()
    try:
        try:
            raise RuntimeError("the flux capacitor is empty")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        qtbot.wait_until(lambda: getattr(reporter, "dialog", None) is not None)
        box = reporter.dialog
        assert isinstance(box, QMessageBox)
        assert box.isVisible()
        assert str(log_file) in box.informativeText()
        assert "flux capacitor" in box.informativeText()
        assert "Traceback" in box.detailedText()
        # A second error while the first dialog is open does not stack dialogs.
        try:
            raise ValueError("again")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        QApplication.processEvents()
        assert reporter.count == 2
        assert reporter.dialog is box
        box.close()
    finally:
        reporter.uninstall()


def test_an_error_in_a_slot_does_not_close_the_app(qtbot, tmp_path):
    from PySide6.QtCore import QTimer

    reporter = CrashReporter(tmp_path / "hearth.log")
    reporter.install()
    try:

        def broken():
            raise KeyError("missing")

        QTimer.singleShot(0, broken)
        qtbot.wait_until(lambda: reporter.count == 1)
        qtbot.wait_until(lambda: getattr(reporter, "dialog", None) is not None)
        reporter.dialog.close()
    finally:
        reporter.uninstall()
