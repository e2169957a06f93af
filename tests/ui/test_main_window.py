"""The main window on its own (no controller): how its title row shares the width."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel

from app.paths import styles_dir
from ui.main_window import MainWindow
from ui.theme import apply_theme

TITLE = "Hello there, what is the capital of France?"
MODEL = "SmolLM2-135M-Instruct.Q4_1"


def test_the_chat_title_stays_readable_with_the_documents_panel_open(qtbot):
    apply_theme(QApplication.instance(), "light", styles_dir())  # the window's fonts and padding
    window = MainWindow()
    qtbot.add_widget(window)
    window.resize(1280, 820)  # the size it opens at on a large enough screen
    window.show()
    qtbot.wait_exposed(window)
    window.model_status.set_loaded(MODEL)
    window.title.setText(TITLE)
    window.show_documents(True)
    QApplication.processEvents()

    title = window.title
    shown = QLabel.text(title)
    assert shown.endswith("…") and TITLE.startswith(shown[:-1])
    assert len(shown) >= 12, f"the title shows only {shown!r}"
    assert title.width() >= 12 * title.fontMetrics().averageCharWidth()
    # The model button gave way instead, cut in its middle; its whole name is still its text.
    button = window.model_status.button
    assert button.text() == f"{MODEL}  ▾"
    assert "…" in button.shown_text() and button.shown_text().endswith("Q4_1  ▾")
    # The panel keeps the width its table needs, and the row fits in the chat column.
    assert window.documents.width() >= window.documents.minimumWidth()
    header_right = window.settings_button.geometry().right()
    assert header_right <= window.chat_area.width()
    # With the panel closed again there is room for all of it.
    window.show_documents(False)
    QApplication.processEvents()
    assert button.shown_text() == button.text()
    assert len(QLabel.text(title)) > len(shown)


def narrow_window_with_panel(qtbot, monkeypatch, screen_width: int) -> MainWindow:
    """A window 900 px wide on a screen `screen_width` wide (the test platform's screen is
    smaller than a desk's), with the documents panel opened."""
    apply_theme(QApplication.instance(), "light", styles_dir())
    monkeypatch.setattr(MainWindow, "_screen_width", lambda _self: screen_width)
    window = MainWindow()
    qtbot.add_widget(window)
    window.resize(900, 700)
    window.show()
    qtbot.wait_exposed(window)
    window.model_status.set_loaded(MODEL)
    window.title.setText(TITLE)
    window.show_documents(True)
    qtbot.wait(50)  # the second fit, after the splitter counted its panes
    return window


def header_fits(window: MainWindow) -> bool:
    """Every header button is as wide as its text needs, and the row ends inside the chat."""
    buttons = (window.documents_button, window.export_button, window.bench_button,
               window.settings_button)  # fmt: skip
    whole = all(b.width() >= b.minimumSizeHint().width() for b in buttons)
    return whole and window.settings_button.geometry().right() <= window.chat_area.width()


def test_opening_the_panel_in_a_narrow_window_widens_it_rather_than_cutting_the_header(
    qtbot, monkeypatch
):
    window = narrow_window_with_panel(qtbot, monkeypatch, screen_width=1920)
    assert window.conversations.isVisible()
    assert window.width() > 900 and header_fits(window)
    assert window.documents.width() >= window.documents.minimumWidth()


def test_on_a_small_screen_the_chat_list_steps_aside_for_the_panel(qtbot, monkeypatch):
    window = narrow_window_with_panel(qtbot, monkeypatch, screen_width=1024)
    assert not window.conversations.isVisible()
    assert window.width() <= 1024 and header_fits(window)
    window.show_documents(False)
    qtbot.wait(50)
    assert window.conversations.isVisible(), "the list comes back with the panel closed"
