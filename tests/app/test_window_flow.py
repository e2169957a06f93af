"""The window's controllers on the fast layer: the real window, controllers, worker threads and
throttle, with a chat engine and a library client that need no model and no process
(tests/fakes.py). The same flows run against the real model in tests/ui."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.chat_controller import CLOSED_MID_REPLY
from engine.chat.stored import sources_from_stored
from engine.stats import GenerationStats
from tests.fakes import FakeEngine, FakeLibraryClient


def test_a_reply_streams_into_the_window_and_the_store(fake_app, qtbot):
    window = fake_app.window
    announced: list[str] = []
    window.chat.announcer.announced.connect(announced.append)
    fake_app.send("Name a colour.")
    assert window.composer.send_button.text() == "Stop"
    fake_app.wait_reply()
    reply = window.chat.last()
    assert reply.text() == "Blue is a colour."
    assert reply.stats_label.text().startswith("4 tokens · first token 50 ms")
    assert window.composer.send_button.text() == "Send"
    assert window.gauges.speed.value.text() == "120 tok/s"
    assert window.gauges.context.budget.n_ctx == 2048
    assert window.gauges.context.budget.generated == 4
    assert announced[-1] == "Reply: Blue is a colour."
    stored = fake_app.stored_messages()
    assert [(m.role, m.content) for m in stored] == [("user", "Name a colour."),
                                                     ("assistant", "Blue is a colour.")]  # fmt: skip
    assert GenerationStats.from_dict(stored[1].stats) == reply.stats()
    assert window.title.text() == "Name a colour."
    assert window.conversations.list.item(0).text() == "Name a colour."
    [turn] = fake_app.engine.turns
    assert turn.system_prompt == fake_app.settings.get("chat.system_prompt")


def test_stop_keeps_what_was_written_and_says_so(qtbot):
    from tests.conftest import FakeApp

    engine = FakeEngine(ready=False, reply="one two three four five six", hold_after=2)
    app = FakeApp(qtbot, engine, FakeLibraryClient()).start()
    try:
        app.send("Count.")
        # The first piece shows at once; the next waits for its batch (~1/30 s or the end).
        qtbot.wait_until(lambda: app.window.chat.last().text() == "one", timeout=10000)
        qtbot.keyClick(app.window, Qt.Key.Key_Escape)
        engine.resume.set()
        app.wait_reply()
        stored = app.stored_messages()[-1]
        assert GenerationStats.from_dict(stored.stats).stop_reason == "cancelled"
        assert stored.content == app.window.chat.last().text() == "one two"
        assert "stopped" in app.window.chat.last().stats_label.text()
    finally:
        app.stop()


def test_ctrl_q_quits_as_the_close_button_does(qtbot):
    """Ctrl+Q closes the window, and closing does what it always does: the reply being written
    is saved as far as it got, and the layout is kept for the next start."""
    import threading

    from app.paths import app_paths
    from app.settings import Settings
    from engine.chat_store import ChatStore
    from tests.conftest import FakeApp

    engine = FakeEngine(ready=False, reply="one two three four five six", hold_after=2)
    app = FakeApp(qtbot, engine, FakeLibraryClient()).start()
    try:
        app.window.show_documents(True)
        app.send("Count.")
        qtbot.wait_until(lambda: app.window.chat.last().text() == "one", timeout=10000)
        message_id = app.window.chat.last().message_id
        # The held reply goes on once closing has cancelled it, so the model thread can stop.
        threading.Timer(0.3, engine.resume.set).start()
        qtbot.keyClick(app.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert not app.window.isVisible()
        paths = app_paths()
        assert Settings(paths.settings_file).get("window.documents_visible") is True
        store = ChatStore(paths.chats_db)
        try:
            [saved] = [m for m in store.messages(app.conversation.id) if m.id == message_id]
            assert saved.content == "one"
            assert saved.stats["stop_reason"] == "cancelled"
            assert saved.stats["error"] == CLOSED_MID_REPLY
        finally:
            store.close()
    finally:
        engine.resume.set()
        app.stop()
    # After a restart the reply says it was stopped, and why.
    again = FakeApp(qtbot, FakeEngine(), FakeLibraryClient()).start()
    try:
        card = again.window.chat.last()
        assert card.text() == "one"
        assert card.stats_label.text() == "1 token · stopped"  # its first token's time unknown
        assert CLOSED_MID_REPLY in card.stats_label.toolTip()
    finally:
        again.stop()


def test_a_restored_chat_shows_its_context_use_before_anything_is_asked(qtbot):
    """The chat open at start fills part of the window: the gauge says how much as soon as the
    model is loaded, without a question; so it does for a chat switched to, and a new chat
    holds the system prompt only."""
    from app.paths import app_paths
    from engine.chat_store import ChatStore
    from tests.conftest import FakeApp
    from tests.fakes import words
    from ui.format import count

    owls = ("Tell me about owls.", "Owls hunt at night and hear very well.")
    otters = ("Tell me about otters.", "Otters are river animals that hold hands to sleep.")
    store = ChatStore(app_paths().ensure().chats_db)
    try:
        ids = {}
        for title, exchange in (("Owls", owls), ("Otters", otters)):  # otters: the most recent
            ids[title] = store.create_conversation(title).id
            store.add_message(ids[title], "user", exchange[0])
            store.add_message(ids[title], "assistant", exchange[1])
    finally:
        store.close()

    engine = FakeEngine(ready=False)  # loaded only after the chat is restored
    app = FakeApp(qtbot, engine, FakeLibraryClient()).start()
    try:
        gauge = app.window.gauges.context
        system = words(app.settings.get("chat.system_prompt"))
        assert app.conversation.id == ids["Otters"]
        qtbot.wait_until(lambda: gauge.budget is not None and gauge.budget.history > 0)
        assert gauge.budget.history == sum(words(text) for text in otters)
        assert gauge.budget.system == system
        assert gauge.budget.reply_reserve == app.settings.get("sampling.max_tokens")
        used = system + gauge.budget.history + gauge.budget.reply_reserve
        assert gauge.value.text() == f"{count(used)} / {count(2048)}"
        assert engine.turns == [], "nothing was asked"

        app.window.conversations.selected.emit(ids["Owls"])
        qtbot.wait_until(lambda: gauge.budget.history == sum(words(text) for text in owls))
        qtbot.keyClick(app.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        qtbot.wait_until(lambda: gauge.budget.history == 0)
        assert gauge.budget.system == system
        assert engine.turns == []
    finally:
        app.stop()


def test_a_reply_the_store_refuses_is_kept_and_saved_once_it_can_be(fake_app, qtbot,
                                                                    monkeypatch):  # fmt: skip
    from engine.chat_store import ChatStoreError

    store = fake_app.controller.store
    write = store.update_message
    refused = ChatStoreError("Could not save the chat: the disk is read-only.")

    def refuse(*_args, **_kwargs):
        raise refused

    monkeypatch.setattr(store, "update_message", refuse)
    monkeypatch.setattr("app.chat_controller.SAVE_INTERVAL_S", 0.0)  # refused while streaming too
    fake_app.send("What is two plus two?")
    fake_app.wait_reply()
    notice = fake_app.window.notice.text()
    assert "read-only" in notice and "saves it by itself" in notice
    assert fake_app.stored_messages()[-1].content == ""
    fake_app.controller.chats.save_unsaved()  # still refused: kept, nothing said twice
    assert fake_app.controller.chats._retry.isActive()

    monkeypatch.setattr(store, "update_message", write)
    fake_app.controller.chats._retry.timeout.emit()
    assert fake_app.stored_messages()[-1].content == "Blue is a colour."
    assert fake_app.stored_messages()[-1].stats["stop_reason"] == "stop"
    assert "saved now" in fake_app.window.notice.text()
    assert "read-only" not in fake_app.window.notice.text(), "the refusal is no longer news"
    assert not fake_app.controller.chats._retry.isActive()


def answer_next_dialog(button_text: str, seen: list[str], when=lambda: True) -> None:
    """Click `button_text` in the next modal dialog, once it shows and `when()` holds; its
    text goes to `seen`."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not when():
            QTimer.singleShot(20, click)
            return
        seen.append(f"{box.text()} {box.informativeText()}")
        next(button for button in box.buttons() if button.text() == button_text).click()

    QTimer.singleShot(0, click)


