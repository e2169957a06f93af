"""A chat's title in its export: the heading carries it whole, the offered file name is one every
system takes."""

from __future__ import annotations

import pytest

from engine.chat_export import conversation_markdown, export_file_name
from engine.chat_store import ChatStore
from engine.chat_title import file_name_for, title_from

LONG_QUESTION = (
    "Write a very long story about a dragon who learns to bake bread, at least 2000 words."
)


@pytest.fixture
def store(tmp_path):
    store = ChatStore(tmp_path / "chats.sqlite3")
    yield store
    store.close()


def chat_titled_from(store: ChatStore, question: str):
    """A chat as Hearth makes one: titled from its first question, which it then holds."""
    chat = store.create_conversation(title_from(question))
    store.add_message(chat.id, "user", question)
    store.add_message(chat.id, "assistant", "Once upon a time…")
    return store.conversation(chat.id)


def test_a_title_cut_from_the_first_question_is_exported_whole(store):
    chat = chat_titled_from(store, LONG_QUESTION)
    assert chat.title == "Write a very long story about a…"  # as the sidebar shows it
    messages = store.messages(chat.id)
    text = conversation_markdown(chat, messages)
    assert text.startswith(f"# {LONG_QUESTION}\n")
    name = export_file_name(chat, messages)
    assert name == "Write a very long story about a dragon who learns to bake.md"
    assert "…" not in name and len(name) <= 60 + len(".md")


def test_a_title_of_the_persons_own_is_kept_as_it_is(store):
    chat = chat_titled_from(store, LONG_QUESTION)
    store.rename(chat.id, "Dragons… and bread")
    chat = store.conversation(chat.id)
    messages = store.messages(chat.id)
    assert conversation_markdown(chat, messages).startswith("# Dragons… and bread\n")
    assert export_file_name(chat, messages) == "Dragons and bread.md"


def test_a_whole_first_question_of_many_lines_makes_a_heading_of_one_line(store):
    question = "Summarise these notes:\n\n" + "the harbour keeper counts boats every day " * 20
    chat = chat_titled_from(store, question)
    heading = conversation_markdown(chat, store.messages(chat.id)).splitlines()[0]
    assert heading.startswith("# Summarise these notes: the harbour keeper counts boats")
    assert len(heading) <= 2 + 200 + 1 and heading.endswith(" the…")


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ('What is 10/3? "Exactly", <please>', "What is 10-3 Exactly, please.md"),
        ("C:\\temp\\notes | todo *", "C-temp-notes - todo.md"),
        ("tab\tand\nnew line\x00end", "tab and new line end.md"),
        ("...hidden", "hidden.md"),
        ("Ends with dots...", "Ends with dots.md"),
        ("???", "chat.md"),
        ("", "chat.md"),
        ("…", "chat.md"),
        ("CON", "CON chat.md"),
        ("x" * 100, "x" * 60 + ".md"),
        ("Über die Brücke 🌉 nach Köln", "Über die Brücke 🌉 nach Köln.md"),
    ],
)
def test_a_file_name_holds_nothing_a_system_refuses(title, name):
    assert file_name_for(title) == name
