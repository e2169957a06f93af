"""A reply cut off by a crash says so after a restart: a real Hearth process (on the fakes of
tests/fakes.py) is killed half-way through a reply, and the next start shows the reply as stopped,
with why; every way a reply starts marks it in progress until it ends."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app.chat_controller import STOPPED_MID_REPLY
from app.paths import app_paths
from engine.chat_store import ChatStore
from tests.conftest import FakeApp
from tests.fakes import FakeEngine, FakeLibraryClient
from tests.older_stores import as_version

ROOT = Path(__file__).resolve().parents[2]

# A whole Hearth window on the fakes, in its own process: it sends a question, and once the reply's
# first words are in the store (saved as it grows, while the rest is held back) says "saved" and
# waits to be killed.
_HEARTH_KILLED_MID_REPLY = textwrap.dedent(
    """
    import sys

    from app import qt_compat

    qt_compat.apply()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    qt = QApplication([])
    import app.chat_controller
    from app.controller import AppController
    from app.paths import app_paths
    from app.settings import Settings
    from tests.fakes import FakeEngine, FakeLibraryClient
    from ui.main_window import MainWindow

    app.chat_controller.SAVE_INTERVAL_S = 0.0
    AppController.warm_up_delay_ms = None
    paths = app_paths().ensure()
    window = MainWindow()
    window.show()
    engine = FakeEngine(ready=False, hold_after=5, reply="Once upon a time a baker learned "
                        "how to bake bread from Thomas.")
    controller = AppController(window, Settings(paths.settings_file), paths,
                               libraries=FakeLibraryClient(), engine=engine)
    controller.start()
    state = {"sent": False}

    def poll():
        if not state["sent"] and window.model_status.state == "loaded":
            state["sent"] = True
            window.composer.set_text("Tell me a long story.")
            window.composer._on_submit()
        conversation = controller.current.conversation
        if conversation is not None:
            messages = controller.store.messages(conversation.id)
            if messages and messages[-1].content:
                print("saved", flush=True)
                return
        QTimer.singleShot(20, poll)

    poll()
    qt.exec()
    """
)


def kill_hearth_mid_reply() -> None:
    """Run Hearth in a process of its own, and kill it (SIGKILL) while it writes a reply."""
    with subprocess.Popen(
        [sys.executable, "-c", _HEARTH_KILLED_MID_REPLY],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    ) as hearth:
        try:
            assert hearth.stdout is not None
            ready, _, _ = select.select([hearth.stdout], [], [], 60)
            said = hearth.stdout.readline().strip() if ready else ""
            assert said == "saved", "Hearth never got to the reply"
        finally:
            os.kill(hearth.pid, signal.SIGKILL)
            hearth.wait(30)


def test_a_reply_cut_off_by_a_crash_says_so_after_a_restart(qtbot):
    kill_hearth_mid_reply()

    app = FakeApp(qtbot, FakeEngine(reply="A new story."), FakeLibraryClient()).start()
    try:
        card = app.window.chat.last()
        assert card.text() == "Once"
        assert card.stats_label.text() == "1 token · stopped"
        assert STOPPED_MID_REPLY in card.stats_label.toolTip()
        assert "Error" not in card.stats_label.toolTip()  # a stop, not a failure
        assert card.regenerate_button.isVisibleTo(app.window)
        # Regenerate writes it again, and the new reply is an ordinary finished one.
        card.regenerate_button.click()
        app.wait_reply()
        [_question, reply] = app.stored_messages()
        assert (reply.content, reply.in_progress) == ("A new story.", False)
        assert app.window.chat.last().stats_label.text().startswith("3 tokens")
    finally:
        app.stop()


def test_a_reply_is_marked_in_progress_however_it_starts(qtbot, monkeypatch):
    """Send, Regenerate and edit-and-resend all start a reply the same way: while it streams it
    is marked (a crash then leaves it marked), and its end clears the mark."""
    monkeypatch.setattr("app.chat_controller.SAVE_INTERVAL_S", 0.0)
    engine = FakeEngine(ready=False, reply="one two three four", hold_after=2)
    # While it is held, the first word shows (the next wait for their batch: see app.throttle).
    app = FakeApp(qtbot, engine, FakeLibraryClient()).start()
    reader = ChatStore(app_paths().chats_db)  # another connection: what a crash would leave

    def while_held_then_finished() -> None:
        qtbot.wait_until(lambda: app.window.chat.last().text() == "one", timeout=10000)
        conversation_id = app.conversation.id
        qtbot.wait_until(lambda: reader.messages(conversation_id)[-1].content == "one")
        held = reader.messages(conversation_id)[-1]
        assert held.in_progress and held.stats["error"] == STOPPED_MID_REPLY
        assert held.stats["generated_tokens"] == 1
        engine.resume.set()
        app.wait_reply()
        done = reader.messages(conversation_id)[-1]
        assert (done.content, done.in_progress) == ("one two three four", False)
        engine.resume.clear()

    try:
        app.send("Count.")
        while_held_then_finished()
        app.window.chat.last().regenerate_button.click()
        while_held_then_finished()
        question = app.stored_messages()[0]
        app.controller.chats.on_edit(question.id)
        app.send("Count again.")
        while_held_then_finished()
        assert [m.content for m in app.stored_messages()] == ["Count again.",
                                                             "one two three four"]  # fmt: skip
    finally:
        engine.resume.set()
        reader.close()
        app.stop()


def test_a_reply_an_earlier_version_left_unfinished_says_so(qtbot):
    """A reply an earlier Hearth was writing when it crashed has no stats and no count: it shows
    as stopped without a count; the replies that ended look as they did."""
    path = app_paths().ensure().chats_db
    store = ChatStore(path)
    chat = store.create_conversation("Bread")
    store.add_message(chat.id, "user", "Tell me a long story.")
    store.add_message(chat.id, "assistant", "A short one.", {"generated_tokens": 3})
    store.add_message(chat.id, "user", "A longer one.")
    store.add_message(chat.id, "assistant", "…learn how to bake bread from Tho")
    store.close()
    as_version(path, 3)

    app = FakeApp(qtbot, FakeEngine(), FakeLibraryClient()).start()
    try:
        finished, cut = [w for w in app.window.chat.messages() if w.role == "assistant"]
        assert finished.stats_label.text() == "3 tokens"
        assert finished.stats_label.toolTip().count("\n") == 1  # its numbers, no reason
        assert cut.text() == "…learn how to bake bread from Tho"
        assert cut.stats_label.text() == "stopped"
        assert STOPPED_MID_REPLY in cut.stats_label.toolTip()
    finally:
        app.stop()
