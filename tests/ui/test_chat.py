"""Chatting in the window with the real bundled model: streaming, stop, regenerate, edit, and
chats that are still there after a restart."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.stats import GenerationStats

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow


def test_typing_a_message_streams_a_reply_with_stats(app_window, qtbot):
    window = app_window.window
    app_window.send("Name a colour.")
    assert window.composer.text() == ""
    assert window.composer.send_button.text() == "Stop"
    widgets = window.chat.messages()
    assert [w.role for w in widgets] == ["user", "assistant"]
    qtbot.wait_until(lambda: widgets[1].text() != "", timeout=30000)
    app_window.wait_reply()
    reply = window.chat.last()
    assert reply.text().strip()
    assert "tokens" in reply.stats_label.text()
    assert window.composer.send_button.text() == "Send"
    assert window.gauges.speed.value.text().endswith("tok/s")
    assert window.gauges.context.budget.n_ctx == 2048
    stored = app_window.stored_messages()
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].content == reply.text()
    assert GenerationStats.from_dict(stored[1].stats).generated_tokens > 0
    assert window.conversations.list.count() == 1
    assert window.conversations.list.item(0).text() == "Name a colour."


def test_shift_enter_adds_a_line_instead_of_sending(app_window, qtbot):
    edit = app_window.window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "first")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "second")
    assert edit.toPlainText() == "first\nsecond"
    assert app_window.chats.reply is None


def test_stop_ends_the_reply_early_and_keeps_what_was_written(harness, qtbot):
    harness.start()
    harness.controller.settings.set("sampling.max_tokens", 400)
    window = harness.window
    harness.send("Write a long story about a dragon who learns to bake bread.")
    reply = window.chat.last()
    qtbot.wait_until(lambda: len(reply.text()) > 10, timeout=120000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    harness.wait_reply(timeout=10000)
    stored = harness.stored_messages()[-1]
    stats = GenerationStats.from_dict(stored.stats)
    assert stats.stop_reason == "cancelled"
    assert stats.generated_tokens < 400
    assert stored.content == reply.text() and stored.content
    assert "stopped" in reply.stats_label.text()


def test_regenerate_replaces_the_last_reply(app_window, qtbot):
    window = app_window.window
    app_window.send("Say hello.")
    app_window.wait_reply()
    first_id = window.chat.last().message_id
    assert window.chat.last().regenerate_button.isVisible()
    window.chat.last().regenerate_button.click()
    assert app_window.chats.reply is not None
    app_window.wait_reply()
    messages = app_window.stored_messages()
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].id != first_id
    assert len(window.chat.messages()) == 2


def test_a_question_that_got_no_reply_goes_back_to_the_message_box(app_window, qtbot):
    window = app_window.window
    app_window.send("Say hello.")
    app_window.wait_reply()
    answered = app_window.stored_messages()
    # Refused before a word: the turn does not fit and the policy says stop.
    app_window.controller.settings.set("context.overflow_policy", "stop")
    too_long = "harbour " * 3000
    window.composer.set_text("Something typed meanwhile")
    app_window.send(too_long.strip())
    app_window.wait_reply()
    # Not left in the chat, where it would go to the model with the next question.
    assert app_window.stored_messages() == answered
    assert [w.role for w in window.chat.messages()] == ["user", "assistant"]
    assert window.chat.last().regenerate_button.isVisible()
    assert window.composer.text() == too_long.strip()
    notice = window.notice.text()
    assert notice.startswith("Not sent: ") and "back in the message box" in notice
    # A later reply that works takes the notice away.
    app_window.controller.settings.set("context.overflow_policy", "sliding_window")
    app_window.send("Say one word.")
    app_window.wait_reply()
    assert [m.content for m in app_window.stored_messages() if m.role == "user"] == [
        "Say hello.",
        "Say one word.",
    ]
    assert "Not sent" not in window.notice.text()


def test_a_new_chat_whose_first_question_was_not_sent_is_not_kept(app_window, qtbot):
    """Refused before a word, the only question of a new chat leaves no empty chat behind
    under its title; the text goes back into the box of a new chat."""
    window = app_window.window
    app_window.controller.settings.set("context.overflow_policy", "stop")
    too_long = ("harbour " * 3000).strip()
    app_window.send(too_long)
    app_window.wait_reply()
    assert app_window.conversation is None
    assert window.conversations.ids() == []
    assert app_window.store.conversations() == []
    assert window.composer.text() == too_long
    assert window.notice.text().startswith("Not sent: ")


def test_edit_and_resend_replaces_the_last_exchange(app_window, qtbot):
    window = app_window.window
    app_window.send("What is two plus two?")
    app_window.wait_reply()
    user = window.chat.messages()[0]
    user.edit_button.click()
    assert window.composer.text() == "What is two plus two?"
    assert "Editing" in window.notice.text()
    window.composer.set_text("What is three plus three?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    app_window.wait_reply()
    messages = app_window.stored_messages()
    assert [m.content for m in messages if m.role == "user"] == ["What is three plus three?"]
    assert len(messages) == 2


def test_a_question_asked_while_the_model_loads_waits_for_it(harness, qtbot):
    harness.start(wait_for_model=False)
    harness.send("Hi!")
    harness.wait_model_loaded()
    harness.wait_reply()
    stored = harness.stored_messages()
    assert stored[-1].role == "assistant" and stored[-1].content.strip()


def test_chats_are_restored_after_a_restart(harness, qtbot):
    harness.start()
    harness.send("Remember the word pelican.")
    harness.wait_reply()
    first = harness.conversation.id
    harness.window.conversations.newRequested.emit()
    harness.send("Second chat.")
    harness.wait_reply()
    reply_text = harness.window.chat.last().text()
    harness.restart()
    window = harness.window
    assert window.conversations.list.count() == 2
    assert harness.conversation.title == "Second chat."
    assert window.chat.last().text() == reply_text
    window.conversations.list.setCurrentRow(1)
    assert harness.conversation.id == first
    assert window.chat.messages()[0].text() == "Remember the word pelican."


def test_a_restored_chat_shows_its_context_use_without_a_question(harness, qtbot):
    harness.start()
    harness.send("Remember the word pelican.")
    harness.wait_reply()
    before = harness.window.gauges.context.budget
    harness.stop()
    harness.start(wait_for_model=False)
    gauge = harness.window.gauges.context
    harness.wait_model_loaded()
    qtbot.wait_until(lambda: gauge.budget is not None and gauge.budget.history > 0,
                     timeout=30000)  # fmt: skip
    # The question and its reply, counted by the model's tokenizer, are now history.
    assert gauge.budget.n_ctx == before.n_ctx == 2048
    assert gauge.budget.prompt >= before.prompt and gauge.budget.generated == 0
    assert not gauge.value.text().startswith("0 ")
    assert len(harness.stored_messages()) == 2, "nothing was asked"


def test_export_writes_markdown(app_window, tmp_path):
    app_window.send("Say yes.")
    app_window.wait_reply()
    target = tmp_path / "chat.md"
    app_window.controller.conversations.export_to(app_window.conversation.id, target)
    text = target.read_text()
    assert text.startswith("# Say yes.")
    assert "## Hearth" in text
    assert "Saved chat.md" in app_window.window.notice.text()


def test_ctrl_l_focuses_the_composer(app_window, qtbot):
    window = app_window.window
    window.conversations.search.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.composer.edit.hasFocus() or window.focusWidget() is window.composer.edit
