"""Everyone can use the window: every control has a name a screen reader can say, every control
is reachable with the keyboard and shows where the focus is, and replies and errors are read out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from app.paths import styles_dir
from engine.library.answer import Source
from engine.library.types import Evidence
from ui.accessibility import accessible_name, controls, unnamed_controls
from ui.crash_dialog import crash_box
from ui.page_viewer import PageViewer
from ui.settings_dialog import SettingsDialog
from ui.theme import apply_theme


def _fill(app) -> None:
    """A window with something in every part: a reply with sources and evidence, documents,
    the picker."""
    app.send("Name a colour.")
    app.wait_reply()
    reply = app.window.chat.last().message_id
    app.window.chat.show_reply_sources(reply, (Source(1, "/docs/guide.pdf", 3, "An excerpt."),))
    app.window.chat.show_reply_evidence(
        reply, (Evidence("/docs/guide.pdf", 3, "An excerpt.", [(3, 10)], source=1),)
    )
    app.window.show_documents(True)
    app.window.notice.show_message("Something to act on.", actions=[("Undo", lambda: None)])


def test_no_control_in_any_window_is_left_without_a_name(fake_app, qtbot):
    _fill(fake_app)
    window = fake_app.window
    window.settingsRequested.emit()
    window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() >= 2, timeout=20000)
    get_models = _filled_get_models(fake_app, picker)
    picker.add_server_button.click()
    add_server = fake_app.controller.remotes.dialog
    viewer = PageViewer(window)
    box = crash_box("RuntimeError: boom", "Traceback...", "/tmp/hearth.log", window)
    settings = fake_app.controller.settings_dialog
    tabs = settings.tabs
    tabs.setCurrentIndex(
        next(i for i in range(tabs.count()) if tabs.tabText(i) == "Local API server")
    )
    assert "server.api_key" in [w.objectName() for w in controls(settings)]  # the key field
    for root in (window, settings, picker, get_models, add_server, viewer, box):
        assert [_describe(w) for w in unnamed_controls(root)] == [], root.windowTitle()


def test_no_control_of_the_benchmark_window_is_left_without_a_name(fake_app, qtbot, tmp_path):
    from tests.ui.test_bench_window import made_up_results, open_bench

    window = open_bench(fake_app, qtbot)
    fake_app.controller.bench.open_results(str(made_up_results().save(tmp_path / "r.json")[0]))
    qtbot.wait_until(lambda: window.results.model.rowCount() == 4, timeout=10000)
    window.show_error("Something to read.")
    for page in range(window.pages.count()):  # each page's controls are shown in turn
        window.pages.setCurrentIndex(page)
        for figure in range(window.results.plots.count()):
            window.results.plots.setCurrentIndex(figure)
            unnamed = [_describe(w) for w in unnamed_controls(window)]
            assert unnamed == [], window.pages.tabText(page)
    # Tab reaches the page's controls: the models, the variant types, Run.
    window.pages.setCurrentIndex(0)
    window.setup.models.item(0).setCheckState(Qt.CheckState.Checked)
    reached = _tab_cycle(window, start=window.setup.models)
    for expected in (window.setup.reference, window.setup.type_boxes["Q4_K_M"],
                     window.setup.repeats, window.setup.run_button):  # fmt: skip
        assert expected in reached, _describe(expected)


def _filled_get_models(fake_app, picker):
    """The "Get models" window with results, files and a download in every state of its
    buttons (no network: the rows are given as the controller would give them)."""
    from engine.hub.progress import DownloadProgress, DownloadState
    from ui.hub_tables import FileRow, RepoRow

    picker.get_button.click()
    hub = fake_app.controller.hub
    view = hub.view
    view.set_results([RepoRow("owner/model-GGUF", "owner", 1200, 30, "2025-01-15", "mit", True)])
    view.set_files(
        "owner/model-GGUF",
        [
            FileRow(
                "m-Q4_K_M.gguf",
                "m-Q4_K_M.gguf",
                "Q4_K_M",
                10**9,
                verdict="fits in RAM",
                recommended=True,
            )
        ],
    )
    for state in (DownloadState.DOWNLOADING, DownloadState.PAUSED, DownloadState.FAILED,
                  DownloadState.DONE):  # fmt: skip
        view.downloads.show_progress(
            DownloadProgress(
                f"job-{state.value}", "owner/model-GGUF", "m-Q4_K_M.gguf", state, path="/m.gguf",
                message="The download of m-Q4_K_M.gguf stopped: HTTP 503." if state ==
                DownloadState.FAILED else "",
            )
        )  # fmt: skip
    return hub.dialog


def test_the_walk_finds_a_control_without_a_name(qtbot):
    from PySide6.QtWidgets import QToolButton, QVBoxLayout

    root = QWidget()
    qtbot.add_widget(root)
    nameless = QToolButton()
    nameless.setText("")  # an icon-only button nobody named
    QVBoxLayout(root).addWidget(nameless)
    assert unnamed_controls(root) == [nameless]
    nameless.setAccessibleName("Zoom in")
    assert unnamed_controls(root) == []


def test_every_control_of_the_main_window_takes_the_keyboard_focus(fake_app):
    _fill(fake_app)
    window = fake_app.window
    reachable = [w for w in controls(window) if w.isEnabled() and w.window() is window]
    assert len(reachable) > 15
    for widget in reachable:
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, _describe(widget)
    # Tab goes round the window through the sidebar, the chat, the composer and the documents.
    window.composer.set_text("draft")  # Send is enabled only with something to send
    reached = _tab_cycle(window, start=window.composer.edit)
    for expected in (window.conversations.new_button, window.conversations.search,
                     window.conversations.list, window.composer.send_button,
                     window.documents.table, window.documents.add_button,
                     window.settings_button, window.model_status.button,
                     window.chat.last().copy_button,
                     window.chat.last().evidence.buttons()[0]):  # fmt: skip
        assert expected in reached, _describe(expected)


def _tab_cycle(window: QWidget, start: QWidget) -> list[QWidget]:
    start.setFocus()
    QApplication.processEvents()
    reached = []
    for _ in range(200):
        window.focusNextChild()
        QApplication.processEvents()
        focused = QApplication.focusWidget()
        if focused is start or focused in reached:
            break
        reached.append(focused)
    return reached


def test_the_focus_is_visible_on_every_kind_of_control(fake_app, qtbot):
    _fill(fake_app)
    window = fake_app.window
    window.resize(1280, 820)
    window.composer.set_text("draft")  # so Send is enabled
    for theme in ("light", "dark"):
        apply_theme(QApplication.instance(), theme, styles_dir())
        for widget in (window.settings_button, window.composer.send_button,
                       window.chat.last().copy_button, window.conversations.search,
                       window.conversations.list, window.documents.table,
                       window.chat.last().sources.button_for(1),
                       window.chat.last().evidence.buttons()[0]):  # fmt: skip
            window.composer.edit.setFocus()
            QApplication.processEvents()
            before = widget.grab().toImage()
            widget.setFocus(Qt.FocusReason.TabFocusReason)
            qtbot.wait_until(widget.hasFocus)
            QApplication.processEvents()
            after = widget.grab().toImage()
            assert _changed(before, after) > 0.01, f"{theme}: {_describe(widget)}"
        composer = window.composer
        window.documents.add_button.setFocus()
        QApplication.processEvents()
        before = composer.grab().toImage()
        composer.edit.setFocus()
        qtbot.wait_until(composer.edit.hasFocus)
        QApplication.processEvents()
        assert _changed(before, composer.grab().toImage()) > 0.01, f"{theme}: composer frame"
    apply_theme(QApplication.instance(), "light", styles_dir())


def _changed(before: QImage, after: QImage) -> float:
    """Share of the border pixels (where a focus ring is drawn) that differ."""
    width, height = min(before.width(), after.width()), min(before.height(), after.height())
    border = [(x, y) for x in range(width) for y in (0, 1, 2, height - 2, height - 3)]
    border += [(x, y) for y in range(height) for x in (0, 1, 2, width - 2, width - 3)]
    different = sum(1 for x, y in border if before.pixel(x, y) != after.pixel(x, y))
    return different / max(1, len(border))


def test_a_finished_reply_and_an_error_are_read_out(fake_app, qtbot):
    window = fake_app.window
    replies: list[str] = []
    notices: list[str] = []
    window.chat.announcer.announced.connect(replies.append)
    window.notice.announcer.announced.connect(notices.append)
    fake_app.send("Name a colour.")
    fake_app.wait_reply()
    assert replies == ["Reply: Blue is a colour."]
    window.notice.show_message("The model could not be loaded.", "error")
    assert notices[-1] == "The model could not be loaded."


def test_settings_fields_are_named_after_their_labels(qtbot):
    dialog = SettingsDialog({})
    qtbot.add_widget(dialog)
    editor = dialog.editors["sampling.temperature"]
    assert accessible_name(editor) == "Temperature"
    assert editor.accessibleDescription()


def _describe(widget: QWidget) -> str:
    text = getattr(widget, "text", lambda: "")()
    return f"{type(widget).__name__} {widget.objectName()!r} {text!r} in {type(widget.parent()).__name__}"