def test_closing_with_a_reply_the_disk_refused_asks_and_can_save_it_elsewhere(
    fake_app, qtbot, monkeypatch, tmp_path
):
    from engine.chat_store import ChatStoreError

    def refuse(*_args, **_kwargs):
        raise ChatStoreError("Could not save the chat: the disk is full.",
                             "Free some space, then try again. Nothing was lost.")  # fmt: skip

    monkeypatch.setattr(fake_app.controller.store, "update_message", refuse)
    fake_app.send("What is two plus two?")
    fake_app.wait_reply()
    window = fake_app.window
    seen: list[str] = []
    try:
        answer_next_dialog("Keep Hearth open", seen)
        window.close()
        assert window.isVisible(), "kept open: the reply is still only in memory"
        assert "A reply is not saved yet" in seen[0] and "disk is full" in seen[0]
        assert "it is lost" in seen[0] and "Nothing was lost" not in seen[0]

        answer_next_dialog("Save to a file…", seen)  # and then cancel where to
        monkeypatch.setattr("app.chat_controller.QFileDialog.getSaveFileName",
                            lambda *_args: ("", ""))  # fmt: skip
        window.close()
        assert window.isVisible(), "no file chosen: nothing was saved, so the window stays"

        target = tmp_path / "kept.md"
        monkeypatch.setattr("app.chat_controller.QFileDialog.getSaveFileName",
                            lambda *_args: (str(target), ""))  # fmt: skip
        answer_next_dialog("Save to a file…", seen)
        window.close()
        assert not window.isVisible()
    finally:
        window.close_guard = None  # pytest-qt closes the window again at teardown
    saved = target.read_text(encoding="utf-8")
    assert "What is two plus two?" in saved and "Blue is a colour." in saved


