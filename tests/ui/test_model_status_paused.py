"""The model button while a benchmark has set the chat model aside: its words are never cut."""

from __future__ import annotations

import pytest

from ui.model_status import ModelStatus

REASON = "paused for a benchmark"  # what the model controller says (app/model_controller.py)


@pytest.mark.parametrize("name", ["SmolLM2-135M-Instruct.Q4_1", "gemma-3-270m-q4_k_m"])
def test_a_paused_model_s_button_shows_whole_words_at_any_width(qtbot, name):
    status = ModelStatus()
    qtbot.add_widget(status)
    status.show()
    status.set_paused(name, REASON)
    button = status.button
    hint = button.sizeHint().width()
    frame = hint - button._width(button.text())  # padding and frame, as ElidedButton counts them
    for width in range(button.minimumSizeHint().width(), hint + 1, 7):
        button.setFixedWidth(width)
        shown = button.shown_text()
        # Drawn within the button: nothing is clipped at either end.
        assert button._width(shown) <= width - frame, (width, shown)
        # The reason's words are whole: "…for a benchma" is never shown.
        said = shown.rsplit(": ", 1)[-1].removesuffix("▾").split()
        assert said and said == REASON.split()[: len(said)], (width, shown)
    # What is left out is still said, to the pointer and to a screen reader.
    assert REASON in button.toolTip() and REASON in button.accessibleName()
