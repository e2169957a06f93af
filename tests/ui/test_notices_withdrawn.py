"""An error notice goes once the same kind of thing works again: a message sent, a chat saved,
a folder watched, a file indexed. Left up, it would say something that no longer holds."""

from __future__ import annotations

from engine.chat_store import ChatStoreError
from engine.errors import HearthError
from engine.storage import StorageError
from tests.ui.conftest import drop_files

FULL = "Could not save the chat: the disk is full. Free some space, then try again."


def test_not_sent_goes_once_the_next_message_is_sent(fake_app, qtbot):
    window = fake_app.window
    fake_app.engine.plan_error = HearthError("Your message is too long for the context window.")
    fake_app.send("A very long question.")
    qtbot.wait_until(lambda: "Not sent" in window.notice.text(), timeout=10000)
    fake_app.engine.plan_error = None
    fake_app.engine.hold_after = 1  # the next reply is still being written when looked at
    fake_app.send("A short question.")
    assert fake_app.controller.chats.reply is not None  # it is being read now
    assert "Not sent" not in window.notice.text()
    fake_app.engine.resume.set()
    fake_app.wait_reply()


def test_a_chat_not_saved_goes_once_it_is_saved(fake_app, qtbot, monkeypatch):
    window, store = fake_app.window, fake_app.controller.store
    real_add = store.add_message

    def full_disk(*_args, **_kwargs):
        raise ChatStoreError(FULL, kind="full")

    monkeypatch.setattr(store, "add_message", full_disk)
    fake_app.send("Written on a full disk.")
    assert "Could not save the chat" in window.notice.text()
    assert window.composer.edit.toPlainText() == "Written on a full disk."
    monkeypatch.setattr(store, "add_message", real_add)  # space freed
    fake_app.send("Written on a full disk.")
    fake_app.wait_reply()
    assert [m.content for m in fake_app.stored_messages()][0] == "Written on a full disk."
    assert "Could not save the chat" not in window.notice.text()


def test_a_failure_to_watch_goes_once_the_folder_is_watched(fake_app, qtbot, tmp_path,
                                                            monkeypatch):  # fmt: skip
    from app.library.protocol import WatchFolder

    window, panel = fake_app.window, fake_app.window.documents
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boats.txt").write_text("Boats leave before dawn.")
    libraries = fake_app.libraries
    real_call = libraries.call
    refused: list[object] = []

    def refuse_watch_once(request, on_event=None, cancel=None):
        if isinstance(request, WatchFolder) and not refused:
            refused.append(request)
            raise HearthError("The library file is damaged.")
        return real_call(request, on_event=on_event, cancel=cancel)

    monkeypatch.setattr(libraries, "call", refuse_watch_once)
    drop_files(window, [folder])
    qtbot.wait_until(lambda: "cannot be watched" in window.notice.text(), timeout=30000)
    assert panel.watched.folders() == []
    fake_app.controller.index.watch(fake_app.conversation.library_name, str(folder))
    qtbot.wait_until(lambda: panel.watched.folders() == [str(folder)], timeout=30000)
    assert "cannot be watched" not in window.notice.text()


def test_an_indexing_failure_goes_once_a_file_is_indexed(fake_app, qtbot, tmp_path, monkeypatch):
    from app.library.protocol import IndexFiles

    window, panel = fake_app.window, fake_app.window.documents
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("Written first.")
    second.write_text("Written second.")
    libraries = fake_app.libraries
    real_call = libraries.call
    full = StorageError("Could not index first.txt: the disk is full.", "Free some space.",
                        "full", str(tmp_path))  # fmt: skip

    refused: list[object] = []

    def full_disk_once(request, on_event=None, cancel=None):
        if isinstance(request, IndexFiles) and not refused:
            refused.append(request)
            raise full
        return real_call(request, on_event=on_event, cancel=cancel)

    monkeypatch.setattr(libraries, "call", full_disk_once)
    drop_files(window, [first])
    qtbot.wait_until(lambda: "the disk is full" in window.notice.text(), timeout=30000)
    qtbot.wait(300)  # the first drop's other news is in (its file went into the prompt whole)
    assert "the disk is full" in window.notice.text()
    window.notice.show_message("broken.pdf could not be read.", "error")  # about something else
    # What the notice says as the file is indexed (this runs after the controller's slot), before
    # the run's summary comes to stand under it.
    shown_when_indexed = []
    fake_app.controller.index.fileProgress.connect(
        lambda progress: (
            progress.status == "indexed" and shown_when_indexed.append(window.notice.text())
        )
    )
    drop_files(window, [second])
    qtbot.wait_until(lambda: panel.status_of(str(second)) == "indexed", timeout=30000)
    assert shown_when_indexed and "the disk is full" not in shown_when_indexed[0]
    assert "broken.pdf could not be read." in shown_when_indexed[0]