def test_closing_mid_reply_can_quit_without_what_the_disk_refused(qtbot, monkeypatch):
    """Closed while a reply is being written, on a read-only disk: its text so far is what
    would be lost, so the person is asked; "Quit without it" closes."""
    import threading

    from engine.chat_store import ChatStoreError
    from tests.conftest import FakeApp

    def refuse(*_args, **_kwargs):
        raise ChatStoreError("Could not save the chat: the disk is read-only.")

    engine = FakeEngine(ready=False, reply="one two three four five six", hold_after=2)
    app = FakeApp(qtbot, engine, FakeLibraryClient()).start()
    seen: list[str] = []
    try:
        app.send("Count.")
        qtbot.wait_until(lambda: app.window.chat.last().text() == "one", timeout=10000)
        monkeypatch.setattr(app.controller.store, "update_message", refuse)
        threading.Timer(0.3, engine.resume.set).start()  # so the model thread can stop
        answer_next_dialog("Quit without it", seen)
        app.window.close()
        assert not app.window.isVisible()
        assert "A reply is not saved yet" in seen[0] and "read-only" in seen[0]
    finally:
        app.window.close_guard = None  # pytest-qt closes the window again at teardown
        engine.resume.set()
        app.stop()


def test_a_reply_saved_to_a_file_mid_stream_is_marked_as_cut_off(qtbot, monkeypatch, tmp_path):
    """A reply still being written goes to the file as far as it got, marked as cut off."""
    from app.chat_controller import CUT_OFF_MARK
    from engine.chat_store import ChatStoreError
    from tests.conftest import FakeApp

    def refuse(*_args, **_kwargs):
        raise ChatStoreError("Could not save the chat: the disk is full.")

    engine = FakeEngine(ready=False, reply="one two three four five six", hold_after=2)
    app = FakeApp(qtbot, engine, FakeLibraryClient()).start()
    target = tmp_path / "kept.md"
    monkeypatch.setattr("app.chat_controller.QFileDialog.getSaveFileName",
                        lambda *_args: (str(target), ""))  # fmt: skip
    seen: list[str] = []
    try:
        app.send("Count.")
        qtbot.wait_until(lambda: app.window.chat.last().text() == "one", timeout=10000)
        monkeypatch.setattr(app.controller.store, "update_message", refuse)
        chats = app.controller.chats
        # Words that arrive while the question waits reach the file too: it is written from
        # the reply as it stands when the person chooses.
        answer_next_dialog("Save to a file…", seen,
                           when=lambda: chats._unsaved and chats.reply.text == "one")  # fmt: skip
        app.window.close()
        assert not app.window.isVisible()
        saved = target.read_text(encoding="utf-8")
        assert f"## Hearth\n\none\n\n{CUT_OFF_MARK}" in saved
    finally:
        app.window.close_guard = None  # pytest-qt closes the window again at teardown
        engine.resume.set()
        app.stop()


def test_a_close_once_the_disk_takes_the_reply_asks_nothing(fake_app, qtbot, monkeypatch):
    from app.paths import app_paths
    from engine.chat_store import ChatStore, ChatStoreError

    store = fake_app.controller.store
    write = store.update_message

    def refuse(*_args, **_kwargs):
        raise ChatStoreError("Could not save the chat: the disk is full.")

    monkeypatch.setattr(store, "update_message", refuse)
    fake_app.send("What is two plus two?")
    fake_app.wait_reply()
    monkeypatch.setattr(store, "update_message", write)  # space again, before the retry ran
    fake_app.window.close()  # no dialog: a modal one would never be answered here
    assert not fake_app.window.isVisible()
    store = ChatStore(app_paths().chats_db)  # the window's own store closed with it
    try:
        assert store.messages(fake_app.conversation.id)[-1].content == "Blue is a colour."
    finally:
        store.close()


