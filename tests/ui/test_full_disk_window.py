"""Sending a message when the data folder's disk is full: a notice in words, the typed text kept,
no crash dialog; once space is back the same message goes through."""

from __future__ import annotations

import pytest

from tests.engine.disks import fill, read_only, small_disk


@pytest.mark.slow
def test_a_message_sent_on_a_full_disk_is_kept_and_explained(harness, hearth_home, qtbot):
    with small_disk(hearth_home, 40) as disk:
        app = harness.start()
        window = app.window
        filler = fill(disk)
        app.send("Written on a full disk.")
        qtbot.wait_until(lambda: "is full" in window.notice.text(), timeout=10000)
        assert f"mounted at {disk}" in window.notice.text()
        assert window.composer.edit.toPlainText() == "Written on a full disk."
        assert app.conversation is None or not app.store.messages(app.conversation.id)
        filler.unlink()
        app.send("Written on a full disk.")
        app.wait_reply()
        stored = app.store.messages(app.conversation.id)
        assert stored[0].content == "Written on a full disk." and len(stored) == 2
        harness.stop()


@pytest.mark.slow
def test_a_disk_that_fills_while_a_reply_streams_ends_the_reply_in_words(harness, hearth_home,
                                                                          qtbot):  # fmt: skip
    with small_disk(hearth_home, 40) as disk:
        app = harness.start()
        window = app.window
        app.controller.settings.update({"sampling.max_tokens": 200, "sampling.temperature": 0.8})
        app.send("Tell me a long story about a lighthouse keeper and the sea.")
        qtbot.wait_until(lambda: bool(app.chats.reply and app.chats.reply.text), timeout=30000)
        filler = fill(disk)
        app.wait_reply()
        # The final save met the full disk: said in words, the reply stays on screen, the
        # composer is free again (a store error out of the slot used to leave it busy).
        assert "is full" in window.notice.text()
        assert "saves it by itself as soon as it can" in window.notice.text()
        assert not window.composer.is_busy()
        shown = window.chat.messages()[-1].text()
        assert shown
        filler.unlink()
        app.chats.save_unsaved()  # what its timer does every RETRY_SAVE_S
        assert app.stored_messages()[-1].content == shown, "the whole reply, not its start"
        assert "saved now" in window.notice.text()
        app.send("And now a short one.")
        app.wait_reply()
        stored = app.stored_messages()
        assert [m.content for m in stored if m.role == "user"][-1] == "And now a short one."
        assert stored[-1].role == "assistant" and stored[-1].content
        harness.stop()


@pytest.mark.slow
def test_on_a_read_only_disk_the_chats_are_shown_and_nothing_typed_is_lost(harness, hearth_home,
                                                                            qtbot):  # fmt: skip
    """Hearth starts on a data folder it cannot write: it says so once, shows the chats, loads
    the model, and a message it cannot save stays in the box."""
    with small_disk(hearth_home, 40) as disk:
        app = harness.start()
        app.send("Written before the disk turned read-only.")
        app.wait_reply()
        harness.stop()
        read_only(disk)
        try:
            app = harness.start()
            window = app.window
            qtbot.wait_until(lambda: "nothing new can be saved" in window.notice.text(),
                             timeout=10000)  # fmt: skip
            assert "read-only" in window.notice.text()
            assert app.conversation is not None
            shown = [message.text() for message in window.chat.messages()]
            assert shown[0] == "Written before the disk turned read-only." and shown[1]
            app.send("Written on a read-only disk.")
            qtbot.wait_until(lambda: "cannot be written" in window.notice.text(), timeout=10000)
            assert window.composer.edit.toPlainText() == "Written on a read-only disk."
            harness.stop()
        finally:
            read_only(disk, False)
