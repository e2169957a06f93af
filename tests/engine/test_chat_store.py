"""The chat store: conversations and messages survive reopening, deletion can be undone, search
finds titles and text, and a damaged file gets a clear error."""

from __future__ import annotations

import sqlite3

import pytest

from engine.chat_export import conversation_markdown
from engine.chat_store import ChatStore, ChatStoreError
from tests.older_stores import as_version


@pytest.fixture
def store(tmp_path):
    store = ChatStore(tmp_path / "chats.sqlite3")
    yield store
    store.close()


def test_messages_with_stats_and_sources_survive_reopening(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    chat = store.create_conversation("Trip")
    store.add_message(chat.id, "user", "Where is the bridge? 🌉")
    sources = [{"number": 1, "path": "/docs/map.pdf", "page": 3, "excerpt": "The bridge..."}]
    reply = store.add_message(chat.id, "assistant", "", sources=sources)
    store.update_message(reply.id, "By the river [1].", {"generated_tokens": 5}, None)
    store.close()

    reopened = ChatStore(path)
    messages = reopened.messages(chat.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "Where is the bridge? 🌉"
    assert messages[1].content == "By the river [1]."
    assert messages[1].stats == {"generated_tokens": 5}
    assert messages[1].sources == sources  # kept: update passed None for sources
    assert reopened.conversation(chat.id).title == "Trip"
    assert reopened._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()


def test_newest_conversation_first_and_rename(store):
    first = store.create_conversation("First")
    second = store.create_conversation("Second")
    store.add_message(first.id, "user", "bump")
    assert [c.id for c in store.conversations()] == [first.id, second.id]
    store.rename(second.id, "  Renamed   chat ")
    assert store.conversation(second.id).title == "Renamed chat"
    store.rename(second.id, "   ")
    assert store.conversation(second.id).title == "New chat"


def test_delete_hides_until_purged_and_undelete_restores(store):
    chat = store.create_conversation("Keep me")
    store.add_message(chat.id, "user", "hello")
    store.delete(chat.id)
    assert store.conversations() == []
    assert store.conversation(chat.id) is None
    store.undelete(chat.id)
    assert [c.id for c in store.conversations()] == [chat.id]
    store.delete(chat.id)
    assert store.purge_deleted() == [chat.id]
    store.undelete(chat.id)
    assert store.conversations() == []
    assert store.messages(chat.id) == []  # messages went with it


def test_search_by_title_and_message_text(store):
    cooking = store.create_conversation("Cooking")
    store.add_message(cooking.id, "user", "How long to boil 100% of the eggs?")
    other = store.create_conversation("Taxes")
    store.add_message(other.id, "user", "deductions")
    assert [c.id for c in store.search("cook")] == [cooking.id]
    assert [c.id for c in store.search("EGGS")] == [cooking.id]
    assert [c.id for c in store.search("100%")] == [cooking.id]
    assert store.search("o_l") == []  # "_" is searched for literally, not as "boil"
    assert len(store.search("")) == 2


def test_delete_messages_from_drops_the_tail(store):
    chat = store.create_conversation()
    ids = [store.add_message(chat.id, role, text).id for role, text in
           [("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")]]  # fmt: skip
    store.delete_messages_from(chat.id, ids[2])
    assert [m.content for m in store.messages(chat.id)] == ["a", "b"]


def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path):
    path = tmp_path / "chats.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ChatStoreError, match="cannot be used.*not a database"):
        ChatStore(path)


def test_a_write_from_a_killed_process_is_either_there_or_not(tmp_path):
    """Each add is one transaction: a reader in another connection sees whole messages only."""
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    chat = store.create_conversation()
    store.add_message(chat.id, "user", "saved")
    other = sqlite3.connect(path)
    assert other.execute("SELECT content FROM messages").fetchall() == [("saved",)]
    other.close()
    store.close()


def test_markdown_export_lists_sources(store):
    chat = store.create_conversation("Manual")
    store.add_message(chat.id, "user", "What is set?")
    store.add_message(
        chat.id, "assistant", "It sets options [1].",
        sources=[{"number": 1, "path": "/d/gnuplot.pdf", "page": 12, "excerpt": "set  options"}],
    )  # fmt: skip
    text = conversation_markdown(store.conversation(chat.id), store.messages(chat.id))
    assert text.startswith("# Manual\n")
    assert "## You\n\nWhat is set?" in text
    assert "1. gnuplot.pdf, page 12" in text
    assert "> set options" in text


def test_whole_documents_are_kept_per_conversation_and_survive_reopening(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    first = store.create_conversation("Harbour")
    other = store.create_conversation("Other")
    store.pin_document(first.id, "/docs/guide.pdf", "The keeper is Marta.", 7)
    store.pin_document(first.id, "/docs/notes.txt", "Tides twice a day.", 5)
    store.pin_document(first.id, "/docs/guide.pdf", "The keeper is Marta Q.", 8)  # dropped again
    store.close()

    store = ChatStore(path)
    pinned = store.pinned_documents(first.id)
    assert [(d.path, d.text, d.tokens) for d in pinned] == [
        ("/docs/notes.txt", "Tides twice a day.", 5),
        ("/docs/guide.pdf", "The keeper is Marta Q.", 8),
    ]
    assert store.pinned_documents(other.id) == []
    store.unpin_document(first.id, "/docs/notes.txt")
    assert [d.path for d in store.pinned_documents(first.id)] == ["/docs/guide.pdf"]
    store.delete(first.id)
    store.purge_deleted()
    assert store.pinned_documents(first.id) == []


def test_a_question_is_sent_as_the_model_read_it_and_shown_as_typed(tmp_path):
    store = ChatStore(tmp_path / "chats.sqlite3")
    conversation = store.create_conversation("Tides")
    asked = store.add_message(conversation.id, "user", "When is high tide?")
    store.add_message(conversation.id, "assistant", "Twice a day [1].")
    read = "Excerpts ...\n\n[1] (tides.txt)\nHigh tide comes twice a day.\n\nQuestion: When is high tide?"
    store.set_prompt(asked.id, read)

    question, reply = store.messages(conversation.id)
    assert question.content == "When is high tide?"  # what the window shows and searches
    # The words as typed go along, for when the excerpts must leave the context window.
    assert question.as_prompt() == {"role": "user", "content": read, "typed": "When is high tide?"}
    assert reply.as_prompt() == {"role": "assistant", "content": "Twice a day [1]."}
    store.close()
    assert ChatStore(tmp_path / "chats.sqlite3").messages(conversation.id)[0].prompt == read


def test_a_version_2_database_keeps_its_chats_and_sends_them_as_typed(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    conversation = store.create_conversation("Old chat")
    store.add_message(conversation.id, "user", "Hello")
    store.pin_document(conversation.id, "/a.txt", "text", 1)
    store.close()
    as_version(path, 2)

    store = ChatStore(path)
    [message] = store.messages(conversation.id)
    assert message.as_prompt() == {"role": "user", "content": "Hello"}
    assert len(store.pinned_documents(conversation.id)) == 1
    store.set_prompt(message.id, "Excerpts... Question: Hello")
    assert store.messages(conversation.id)[0].prompt == "Excerpts... Question: Hello"


def test_a_version_1_database_gains_whole_documents_and_keeps_its_chats(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    conversation = store.create_conversation("Old chat")
    store.add_message(conversation.id, "user", "Hello")
    store.close()
    as_version(path, 1)

    store = ChatStore(path)
    assert [m.content for m in store.messages(conversation.id)] == ["Hello"]
    store.pin_document(conversation.id, "/a.txt", "text", 1)
    assert len(store.pinned_documents(conversation.id)) == 1


def test_a_reply_is_in_progress_from_its_start_until_stats_end_it(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    chat = store.create_conversation("Story")
    store.add_message(chat.id, "user", "Tell me a story.")
    reply = store.add_message(chat.id, "assistant", "", in_progress=True)
    store.update_message(reply.id, "Once")  # text alone: still being written
    store.update_message(reply.id, "Once upon", {"generated_tokens": 2}, in_progress=True)
    store.close()
    # Killed here: what it wrote is all there, and it says the reply never ended.
    store = ChatStore(path)
    [_question, cut] = store.messages(chat.id)
    assert (cut.content, cut.in_progress, cut.stats) == ("Once upon", True, {"generated_tokens": 2})
    store.update_message(reply.id, "Once upon a time.", {"generated_tokens": 4})
    [_question, done] = store.messages(chat.id)
    assert (done.content, done.in_progress) == ("Once upon a time.", False)
    store.close()


def test_a_version_3_database_marks_the_replies_that_never_ended(tmp_path):
    """Every earlier version wrote a reply's stats when it ended, so the replies it left without
    stats are the ones a crash cut off (or whose row was made and then nothing); replies that
    ended, and questions, are not marked."""
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    chat = store.create_conversation("Old chat")
    store.add_message(chat.id, "user", "Tell me a story.")
    store.add_message(chat.id, "assistant", "A story.", {"generated_tokens": 3})
    store.add_message(chat.id, "user", "Another.")
    store.add_message(chat.id, "assistant", "Stopped by me.", {"stop_reason": "cancelled"})
    store.add_message(chat.id, "user", "A long one.")
    store.add_message(chat.id, "assistant", "…learn how to bake bread from Tho")
    store.add_message(chat.id, "assistant", "")
    store.close()
    as_version(path, 3)

    store = ChatStore(path)
    marked = [(m.content, m.in_progress) for m in store.messages(chat.id)]
    assert marked == [("Tell me a story.", False), ("A story.", False), ("Another.", False),
                      ("Stopped by me.", False), ("A long one.", False),
                      ("…learn how to bake bread from Tho", True), ("", True)]  # fmt: skip
    store.close()


def test_a_chat_id_is_never_given_twice(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    first = store.create_conversation("First")
    store.delete(first.id)
    assert store.conversation_ids() == {first.id}  # deleted, not yet purged
    store.close()
    store = ChatStore(path)
    assert store.purge_deleted() == [first.id]
    assert store.conversation_ids() == set()
    second = store.create_conversation("Second")
    assert second.id > first.id
    # Ids used by a history this file never saw (its chats' libraries are still on disk).
    store.skip_ids_through(7)
    store.skip_ids_through(3)  # never back down
    assert store.create_conversation("Third").id == 8
    store.close()


def test_a_new_history_skips_ids_used_before_it(tmp_path):
    store = ChatStore(tmp_path / "chats.sqlite3")
    store.skip_ids_through(4)  # no chat made yet: SQLite has no counter for it so far
    assert store.create_conversation().id == 5
    store.close()


def test_markdown_export_says_which_replies_were_cut_short(store):
    chat = store.create_conversation("Stories")
    store.add_message(chat.id, "user", "A long story.")
    cut = store.add_message(chat.id, "assistant", "", in_progress=True)
    store.update_message(cut.id, "…learn how to bake bread from Tho", {"generated_tokens": 9},
                         in_progress=True)  # fmt: skip
    store.add_message(chat.id, "user", "A short one.")
    store.add_message(chat.id, "assistant", "The end.", {"stop_reason": "stop"})
    store.add_message(chat.id, "user", "Another.")
    store.add_message(chat.id, "assistant", "Once", {"stop_reason": "cancelled"})
    text = conversation_markdown(chat, store.messages(chat.id))
    assert (
        "…learn how to bake bread from Tho\n\n"
        "_(Cut short: Hearth stopped while this reply was being written.)_"
    ) in text
    assert "The end.\n\n## You" in text
    assert "Once\n\n_(Cut short: the reply was stopped before its end.)_" in text