def test_regenerate_and_edit_replace_the_last_exchange(fake_app, qtbot):
    window = fake_app.window
    fake_app.send("What is two plus two?")
    fake_app.wait_reply()
    first = window.chat.last().message_id
    window.chat.last().regenerate_button.click()
    fake_app.wait_reply()
    assert [m.role for m in fake_app.stored_messages()] == ["user", "assistant"]
    assert window.chat.last().message_id != first
    window.chat.messages()[0].edit_button.click()
    assert window.composer.text() == "What is two plus two?"
    fake_app.send("What is three plus three?")
    fake_app.wait_reply()
    assert [m.content for m in fake_app.stored_messages() if m.role == "user"] == [
        "What is three plus three?"
    ]
    # The engine saw the edited question with no history before it.
    assert fake_app.engine.turns[-1].message == "What is three plus three?"
    assert list(fake_app.engine.turns[-1].history) == []


def test_new_rename_search_delete_and_undo(fake_app, qtbot):
    window = fake_app.window
    fake_app.send("Tell me about otters.")
    fake_app.wait_reply()
    otters = fake_app.conversation.id
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert fake_app.conversation is None and window.chat.messages() == []
    fake_app.send("Tell me about owls.")
    fake_app.wait_reply()
    window.conversations.renameRequested.emit(fake_app.conversation.id, "Birds")
    assert window.title.text() == "Birds"
    assert sorted(window.conversations.list.item(i).text() for i in range(2)) == [
        "Birds", "Tell me about otters."
    ]  # fmt: skip
    window.conversations.search.setText("otter")
    qtbot.wait_until(lambda: window.conversations.list.count() == 1)
    assert window.conversations.ids() == [otters]
    window.conversations.search.clear()
    qtbot.wait_until(lambda: window.conversations.list.count() == 2)
    window.conversations.deleteRequested.emit(otters)
    assert otters not in window.conversations.ids()
    window.notice.action_button.click()  # Undo
    assert fake_app.conversation.id == otters
    assert window.chat.messages()[0].text() == "Tell me about otters."


def test_a_dropped_document_is_indexed_placed_and_cited(fake_app, qtbot, tmp_path):
    window, libraries = fake_app.window, fake_app.libraries
    note = tmp_path / "tides.txt"
    note.write_text("High tide comes twice a day.\n")
    window.filesDropped.emit((str(note),))
    panel = window.documents
    assert panel.isVisible()
    fake_app.wait_indexed(note)
    qtbot.wait_until(lambda: panel.placement_of(str(note)) == "whole", timeout=10000)
    assert panel.model.file(str(note)).pages == 1
    assert window.documents_button.text() == "Documents (1)"
    library = fake_app.conversation.library_name
    assert fake_app.controller.store.pinned_documents(fake_app.conversation.id)[0].path == str(note)

    fake_app.send("When is high tide?")
    fake_app.wait_reply()
    reply = window.chat.last()
    [source] = reply.sources.sources()
    assert (source.file, source.page) == (str(note), 1)
    assert sources_from_stored(fake_app.stored_messages()[-1].sources)[0].file == str(note)
    turn = fake_app.engine.turns[-1]
    assert [d.title for d in turn.pinned] == ["tides.txt"]
    assert [d.title for d in turn.excerpts] == ["tides.txt, page 1"]
    assert any(getattr(c, "library", None) == library for c in libraries.calls)

    reply.sources.button_for(1).click()
    viewer = fake_app.controller.documents.viewer
    # A text file has no pages: the viewer shows the cited passage itself.
    qtbot.wait_until(lambda: viewer.stack.currentWidget() is viewer.text_view, timeout=10000)
    assert "Page one of tides.txt." in viewer.text_view.toPlainText()


def ask_about_a_note(fake_app, qtbot, tmp_path):
    """Drop a one-line note on the window, wait until it is indexed, ask about it; the note."""
    note = tmp_path / "tides.txt"
    note.write_text("High tide comes twice a day.\n")
    fake_app.window.filesDropped.emit((str(note),))
    fake_app.wait_indexed(note)
    fake_app.send("When is high tide?")
    fake_app.wait_reply()
    return note


