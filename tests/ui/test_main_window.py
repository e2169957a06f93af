"""The main window on its own (no controller): how its title row shares the width."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QLabel

from app.paths import styles_dir
from ui.main_window import MainWindow
from ui.theme import apply_theme

TITLE = "Hello there, what is the capital of France?"
MODEL = "SmolLM2-135M-Instruct.Q4_1"
# The real screen's room, before the desk-sized one the tests lay windows out on replaces it.
SCREEN_ROOM = MainWindow._screen_room


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
    room = QRect(0, 0, screen_width, 1040)
    monkeypatch.setattr(MainWindow, "_screen_room", lambda _self: room)
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


# The layout a 1280 × 800 screen kept (a window 1250 × 720 at 50, 50 with the documents panel
# open, the chat list 240 px wide), as the settings file holds it.
SAVED_ON_A_WIDER_SCREEN = {
    "window.geometry": "AdnQywADAAAAAAAwAAAAMAAABRUAAAMDAAAAMgAAADIAAAUTAAADAQAAAAAAAAAABQAAAAAy"
    "AAAAMgAABRMAAAMB",
    "window.splitter": "AAAA/wAAAAEAAAADAAAA8AAAAvoAAAEsAP////8BAAAAAQA=",
    "window.documents_visible": True,
}


def started_with(qtbot, values: dict) -> MainWindow:
    """A window started as app.gui.main starts it: the saved layout restored, then shown."""
    apply_theme(QApplication.instance(), "light", styles_dir())
    window = MainWindow()
    qtbot.add_widget(window)
    window.restore_layout(values)
    window.show()
    qtbot.wait_exposed(window)
    qtbot.wait(50)  # the panel's second fit, after the splitter counted its panes
    return window


def on_its_screen(window: MainWindow) -> bool:
    room = window.screen().availableGeometry()
    return room.contains(window.frameGeometry())


def test_a_layout_saved_on_a_larger_screen_opens_within_this_one(qtbot, monkeypatch):
    # The offscreen platform's own screen (800 × 600) is the smaller screen here.
    monkeypatch.setattr(MainWindow, "_screen_room", SCREEN_ROOM)
    window = started_with(qtbot, SAVED_ON_A_WIDER_SCREEN)
    assert on_its_screen(window), f"{window.frameGeometry()} is off {window.screen().geometry()}"
    assert window.documents.isVisible()
    # What it keeps on quitting, the next start shows as it is.
    kept = window.layout_state()
    again = started_with(qtbot, kept)
    assert again.frameGeometry().size() == window.frameGeometry().size()
    assert on_its_screen(again)


def test_a_window_saved_off_the_screen_is_brought_onto_it(qtbot, monkeypatch):
    monkeypatch.setattr(MainWindow, "_screen_room", SCREEN_ROOM)
    first = MainWindow()
    qtbot.add_widget(first)
    first.setGeometry(2600, 1400, 1200, 900)  # on a screen that is gone, and larger than this one
    window = started_with(qtbot, first.layout_state())
    assert on_its_screen(window), f"{window.frameGeometry()} is off {window.screen().geometry()}"


def test_opening_the_panel_keeps_the_window_on_the_screen(qtbot, monkeypatch):
    room = QRect(0, 0, 1280, 800)  # the panel fits beside the chat list, if the window grows
    monkeypatch.setattr(MainWindow, "_screen_room", lambda _self: room)
    window = started_with(qtbot, {})
    window.resize(900, 700)
    qtbot.wait(10)
    window.move(room.right() + 1 - window.frameGeometry().width(), room.top())  # at the right edge
    qtbot.wait(10)
    assert room.contains(window.frameGeometry())
    window.show_documents(True)
    qtbot.wait(50)
    assert window.width() > 1000 and window.conversations.isVisible()
    assert room.contains(window.frameGeometry()), f"{window.frameGeometry()} is off {room}"
    assert window.documents.isVisible() and header_fits(window)
