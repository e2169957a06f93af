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
