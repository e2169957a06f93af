"""A dropped document that fits the chat's remaining budget goes into the prompt whole (and is still
indexed, so its pages can be cited); one that does not is searched. The choice survives a restart."""

from __future__ import annotations

import pytest

from tests.ui.conftest import drop_files

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow


def _wait_indexed(harness, qtbot, path, timeout=180000):
    panel = harness.window.documents
    qtbot.wait_until(lambda: panel.status_of(str(path)) == "indexed", timeout=timeout)
    qtbot.wait_until(lambda: not harness.controller.documents.indexing, timeout=timeout)


def _pinned_tokens_of_next_reply(harness, qtbot, question: str) -> int:
    """Send `question` and return the pinned-material tokens the model's prompt held."""
    usages: list = []
    harness.controller.model.contextUsed.connect(usages.append)
    harness.send(question)
    harness.wait_reply(180000)
    qtbot.wait_until(lambda: bool(usages), timeout=10000)
    harness.controller.model.contextUsed.disconnect(usages.append)
    return usages[-1].budget.pinned


def test_a_small_document_goes_in_whole_and_stays_after_a_restart(harness, qtbot, lighthouse_pdf):
    harness.start()
    window = harness.window
    drop_files(window, [lighthouse_pdf])
    panel = window.documents
    qtbot.wait_until(lambda: panel.placement_of(str(lighthouse_pdf)) != "", timeout=60000)
    assert panel.placement_of(str(lighthouse_pdf)) == "whole"
    assert "in the prompt whole" in window.notice.label.text()
    _wait_indexed(harness, qtbot, lighthouse_pdf)
    conversation = harness.conversation
    pinned = harness.store.pinned_documents(conversation.id)
    assert [doc.path for doc in pinned] == [str(lighthouse_pdf)]
    assert "Marta Quillfeather" in pinned[0].text and pinned[0].tokens > 50

    assert _pinned_tokens_of_next_reply(harness, qtbot, "Who keeps the lighthouse?") > 50
    assert window.chat.last().sources.sources(), "the file is indexed too, so pages are cited"

    harness.restart()
    harness.controller.current.open(conversation.id)
    panel = harness.window.documents
    qtbot.wait_until(lambda: panel.placement_of(str(lighthouse_pdf)) != "", timeout=60000)
    assert panel.placement_of(str(lighthouse_pdf)) == "whole"
    assert _pinned_tokens_of_next_reply(harness, qtbot, "When is the lamp lit?") > 50


def test_a_document_too_long_for_the_window_is_searched(app_window, qtbot, tmp_path):
    window = app_window.window
    long_text = tmp_path / "logbook.txt"
    entry = "Day {n}: the wind came from the north-west and the keeper trimmed the wick twice.\n"
    long_text.write_text("".join(entry.format(n=n) for n in range(400)))  # far over 2048 tokens
    # The placement notice can be replaced by the indexing summary within moments: record all.
    shown = []
    show_message = window.notice.show_message

    def record(text, *args, **kwargs):
        shown.append(text)
        return show_message(text, *args, **kwargs)

    window.notice.show_message = record
    drop_files(window, [long_text])
    panel = window.documents
    qtbot.wait_until(lambda: panel.placement_of(str(long_text)) != "", timeout=60000)
    assert panel.placement_of(str(long_text)) == "searched"
    qtbot.wait_until(lambda: any("searched" in text for text in shown), timeout=60000)
    _wait_indexed(app_window, qtbot, long_text)
    assert app_window.store.pinned_documents(app_window.conversation.id) == []
    assert _pinned_tokens_of_next_reply(app_window, qtbot, "Where did the wind come from?") == 0
    assert window.chat.last().sources.sources(), "its passages were searched"


def test_the_gauge_counts_a_whole_document_as_soon_as_it_is_placed(harness, qtbot, lighthouse_pdf):
    """Dropping a document into the prompt, or taking it out, shows on the context gauge at
    once, not at the next question."""
    harness.start()
    window = harness.window
    gauge = window.gauges.context
    qtbot.wait_until(lambda: gauge.budget is not None, timeout=60000)
    assert gauge.budget.pinned == 0
    drop_files(window, [lighthouse_pdf])
    qtbot.wait_until(lambda: gauge.budget.pinned > 50, timeout=60000)
    _wait_indexed(harness, qtbot, lighthouse_pdf)

    window.documents.removeRequested.emit((str(lighthouse_pdf),))
    qtbot.wait_until(lambda: gauge.budget.pinned == 0, timeout=60000)


def test_an_answer_from_outside_the_documents_says_so(app_window, qtbot, tmp_path):
    """In a chat with documents, a question they do not touch gets the model's own answer,
    with a word that it is not from the documents (`hearth ask` says "Not found" instead)."""
    from app.chat_controller import NOT_FROM_DOCUMENTS

    window = app_window.window
    log = tmp_path / "logbook.txt"
    entry = "Day {n}: the wind came from the north-west and the keeper trimmed the wick twice.\n"
    log.write_text("".join(entry.format(n=n) for n in range(400)))
    drop_files(window, [log])
    _wait_indexed(app_window, qtbot, log)
    app_window.send("Where did the wind come from on day 12?")
    app_window.wait_reply(180000)
    assert window.chat.last().sources.sources()
    assert NOT_FROM_DOCUMENTS not in window.notice.text()
    app_window.send("What is the capital of Australia?")
    app_window.wait_reply(180000)
    assert not window.chat.last().sources.sources()
    assert NOT_FROM_DOCUMENTS in window.notice.text()
