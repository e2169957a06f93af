"""A chat's library written by an older Hearth is upgraded when the chat opens, and the files
today's extraction reads better are read again on their own, with a word to the person."""

from __future__ import annotations

import sqlite3

import pytest

from app.paths import app_paths
from engine.chat_store import ChatStore
from engine.library import Library
from tests.engine.library.test_running_headers import BOOK_TITLE, write_book

pytestmark = pytest.mark.slow


def chunk_texts(database) -> list[str]:
    conn = sqlite3.connect(database)
    try:
        return [row[0] for row in conn.execute("SELECT text FROM chunks")]
    finally:
        conn.close()


def test_an_upgraded_chat_library_reads_its_pdf_again_on_its_own(harness, qtbot, tmp_path):
    paths = app_paths().ensure()
    store = ChatStore(paths.chats_db)
    try:
        conversation = store.create_conversation("Pumps")
        store.add_message(conversation.id, "user", "What does the manual say about pumps?")
    finally:
        store.close()
    manual = tmp_path / "manual.pdf"
    write_book(manual, 6)
    with Library.open(paths.libraries_dir, conversation.library_name) as library:
        assert library.index([manual]).indexed == 1
    database = paths.libraries_dir / conversation.library_name / "library.sqlite3"
    conn = sqlite3.connect(database)
    with conn:  # as the previous release left it: the chunks hold the running header
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        conn.execute("UPDATE chunks SET text = ? || char(10) || text", (BOOK_TITLE,))
    conn.close()
    assert all(BOOK_TITLE in text for text in chunk_texts(database))

    harness.start()
    window = harness.window
    assert harness.conversation.id == conversation.id
    qtbot.wait_until(lambda: "Reading 1 document again" in window.notice.label.text(),
                     timeout=60000)  # fmt: skip
    qtbot.wait_until(lambda: "1 indexed" in window.notice.label.text(), timeout=120000)
    texts = chunk_texts(database)
    assert texts and not any(BOOK_TITLE in text for text in texts)
    assert window.documents.status_of(str(manual)) == "indexed"

    harness.restart()  # read once: nothing more to do
    listed = harness.window.documents
    qtbot.wait_until(lambda: listed.status_of(str(manual)) == "indexed", timeout=60000)
    assert "again" not in harness.window.notice.label.text()
    assert not harness.controller.documents.indexing