def test_a_follow_up_repeats_the_question_as_the_model_read_it(fake_app, qtbot, tmp_path):
    """The excerpts a question was read with stay with it in later prompts, so the prompt starts
    with what the KV cache already holds; the chat shows and searches the words typed."""
    ask_about_a_note(fake_app, qtbot, tmp_path)
    question = fake_app.stored_messages()[0]
    assert question.content == "When is high tide?"
    assert question.prompt.endswith("\n\nQuestion: When is high tide?")
    assert "(tides.txt, page 1)\nPage one of tides.txt." in question.prompt
    assert fake_app.window.chat.messages()[0].text() == "When is high tide?"

    fake_app.send("And low tide?")
    fake_app.wait_reply()
    turn = fake_app.engine.turns[-1]
    assert turn.history[0] == {"role": "user", "content": question.prompt,
                               "typed": "When is high tide?"}  # fmt: skip
    assert turn.message == "And low tide?"

    assert fake_app.stored_messages()[2].prompt.endswith("Question: And low tide?")

    # Regenerated, a question is searched again: its old excerpts leave with the old reply
    # (here the documents are gone, so it is read as typed).
    fake_app.libraries.files.clear()
    fake_app.window.chat.last().regenerate_button.click()
    fake_app.wait_reply()
    assert fake_app.engine.turns[-1].history[0]["content"] == question.prompt
    assert fake_app.engine.turns[-1].excerpts == []
    assert fake_app.stored_messages()[2].prompt is None


def test_a_removed_document_leaves_the_questions_read_with_it(fake_app, qtbot, tmp_path):
    """Remove means the file's text reaches the model no more: not even as the excerpts that
    earlier questions were read with."""
    note = ask_about_a_note(fake_app, qtbot, tmp_path)
    assert fake_app.stored_messages()[0].prompt

    fake_app.window.documents.removeRequested.emit((str(note),))
    qtbot.wait_until(lambda: not fake_app.libraries.files.get(fake_app.conversation.library_name))
    fake_app.send("And low tide?")
    fake_app.wait_reply()
    turn = fake_app.engine.turns[-1]
    assert turn.history[0] == {"role": "user", "content": "When is high tide?"}
    assert "tides" not in str(turn.history) and not turn.excerpts and not turn.pinned


def test_a_broken_file_is_listed_with_its_reason(qtbot, tmp_path):
    from tests.conftest import FakeApp

    libraries = FakeLibraryClient(broken={"broken.pdf": "the file is damaged: no page tree"})
    app = FakeApp(qtbot, FakeEngine(ready=False), libraries).start()
    try:
        broken = tmp_path / "broken.pdf"
        broken.write_bytes(b"%PDF-1.7 not really")
        app.window.filesDropped.emit((str(broken),))
        panel = app.window.documents
        qtbot.wait_until(lambda: panel.status_of(str(broken)).startswith("failed"), timeout=10000)
        assert panel.status_of(str(broken)) == "failed: the file is damaged: no page tree"
        qtbot.wait_until(lambda: "1 not indexed" in app.window.notice.text(), timeout=10000)
        assert "broken.pdf: the file is damaged: no page tree" in app.window.notice.text()
    finally:
        app.stop()


def test_a_cited_pdf_page_opens_in_the_viewer(fake_app, qtbot, tmp_path):
    from engine.library.answer import Source

    pdf = tmp_path / "guide.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    fake_app.window.chat.sourceClicked.emit(Source(1, str(pdf), 2, "the lamp is lit at dusk"))
    viewer = fake_app.controller.documents.viewer
    qtbot.wait_until(lambda: viewer.stack.currentWidget() is viewer.page_scroll, timeout=10000)
    assert (viewer.page, viewer.page_count) == (2, 3)
    assert viewer.page_view.highlights == [(1.0, 2.0, 10.0, 4.0)]
    render = [c for c in fake_app.libraries.calls if type(c).__name__ == "RenderPage"][-1]
    assert (render.path, render.page, render.passage) == (str(pdf), 2, "the lamp is lit at dusk")


def test_the_picker_counts_what_it_lists(fake_app, qtbot, tmp_path, default_model_path):
    window = fake_app.window
    window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() == 2, timeout=20000)
    assert picker.count.text() == "2 models."
    assert "models" not in picker.status.text()  # counted once, not twice
    copy = tmp_path / "my-model.gguf"
    copy.write_bytes(Path(default_model_path).read_bytes())
    picker.importRequested.emit(str(copy))
    qtbot.wait_until(lambda: picker.model.rowCount() == 3, timeout=20000)
    assert picker.count.text() == "3 models."
    assert picker.selected_path() == str(copy)
    fits = [row.fits for row in picker.model.rows()]
    assert all(text.startswith("fits in RAM, needs ~") for text in fits), fits


