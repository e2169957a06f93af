"""A slide is cited as a slide and a sheet by its rows in the terminal and in an exported chat,
as the window's evidence and `--json` name them (`engine.library.types.place_label`)."""

from __future__ import annotations

import pytest

from app.cli import main
from tests.engine.library.formats import cite_deck_and_sheet, write_pptx, write_xlsx

# `hearth index` and `search` run the real embedding model.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_embedding_model")]


@pytest.fixture
def deck_and_sheet(tmp_path):
    return write_pptx(tmp_path / "review.pptx"), write_xlsx(tmp_path / "plant.xlsx")


def run(capsys, *args):
    code = main(list(args))
    out, _err = capsys.readouterr()
    return code, out


def test_search_names_a_slide_and_a_sheets_rows_as_a_citation_does(capsys, deck_and_sheet):
    deck, sheet = deck_and_sheet
    code, _ = run(capsys, "index", str(deck), str(sheet))
    assert code == 0

    _, out = run(capsys, "search", "GX-17", "--file", str(deck), "--k", "1")
    first = out.splitlines()[0]
    assert first.startswith("1. review.pptx, slide 2 - Spare parts  (score "), first
    assert "page" not in first

    _, out = run(capsys, "search", "cooling tower shift lead", "--file", str(sheet), "--k", "1")
    first = out.splitlines()[0]
    # The sheet's name is its heading too: said once, in the place.
    assert first.startswith("1. plant.xlsx, sheet Staff, rows 1-2  (score "), first


def test_an_exported_chat_names_a_slide_and_a_sheets_rows(tmp_path, shared_embedder):
    from engine.chat.stored import sources_to_stored
    from engine.chat_export import conversation_markdown
    from engine.chat_store import Conversation, StoredMessage
    from engine.library.answer import plan_answer

    hits = cite_deck_and_sheet(tmp_path, shared_embedder)
    plan = plan_answer("Where are the parts and who leads the shift?", hits)
    assert [source.location for source in plan.sources] == ["slide 2", "sheet Staff, rows 1-2"]
    conversation = Conversation(id=1, title="Parts", created_at=0.0, updated_at=0.0)
    reply = StoredMessage(id=2, conversation_id=1, role="assistant", created_at=0.0,
                          content="Gasket GX-17 [1]; Marta [2].",
                          sources=sources_to_stored(plan.sources))  # fmt: skip
    text = conversation_markdown(conversation, [reply])
    assert "1. review.pptx, slide 2\n" in text
    assert "2. plant.xlsx, sheet Staff, rows 1-2\n" in text
    assert "page" not in text
