"""The desktop app's entry point: the window first, everything heavy after it is on screen.

Import order matters for start-up time: only Qt and the window's widgets are imported before the
window shows; the engine, the workers and llama.cpp come after (the model loads on its own thread).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path

_STARTED = time.perf_counter()


def main(argv: list[str] | None = None, open_paths: list[str] | None = None) -> int:
    """Run Hearth's window until it is closed.

    Args:
        argv: Command-line arguments after the program name (Qt options are accepted).
        open_paths: Files to open once the window is up ("Open with Hearth"): documents are added
            to a chat, .gguf files are offered as models.

    Returns:
        The process exit code.
    """
    from app.xcb_check import xcb_problem

    if problem := xcb_problem():  # before Qt, which would stop with no usable message
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app import qt_compat, single_instance
    from app.crash import CrashReporter
    from app.logs import setup_logging
    from app.paths import DataFolderError, app_paths, resources_dir, styles_dir
    from app.quit_signals import QuitSignals
    from app.settings import Settings
    from ui.main_window import MainWindow
    from ui.theme import apply_theme

    qt_compat.apply()
    prefer_gui_thread()
    existing = QApplication.instance()
    app = (
        existing if isinstance(existing, QApplication) else QApplication(["hearth", *(argv or [])])
    )
    try:
        paths = app_paths().ensure()
    except DataFolderError as exc:  # nowhere to keep chats, settings or logs: say so, and stop
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "Hearth cannot start", str(exc))
        return 2
    setup_logging(paths.log_file)
    log = logging.getLogger("hearth")
    instance = single_instance.claim(paths.data_dir, open_paths or ())
    if not isinstance(instance, single_instance.WindowClaim):
        return _leave_to_the_open_window(instance)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    app.setDesktopFileName("hearth")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "hearth.svg")))
    reporter = CrashReporter(paths.log_file, app)
    reporter.install()

    settings = Settings(paths.settings_file)
    apply_theme(app, settings.get("appearance.theme"), styles_dir())
    window = MainWindow()
    window.restore_layout(settings.values())
    window.show()
    quit_signals = QuitSignals(lambda: _quit_without_asking(window), window)
    shown = time.perf_counter() - _STARTED
    log.info("Window shown %.2f s after start", shown)

    controllers = []
    to_open = [str(Path(p).resolve()) for p in open_paths or ()]

    def on_started(controller) -> None:
        controllers.append(controller)
        if to_open:
            controller.documents.on_dropped(to_open)

    def on_launched_again(files: tuple[str, ...]) -> None:
        log.info("Hearth was started again: window brought to the front, opening %s", files)
        single_instance.bring_to_front(window)
        if not files:
            return
        if controllers:  # as if dropped on the window
            controllers[0].documents.on_dropped(list(files))
        else:  # until the backend is built
            to_open.extend(files)

    instance.on_request(on_launched_again)
    start_backend(window, settings, paths, on_started)
    if os.environ.get("HEARTH_EXIT_WHEN_SHOWN"):
        # Used by bench/ui.py: report when the window is up, then quit.
        QTimer.singleShot(0, lambda: (print(f"shown {shown:.3f}", flush=True), window.close()))
    try:
        return app.exec()
    finally:
        instance.stop_listening()  # a launch from now on waits for this one to let go
        # However the loop ended, stop the worker threads before Python tears down.
        for controller in controllers:
            controller.shutdown()
        from app.background import wait_for_background

        wait_for_background(5000)  # the backend's imports, if the window closed that quickly
        quit_signals.stop()
        reporter.uninstall()
        instance.release()  # last: what the window had to write is written


def _leave_to_the_open_window(outcome) -> int:
    """Say that a window is already open on the data folder, and give the exit code: 0 when it
    took this launch's files, 1 when it did not answer (a dialog says so too, on a screen)."""
    from PySide6.QtGui import QGuiApplication

    from app import single_instance

    message = outcome.message()
    logging.getLogger("hearth").info("Not opened: %s", message)
    print(message, file=sys.stderr)
    if isinstance(outcome, single_instance.HandedOver):
        return 0
    if QGuiApplication.platformName() not in ("offscreen", "minimal"):
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.warning(None, "Hearth is already open", message)
    return 1


# How long a thread running Python holds the GIL while another waits for it (Python's default is
# 5 ms). Every Qt virtual call on a widget made in Python takes the GIL, and one paint or layout
# makes hundreds: with a worker running Python (imports, a model header being read) each waited
# up to 5 ms, and start-up stalled the window 40-75 ms; at 1 ms the worst was 27-34 ms
# (bench/ui.py --startup-only). Worker threads that run llama.cpp release the GIL anyway.
GUI_SWITCH_INTERVAL_S = 0.001

# What building and starting the controller imports: imports that would otherwise
# hold the GUI thread just after the window shows (bench/ui.py, stall_startup_background_ms).
BACKEND_MODULES = (
    "app.controller",
    "engine.session",
    "engine.backends",
    "engine.memory",
    "engine.gguf_info",
    "engine.bundled",
    # What a first model load imports: llama.cpp's bindings (and numpy with them), the chat
    # template's sandbox, the fit check. Imported here, while the window is idle, the load
    # that follows the build runs beside a window busy showing the chats.
    "llama_cpp",
    "jinja2.sandbox",
    "gguf.constants",
    "engine.context.fit",
)


def prefer_gui_thread() -> None:
    """Hand the GIL to the GUI thread sooner when a worker thread runs Python (see
    GUI_SWITCH_INTERVAL_S). Process-wide: call it once, in the window's process only."""
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)


def import_backend() -> None:
    from app.startup_imports import import_ahead

    import_ahead(BACKEND_MODULES)
    # PySide6 makes a Qt class's Python enums when it is first used from Python: QStyle's (11
    # enums, ~570 members) took 20-40 ms of the GUI thread when the composer first polished
    # its style. Made here, they are ready (plain Python classes: no Qt object is created).
    from PySide6.QtWidgets import QStyle

    QStyle.StateFlag  # noqa: B018


def _quit_without_asking(window) -> None:
    """Close as Ctrl+Q does, but with no question: a logout or a shutdown cannot wait for an
    answer. What the disk refused is lost, as the unsaved-replies dialog would have said."""
    window.close_guard = None
    window.close()


def start_backend(window, settings, paths, on_started) -> None:
    """Once `window` has painted for the first time, import the controller's modules on a worker
    thread, then build and start the controller on the GUI thread (where Qt objects must be
    made) and hand it to `on_started`."""
    from app.after_paint import after_next_paint
    from app.background import run_in_background
    from engine.bundled import first_model_path
    from engine.errors import ModelFileError

    def build(_imported=None) -> None:
        from app.controller import AppController

        controller = None
        try:
            controller = AppController(window, settings, paths)
            controller.start()
        except Exception as exc:  # the crash dialog has the details; the window says what it means
            window.show_startup_failure(str(exc))
            if controller is not None:
                controller.shutdown()  # its threads, however far it started
            raise
        on_started(controller)

    # The model's load starts once the backend is built: say so from the first paint.
    with contextlib.suppress(ModelFileError):  # no model at all: the load says why
        window.model_status.set_loading(Path(first_model_path(settings.get("model.path"))).stem)
    # Should an import fail, building on the GUI thread raises it there, for the crash dialog.
    after_next_paint(window, lambda: run_in_background(import_backend, build, lambda _e: build()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