def test_a_window_too_large_is_refused_with_the_clis_proposals(fake_app, qtbot, default_model_path):
    window = fake_app.window
    fake_app.settings.set("model.context_size", 65536)  # SmolLM2 was trained for 8,192
    window.notice.dismiss()
    fake_app.controller.models.load(str(default_model_path))
    qtbot.wait_until(lambda: "was not loaded" in window.notice.text(), timeout=10000)
    assert "trained for windows up to 8,192 tokens" in window.notice.text()
    assert window.notice.action_button.text() == "Use 8,192 tokens"
    assert "the model's trained length" in window.notice.action_button.toolTip()
    assert fake_app.engine.loaded.report.n_ctx == 2048  # the loaded model stayed
    window.notice.action_button.click()
    qtbot.wait_until(lambda: fake_app.engine.loaded.report.n_ctx == 8192, timeout=10000)
    assert fake_app.settings.get("model.context_size") == 8192
    assert "apply when the model is loaded again" not in window.notice.text()


def test_too_little_memory_offers_what_the_cli_proposes(qtbot, default_model_path):
    from app.model_controller import load_settings_from
    from engine.context.fit import MachineMemory, check_fit
    from tests.conftest import FakeApp

    memory = 1_300 * 2**20  # ~1.3 GB free: an 8K window with an f16 cache does not fit
    app = FakeApp(qtbot, FakeEngine(ready=False, memory_bytes=memory), FakeLibraryClient())
    try:
        app.settings.set("model.context_size", 8192)
        app.controller.start()
        qtbot.wait_until(lambda: "was not loaded" in app.window.notice.text(), timeout=10000)
        shown = [b for b in app.window.notice.action_buttons if b.isVisible()]
        settings = load_settings_from(app.settings.values(), str(default_model_path))
        cli = check_fit(settings, MachineMemory(memory))  # what `hearth chat` proposes
        assert not cli.fits and len(cli.proposals) >= 3
        assert [b.toolTip() for b in shown] == [
            f"Load with {p.description}" for p in cli.proposals[:3]
        ]
        assert any(b.text().endswith("cache") for b in shown)
        # A smaller window is among them (which one depends on the cache and flash attention).
        assert any(b.text().startswith("Use ") and " tokens" in b.text() for b in shown)
        assert "kept for the rest of the system" in app.window.notice.text()
        assert app.window.model_status.state == "none"
    finally:
        app.stop()


def test_an_export_the_disk_refuses_is_explained(fake_app, tmp_path):
    fake_app.send("Say yes.")
    fake_app.wait_reply()
    blocked = tmp_path / "chat.md"
    blocked.mkdir()
    fake_app.controller.conversations.export_to(fake_app.conversation.id, blocked)
    assert "Could not save chat.md" in fake_app.window.notice.text()
    # A mistyped folder in the save dialog is said, not made.
    target = tmp_path / "out" / "chat.md"
    fake_app.controller.conversations.export_to(fake_app.conversation.id, target)
    assert "the folder" in fake_app.window.notice.text()
    assert "does not exist" in fake_app.window.notice.text()
    assert not target.parent.exists()
    target.parent.mkdir()
    fake_app.controller.conversations.export_to(fake_app.conversation.id, target)
    assert target.read_text().startswith("# Say yes.")
    assert fake_app.window.notice.text() == "Saved chat.md.", "the refusal no longer holds"


def test_a_reply_from_documents_shows_its_evidence_keeps_it_and_opens_its_page(qtbot, tmp_path):
    from engine.chat.stored import evidence_from_stored
    from tests.conftest import FakeApp

    guide = tmp_path / "harbour-guide.pdf"
    guide.write_bytes(b"%PDF-1.4")  # the fake library reads no file
    page = ("The harbour has twelve boats. The keeper of the lighthouse is <Marta> & co.\n"
            "The lamp turns twice a minute.")  # fmt: skip
    libraries = FakeLibraryClient(pages={"harbour-guide.pdf": page})
    engine = FakeEngine(ready=False, reply="The keeper is Marta [1].")
    app = FakeApp(qtbot, engine, libraries).start()
    try:
        window = app.window
        window.filesDropped.emit((str(guide),))
        app.wait_indexed(guide)
        app.send("Who is the keeper of the lighthouse?")
        app.wait_reply()
        searches = [c for c in libraries.calls if type(c).__name__ == "Search"]
        assert searches and not searches[-1].rerank  # off unless the person turns it on
        reply = window.chat.last()
        [item] = reply.evidence.evidence()
        assert (item.file, item.page, item.source) == (str(guide), 1, 1)
        assert item.text == "The keeper of the lighthouse is <Marta> & co."
        [quote] = reply.evidence.quotes()
        # The document's own text is shown as text, the matched terms in bold.
        assert quote.text() == (
            "“The <b>keeper</b> of the <b>lighthouse</b> is &lt;<b>Marta</b>&gt; &amp; co.”"
        )
        qtbot.wait_until(lambda: quote.isVisible() and reply.evidence.isVisible())
        [button] = reply.evidence.buttons()
        assert button.text() == "[1]  harbour-guide.pdf  ·  page 1"

        # Saved with the reply: opening the chat again shows the same evidence.
        assert evidence_from_stored(app.stored_messages()[-1].sources) == (item,)
        chat = app.conversation.id
        qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        assert window.chat.messages() == []
        app.controller.current.open(chat)
        again = window.chat.last()
        assert again.evidence.evidence() == (item,)
        assert again.evidence.quotes()[0].text() == quote.text()

        # Its file and page opens the page with the evidence sentence as the passage.
        again.evidence.buttons()[0].click()
        viewer = app.controller.documents.viewer
        qtbot.wait_until(lambda: viewer.stack.currentWidget() is viewer.page_scroll,
                         timeout=10000)  # fmt: skip
        assert viewer.page == 1 and viewer.page_view.highlights
        render = [c for c in libraries.calls if type(c).__name__ == "RenderPage"][-1]
        assert (render.path, render.page, render.passage) == (str(guide), 1, item.text)

        # With "Rerank excerpts" on, the next question's search asks for reranking.
        app.settings.set("chat.rerank_sources", True)
        app.send("How often does the lamp turn?")
        app.wait_reply()
        assert [c for c in libraries.calls if type(c).__name__ == "Search"][-1].rerank
    finally:
        app.stop()


