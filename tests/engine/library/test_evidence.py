"""Evidence a person can check, and citations that link only to real sources."""

from __future__ import annotations

from engine.library.answer import (
    AnswerResult,
    Source,
    citation_links,
    plan_answer,
)
from engine.library.evidence import select_evidence, sentence_spans
from engine.library.types import Hit


def _flat(text: str) -> str:
    return " ".join(text.split())


def _hit(text: str, page: int, file: str = "/docs/guide.pdf") -> Hit:
    return Hit(chunk_id=page, file=file, page=page, text=text, score=1.0, similarity=0.5)


def test_evidence_is_the_sentence_that_holds_the_answer_with_terms_marked():
    hits = [
        _hit(
            "Wi-Fi cards need firmware. If your wireless card has no Linux driver, use "
            "ndiswrapper with the Windows driver. Printers are set up with CUPS.",
            28,
        ),
        _hit("Sound cards work out of the box. The mixer is alsamixer.", 29),
    ]
    (first, *_rest) = select_evidence("My wireless card has no driver, what now?", hits)
    assert (first.file, first.page, first.source) == ("/docs/guide.pdf", 28, 1)
    assert "ndiswrapper" in first.text and "Printers" not in first.text
    marked = [first.text[a:b].lower() for a, b in first.marks]
    assert "wireless" in marked and "driver" in marked
    assert "**wireless**" in first.marked()
    assert first.to_dict()["location"] == "page 28"


def test_sentences_split_on_stops_bullets_and_blank_lines():
    text = "First one. Second one!\n\nThird part\n• bullet item • another"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "First one.",
        "Second one!",
        "Third part",
        "bullet item",
        "another",
    ]


def test_search_hits_and_answer_plans_carry_evidence(guide_library):
    question = "What water temperature is best for green tea?"
    hits = guide_library.search(question, k=3)
    assert hits[0].evidence and "eighty degrees" in _flat(hits[0].evidence[0].text)
    plan = plan_answer(question, hits)
    assert plan.evidence[0].page == 4 and "eighty degrees" in _flat(plan.evidence[0].text)
    result = AnswerResult("Use water at about 80 degrees [1].", plan.sources, True, [1],
                          evidence=plan.evidence)  # fmt: skip
    evidence = result.to_dict()["evidence"]
    assert evidence[0]["page"] == 4 and evidence[0]["file"].endswith("field-guide.pdf")
    assert "eighty degrees" in _flat(evidence[0]["text"])


def test_a_cited_number_with_no_source_is_not_a_link():
    sources = [Source(n, f"/docs/{n}.pdf", n, f"excerpt {n}") for n in range(1, 5)]
    reply = "Bees swarm in spring [2]. Queens leave [1, 6]. See also [6] and [4]."
    links = citation_links(reply, sources)
    assert [link.number for link in links] == [2, 1, 4]
    assert [reply[link.start : link.end] for link in links] == ["2", "1", "4"]
    assert links[0].source.file == "/docs/2.pdf"
