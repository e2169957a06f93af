"""Dropped documents, whole or searched, judged without a model: in order, each against what the
ones before it took, and every unreadable case only means "search it"."""

from __future__ import annotations

from pathlib import Path

from engine.chat.answer import WholeDocument
from engine.chat.placement import DocumentsToPlace, place_documents
from tests.fakes import FakeEngine

TEXTS = {
    "/docs/short.txt": "word " * 300,
    "/docs/second.txt": "word " * 800,
    "/docs/long.txt": "word " * 5000,
    "/docs/scanned.pdf": "  \n ",
}


def read(path: Path, max_chars: int) -> str | None:
    text = TEXTS.get(str(path))
    if text is None:
        raise OSError("no such file")
    return None if len(text) > max_chars else text


def test_each_file_is_judged_against_the_ones_before_it():
    engine = FakeEngine(n_ctx=2048)  # room for about 1,000 words next to a 512-token reply
    request = DocumentsToPlace(7, ("/docs/short.txt", "/docs/second.txt", "/docs/long.txt"))
    placed = list(place_documents(engine, request, read))
    assert [(p.path, p.mode) for p in placed] == [
        ("/docs/short.txt", "whole"),
        ("/docs/second.txt", "retrieval"),  # would fit alone, not after short.txt
        ("/docs/long.txt", "retrieval"),
    ]
    assert placed[0].tokens == 300 and placed[0].text == TEXTS["/docs/short.txt"]
    assert "can spare" in placed[1].reason and placed[1].text == ""
    assert all(p.conversation_id == 7 for p in placed)


def test_a_document_already_pinned_is_not_counted_twice():
    engine = FakeEngine(n_ctx=2048)
    pinned = (WholeDocument("/docs/second.txt", TEXTS["/docs/second.txt"]),)
    request = DocumentsToPlace(1, ("/docs/second.txt",), pinned=pinned)
    [placed] = place_documents(engine, request, read)
    assert placed.whole


def test_unreadable_files_are_searched_and_the_indexer_explains_them():
    engine = FakeEngine()
    request = DocumentsToPlace(1, ("/docs/scanned.pdf", "/docs/missing.pdf"))
    placed = list(place_documents(engine, request, read))
    assert [(p.mode, p.unreadable) for p in placed] == [("retrieval", True), ("retrieval", True)]


def test_without_a_model_everything_is_searched_and_it_says_why():
    request = DocumentsToPlace(1, ("/docs/short.txt",))
    [placed] = place_documents(FakeEngine(ready=False), request, read)
    assert placed.mode == "retrieval" and "No model is loaded" in placed.reason