def test_a_rerank_is_stopped_by_stop_and_one_that_cannot_happen_is_said(qtbot, tmp_path):
    from tests.conftest import FakeApp

    guide = tmp_path / "harbour-guide.pdf"
    guide.write_bytes(b"%PDF-1.4")
    libraries = FakeLibraryClient()
    engine = FakeEngine(ready=False, reply="Twice a minute [1].")
    app = FakeApp(qtbot, engine, libraries).start()
    try:
        window = app.window
        app.settings.set("chat.rerank_sources", True)
        window.filesDropped.emit((str(guide),))
        app.wait_indexed(guide)
        # Stop while the excerpts are being reranked: the reply ends there, nothing is written.
        libraries.hold_searches = True
        app.send("How often does the lamp turn?")
        assert libraries.searching.wait(10)
        # The seconds a rerank takes say what they are spent on.
        qtbot.wait_until(lambda: window.chat.last().stats_label.text()
                         == "Searching and reranking your documents…")  # fmt: skip
        assert window.gauges.speed.detail.text() == "reranking documents"
        window.activateWindow()
        qtbot.wait_until(window.isActiveWindow)
        stop = window.composer.send_button
        qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
        app.wait_reply()
        # The Stop button, disabled under the pointer, leaves the focus where typing goes on.
        qtbot.wait_until(lambda: window.composer.edit.hasFocus())
        stored = app.stored_messages()[-1]
        assert GenerationStats.from_dict(stored.stats).stop_reason == "cancelled"
        assert engine.turns == []

        # A reranking model that cannot load: the reply comes from the search's order, and the
        # person is told why the setting did nothing.
        libraries.hold_searches = False
        libraries.rerank_error = "The reranking model could not be loaded: not a GGUF file."
        app.send("How often does the lamp turn?")
        app.wait_reply()
        assert app.window.chat.last().text() == "Twice a minute [1]."
        assert window.gauges.speed.detail.text().startswith("first token")
        qtbot.wait_until(lambda: "reranking model could not be loaded" in window.notice.text())
        assert "Settings" in window.notice.text()
    finally:
        app.stop()


def test_a_reply_without_documents_shows_no_evidence(fake_app):
    fake_app.send("Name a colour.")
    fake_app.wait_reply()
    reply = fake_app.window.chat.last()
    assert reply.evidence.evidence() == () and reply.evidence.isHidden()


def test_a_document_taken_out_because_its_file_is_gone_is_named(fake_app):
    from engine.library.types import INDEXED, REMOVED, FileOutcome, IndexReport

    report = IndexReport(
        "chat-1",
        [
            FileOutcome("/docs/manual.pdf", REMOVED, "the file is gone"),
            FileOutcome("/docs/notes.txt", INDEXED, pages=1, chunks=1),
        ],
    )
    fake_app.controller.documents.on_index_finished("chat-1", report)
    notice = fake_app.window.notice.text()
    assert "1 indexed, 1 removed" in notice
    assert "manual.pdf is no longer where it was" in notice and "drop a moved file" in notice


