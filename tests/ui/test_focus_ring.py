"""The keyboard focus is always visible: every stop Tab reaches in the window is drawn differently
when it holds the focus, and Tab goes through a message in reading order."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from app.paths import styles_dir
from tests.ui.test_accessibility import _changed, _describe, _fill
from ui.page_viewer import PageViewer
from ui.theme import apply_theme


def _shown_by(widget: QWidget) -> QWidget:
    """The widget whose look shows that `widget` has the focus (the prompt's frame is the
    composer around it)."""
    composer = widget.parentWidget()
    return composer if getattr(composer, "edit", None) is widget else widget


def _tab(qtbot) -> QWidget:
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    QApplication.processEvents()
    return QApplication.focusWidget()


def _stops_without_focus_mark(qtbot, start: QWidget) -> tuple[list[QWidget], list[str]]:
    """Press Tab round the window from `start`, as a person does; each stop is pictured with
    the focus and again once Tab moved it on. The stops, and those that look the same."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    reached: list[QWidget] = []
    unmarked: list[str] = []
    widget = _tab(qtbot)
    while widget not in reached and len(reached) < 100:
        reached.append(widget)
        focused = _shown_by(widget).grab().toImage()
        following = _tab(qtbot)
        unfocused: QImage = _shown_by(widget).grab().toImage()
        if _changed(unfocused, focused) < 0.01:
            unmarked.append(_describe(widget))
        widget = following
    return reached, unmarked


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_stop_of_the_main_window_shows_the_focus(fake_app, qtbot, theme):
    _fill(fake_app)
    window = fake_app.window
    window.resize(1280, 820)
    window.composer.set_text("draft")  # so Send is enabled
    try:
        apply_theme(QApplication.instance(), theme, styles_dir())
        reached, unmarked = _stops_without_focus_mark(qtbot, window.composer.edit)
    finally:
        apply_theme(QApplication.instance(), "light", styles_dir())
    kinds = {type(widget).__name__ for widget in reached}
    # The views that take the focus without a frame of their own are among the stops.
    assert {"ChatView", "MarkdownView", "QTableView", "QListWidget"} <= kinds
    assert len(reached) > 20
    assert unmarked == []


def test_the_page_viewer_shows_the_focus_on_its_page(qtbot):
    apply_theme(QApplication.instance(), "light", styles_dir())
    viewer = PageViewer()
    qtbot.add_widget(viewer)
    viewer.resize(800, 600)
    viewer.show()
    qtbot.wait_exposed(viewer)
    viewer.activateWindow()
    qtbot.wait_until(viewer.isActiveWindow)
    reached, unmarked = _stops_without_focus_mark(qtbot, viewer.system_button)
    assert viewer.page_scroll in reached
    assert unmarked == []


def test_tab_goes_through_a_message_as_it_reads(fake_app, qtbot):
    _fill(fake_app)  # a reply with evidence and sources, under the question
    window = fake_app.window
    question, reply = window.chat.messages()[-2:]
    for message, first, expected in (
        (question, question.edit_button, [question.copy_button, question.body]),
        (reply, reply.regenerate_button, [reply.copy_button, reply.body,
                                          *reply.evidence.buttons(), *reply.sources.buttons()]),
    ):  # fmt: skip
        first.setFocus(Qt.FocusReason.TabFocusReason)
        QApplication.processEvents()
        reached = [_tab(qtbot) for _ in expected]
        assert [_describe(w) for w in reached] == [_describe(w) for w in expected]
        assert reached == expected
        # The actions are reached left to right, as they are shown.
        actions = [first, *(w for w in reached if w.parentWidget() is message)]
        lefts = [w.mapTo(message, w.rect().topLeft()).x() for w in actions if w is not message.body]
        assert lefts == sorted(lefts)
