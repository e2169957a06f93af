"""Sending a message when the data folder's disk is full: a notice in words, the typed text kept,
no crash dialog; once space is back the same message goes through."""

from __future__ import annotations

import pytest

from tests.engine.disks import fill, small_disk


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