def test_a_reply_never_written_says_so_after_a_restart(qtbot):
    """A reply whose row was made but whose text never reached the disk (Hearth closed on a
    full disk) shows why it is empty, not a blank card."""
    from app.chat_controller import NOT_SAVED
    from app.paths import app_paths
    from engine.chat_store import ChatStore
    from tests.conftest import FakeApp

    store = ChatStore(app_paths().ensure().chats_db)
    try:
        chat = store.create_conversation("Count").id
        store.add_message(chat, "user", "Count.")
        store.add_message(chat, "assistant", "")
    finally:
        store.close()
    app = FakeApp(qtbot, FakeEngine(ready=False), FakeLibraryClient()).start()
    try:
        reply = app.window.chat.last()
        assert reply.text() == ""
        assert "failed" in reply.stats_label.text() and NOT_SAVED in reply.stats_label.toolTip()
    finally:
        app.stop()


def test_a_chat_title_that_looks_like_markup_shows_letter_for_letter(fake_app):
    """Titles, names and excerpts are text from outside: Qt must not read them as HTML, in a
    label or in a tooltip."""
    from PySide6.QtGui import Qt as GuiQt
    from PySide6.QtGui import QTextDocument

    def as_shown(tip: str) -> str:
        shown = QTextDocument()
        if GuiQt.mightBeRichText(tip):
            shown.setHtml(tip)
        else:
            shown.setPlainText(tip)
        return shown.toPlainText()

    window = fake_app.window
    fake_app.send("Tell me about otters.")
    fake_app.wait_reply()
    title = "if a<b and c>d then <i>done</i> & more"
    window.conversations.renameRequested.emit(fake_app.conversation.id, title)
    assert window.title.textFormat() == Qt.TextFormat.PlainText
    assert as_shown(window.title.toolTip()) == title
    assert as_shown(window.conversations.list.item(0).toolTip()) == title


def test_a_draft_in_the_message_box_is_back_after_a_restart(qtbot):
    """Typed and not sent: kept on disk a moment after typing stops, so not even a crash loses
    it; sent, it is no longer kept."""
    from app.draft import SAVE_AFTER_MS
    from app.paths import app_paths
    from tests.conftest import FakeApp

    app = FakeApp(qtbot, FakeEngine(), FakeLibraryClient()).start()
    try:
        app.window.composer.edit.insertPlainText("A long question I was still writing")
        qtbot.wait(SAVE_AFTER_MS + 500)
        kept = app_paths().draft_file
        assert kept.read_text(encoding="utf-8") == "A long question I was still writing"
    finally:
        app.stop()
    again = FakeApp(qtbot, FakeEngine(), FakeLibraryClient()).start()
    try:
        assert again.window.composer.text() == "A long question I was still writing"
        again.send(again.window.composer.text())
        again.wait_reply()
        qtbot.wait_until(lambda: not kept.exists(), timeout=SAVE_AFTER_MS + 3000)
    finally:
        again.stop()


def pasted(chars: int) -> str:
    """A pasted text of `chars` characters, in lines of words."""
    line = "The harbour pilot boards at the outer buoy and brings the ship in.\n"
    return (line * (chars // len(line) + 1))[:chars]


def test_a_message_too_long_for_the_window_is_refused_before_it_is_shown_or_saved(fake_app):
    """2,048 tokens, no token of the model reading more than 81 bytes: 400,000 characters cannot
    fit, and are refused at once, in the engine's words, drawn nowhere, saved nowhere, the
    text kept in the box (drawing and saving 2 MB held the window for a second)."""
    window = fake_app.window
    text = pasted(400_000)
    fake_app.send(text)
    assert window.notice.text().startswith(
        "Not sent: The system prompt and your message alone are at least 4,939 tokens; with 24 "
        "kept for the reply they do not fit the 2,048-token context window, whatever the "
        "overflow policy."
    )
    assert window.notice.text().endswith("Your message is back in the message box.")
    assert window.composer.text() == text
    assert window.chat.messages() == [] and fake_app.controller.chats.reply is None
    assert fake_app.conversation is None and fake_app.controller.store.conversations() == []
    assert fake_app.engine.turns == []
    assert window.composer.send_button.text() == "Send"


def test_a_long_message_that_may_fit_still_goes_to_the_engine(fake_app):
    """Short enough that the quick check cannot be sure (under 2,024 × 81 bytes): shown, saved
    and asked as before."""
    text = pasted(155_000)
    fake_app.send(text)
    fake_app.wait_reply()
    assert [(m.role, m.content) for m in fake_app.stored_messages()][0] == ("user", text)
    assert fake_app.window.chat.messages()[0].text() == text
    assert [turn.message for turn in fake_app.engine.turns] == [text]
    assert fake_app.window.composer.text() == ""
