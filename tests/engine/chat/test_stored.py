"""A reply's sources and the evidence shown with them survive the chat store, and chats written
before evidence was kept open as they were."""

from __future__ import annotations

import json

from engine.chat.stored import evidence_from_stored, sources_from_stored, sources_to_stored
from engine.chat_store import ChatStore
from engine.library.answer import Source
from engine.library.types import Evidence

SOURCES = (
    Source(1, "/docs/market.pdf", 4, "The market opens on Saturday.", location=None),
    Source(2, "/docs/budget.xlsx", None, "Row 7: boats 12.", location="sheet Budget, row 7"),
)
EVIDENCE = (
    Evidence(
        "/docs/budget.xlsx",
        None,
        "Row 7: boats 12.",
        [(7, 12)],
        "sheet Budget, row 7",
        2,
        char_start=3,
        char_end=19,
    ),  # fmt: skip
    Evidence(
        "/docs/market.pdf",
        4,
        "The market opens on Saturday.",
        [(4, 10), (20, 28)],
        None,
        1,
        char_start=0,
        char_end=29,
    ),  # fmt: skip
)


def test_evidence_is_kept_with_its_source_and_read_back_in_its_order(tmp_path):
    store = ChatStore(tmp_path / "chats.db")
    conversation = store.create_conversation("Boats")
    message = store.add_message(conversation.id, "assistant", "Twelve [2].")
    store.update_message(message.id, "Twelve [2].", None, sources_to_stored(SOURCES, EVIDENCE))
    store.close()

    [stored] = ChatStore(tmp_path / "chats.db").messages(conversation.id)
    assert sources_from_stored(stored.sources) == SOURCES
    assert evidence_from_stored(stored.sources) == EVIDENCE
    assert evidence_from_stored(stored.sources)[0].marked() == "Row 7: **boats** 12."


def test_sources_stored_before_evidence_was_kept_have_none():
    old = [{"number": 1, "path": "/docs/a.pdf", "page": 2, "excerpt": "Text.", "score": 0.5}]
    assert sources_from_stored(old)[0].page == 2
    assert evidence_from_stored(old) == ()
    # Rows a version of tomorrow may write differently are read as far as they make sense.
    odd = [dict(old[0], evidence=[{"text": "Text.", "marks": [[0, 99], [0, 4], "x"]}, "x", {}])]
    [item] = evidence_from_stored(json.loads(json.dumps(odd)))
    assert (item.text, item.marks, item.page, item.source) == ("Text.", [(0, 4)], 2, 1)
