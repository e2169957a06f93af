"""Evidence a person can check, and citations that link only to real sources."""

from __future__ import annotations

import pytest

from engine.library.answer import (
    AnswerResult,
    Source,
    answer_evidence,
    citation_links,
    plan_answer,
    prompt_excerpt,
)
from engine.library.evidence import RUN_CHARS, select_evidence, sentence_spans
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


def test_the_evidence_is_a_run_of_sentences_that_ends_on_one_bearing_on_the_question():
    """A paraphrased question's terms fall on the sentences around the answer: a run of up to
    three is shown, so the answer at its end is in front of the person."""
    hit = _hit(
        "Debian keeps its rules in writing. The Debian Policy manual documents the structure "
        "of the archive. It also holds the technical requirements that each package must "
        "satisfy. Get the manual from the debian-policy package. Mirrors carry it too.",
        12,
    )
    plan = plan_answer(
        "Which package holds the manual with the technical rules every package must satisfy?",
        [hit],
    )
    (evidence,) = plan.evidence
    assert evidence.text.startswith("The Debian Policy manual")
    assert evidence.text.endswith("from the debian-policy package.")


def test_a_long_run_is_cut_to_a_quote_and_overlapping_chunks_are_quoted_once():
    bearing = "The package pool of the archive " + "holds the files of a release, " * 10 + "all."
    between = "Its layout " + "follows the source names and their first letters, " * 5 + "too."
    answer = "Mirrors copy the package pool every six hours."
    long_hit = _hit(f"{bearing} {between} {answer}", 4)
    assert len(bearing) + len(between) + len(answer) > 600
    (evidence,) = select_evidence("How often do mirrors copy the package pool?", [long_hit])
    assert len(evidence.text) <= 600 and evidence.text.endswith(answer)
    assert not evidence.text.startswith("The package pool"), "three sentences, too long to quote"

    text = "Mirrors copy the pool of packages every six hours. Each mirror has an admin."
    first = Hit(chunk_id=1, file="/docs/a.pdf", page=4, text=text, score=1.0, char_start=100)
    # The next chunk of the same page starts inside the first one (chunks overlap).
    second = Hit(chunk_id=2, file="/docs/a.pdf", page=4, text=text[:51], score=0.9,
                 char_start=100)  # fmt: skip
    other_page = Hit(chunk_id=3, file="/docs/a.pdf", page=5, text=text[:51], score=0.8,
                     char_start=100)  # fmt: skip
    chosen = select_evidence("How often do mirrors copy the pool?", [first, second, other_page],
                             max_items=3)  # fmt: skip
    assert [e.page for e in chosen] == [4, 5], "the same page's sentence once, page 5's kept"


def test_a_sentence_that_announces_a_list_comes_with_the_list():
    hit = _hit(
        "Debian runs on many machines. Beside Linux, Debian provides a complete binary "
        "distribution for the following operating system kernels:\n"
        "• FreeBSD, through kFreeBSD\n• the GNU Hurd\nThe installer looks the same on each.",
        22,
    )
    (evidence,) = select_evidence("Which other kernels get complete binary distributions?", [hit])
    assert evidence.text.startswith("Beside Linux")
    assert evidence.text.endswith("FreeBSD, through kFreeBSD")
    without_list = _hit(hit.text.replace(":\n• FreeBSD, through kFreeBSD", "."), 22)
    (plain,) = select_evidence(
        "Which other kernels get complete binary distributions?", [without_list]
    )
    assert plain.text.endswith("kernels.")


def test_a_list_after_a_colon_is_quoted_only_as_far_as_the_quote_limit_allows():
    announce = (
        "Beside Linux, Debian provides a complete binary distribution, built from the same "
        "sources with the same tools and the same policy, tested by the same people and "
        "released on the same day, for each of the following operating system kernels:"
    )
    items = [f"port {n}, with its own installer images and its own mirror tree" for n in range(12)]
    question = "Which other kernels get complete binary distributions?"
    long_list = _hit(f"Debian runs on many machines. {announce}\n\n" + "\n".join(items), 22)
    (evidence,) = select_evidence(question, [long_list])
    assert evidence.text.startswith("Beside Linux") and len(evidence.text) <= RUN_CHARS
    # Cut after a whole item, with at least the first one.
    assert items[0] in evidence.text
    assert any(evidence.text.endswith("\n" + item) for item in items)

    long_item = "port 0, " + "with its own installer images and mirror tree, " * 8 + "too"
    one_long_item = _hit(f"{announce}\n• {long_item}\n• port 1", 23)
    (evidence,) = select_evidence(question, [one_long_item])
    assert evidence.text == announce, "an item that does not fit is left out whole"

    short_list = _hit(f"{announce}\n\n" + "\n".join(items[:3]) + "\n\nThe installer is one.", 24)
    (short,) = select_evidence(question, [short_list])
    assert short.text.startswith("Beside Linux") and short.text.endswith(items[2])


def test_two_long_sentences_are_not_quoted_together_past_the_quote_limit():
    first = "The kernels of the port " + "are built from the same sources and tools, " * 8 + "all."
    second = (
        "Binary distributions " + "are tested by the same people on the same day, " * 7 + "too."
    )
    hit = _hit(f"{first} {second}", 5)
    assert len(first) < RUN_CHARS and len(second) < RUN_CHARS < len(first) + len(second)
    (evidence,) = select_evidence("Which kernels get binary distributions?", [hit])
    assert evidence.text in (first, second)


FILLER = " ".join(f"Paragraph {n} talks about gardening tools and soil." for n in range(30))


def test_the_model_reads_the_part_of_a_long_source_that_bears_on_the_question():
    text = f"{FILLER} The harbour ferry leaves every forty minutes from pier three. {FILLER}"
    hit = _hit(text, 4)
    excerpt = prompt_excerpt("How often does the harbour ferry leave?", hit, max_chars=300)
    assert "every forty minutes" in excerpt
    assert len(excerpt) <= 300
    assert excerpt == excerpt.strip() and excerpt.endswith(".")  # whole sentences
    # Grown around the answer on both sides while the budget allows.
    assert excerpt.index("harbour") > 0 and not excerpt.endswith("pier three.")


def test_a_short_source_is_read_whole_and_one_without_the_terms_from_its_start():
    short = _hit("Bees swarm in spring. The old queen leaves with half the colony.", 1)
    assert prompt_excerpt("Why do bees swarm?", short, max_chars=300) == short.text
    long_hit = _hit(FILLER, 2)
    excerpt = prompt_excerpt("What is the capital of Peru?", long_hit, max_chars=200)
    assert long_hit.text.startswith(excerpt) and 0 < len(excerpt) <= 200


def test_the_prompt_holds_focused_excerpts_and_the_sources_keep_the_whole_chunk():
    text = f"{FILLER} The harbour ferry leaves every forty minutes from pier three. {FILLER}"
    hit = _hit(text, 4)
    hit.keyword_rank = 1
    plan = plan_answer("How often does the harbour ferry leave?", [hit])
    prompt = plan.messages[-1]["content"]
    assert "every forty minutes" in prompt
    assert len(prompt) < len(text) / 2
    assert plan.sources[0].excerpt == text


def test_a_wrong_reply_does_not_choose_its_own_evidence():
    right = _hit("Logarithmic axes: to put the y axis on a log scale, use set logscale y 2.", 167)
    wrong = _hit(
        "Along the y axis of a graph, set arrow 3 from graph 0,0 to graph 1,1 draws an arrow.",
        132,
    )
    right.keyword_rank, wrong.keyword_rank = 1, 2
    plan = plan_answer("How do I make the y axis logarithmic?", [right, wrong])
    # Wrong, citing the wrong source, in words that match that source's line closely.
    reply = "To do this, set arrow 3 from graph 0,0 to graph 1,1 and the arrow shows [2]."
    (first, *_rest) = answer_evidence(plan, reply)
    assert (first.page, first.source) == (167, 1)
    assert "logscale" in first.text


def test_a_web_address_broken_over_two_lines_stays_in_its_sentence():
    text = "Read the guidelines at https://www.\ndebian.org/social_contract first. Then ask."
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == ["Read the guidelines at https://www.\ndebian.org/social_contract first.",
                         "Then ask."]  # fmt: skip


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_a_sentence_may_begin_with_a_lower_case_command():
    text = (
        "Installation is done. apt-get install foo fetches the package. dpkg -i foo.deb "
        "installs a file.\nmount(8) dient dazu, Dateisysteme einzuhängen. sudo braucht das."
    )
    assert _sentences(text) == [
        "Installation is done.",
        "apt-get install foo fetches the package.",
        "dpkg -i foo.deb installs a file.",
        "mount(8) dient dazu, Dateisysteme einzuhängen.",
        "sudo braucht das.",
    ]
    hit = _hit("Set the mirror in sources.list. apt-get update reads the new package lists.", 3)
    (evidence,) = select_evidence("What reads the new package lists?", [hit])
    assert evidence.text == "apt-get update reads the new package lists."


def test_abbreviations_numbers_and_file_names_stay_inside_their_sentence():
    cases = [
        "Use a tool, e.g. the installer, or i.e. the shell.",
        "Wählen Sie z.B. Debian oder z. B. die Datei, d. h. die Liste, bzw. Pakete aus.",
        "Pakete, Bibliotheken usw. werden geladen, ca. 10 Stück (a.k.a. libs).",
        "Edit foo.conf and set 3.5 there, then run it (with root rights!) as shown.",
        "Schritte:\n1. die Datei auspacken\n2. das Skript ausführen",
        "OK, now I know what Debian is... what is Linux?",
        "Mail 123@bugs.\ndebian.org or see https://www.\ndebian.org/social_contract first.",
    ]
    for text in cases:
        assert _sentences(text) == [text]
    # An abbreviation that may end a sentence ends one before a capital.
    assert _sentences("Pakete, Bibliotheken usw. Dann weiter.") == [
        "Pakete, Bibliotheken usw.",
        "Dann weiter.",
    ]


CONTENTS = (
    "Contents\n1.1 Installing packages . . . . . . . . . . . . . . 12\n"
    "1.2 Removing packages ........................ 14\n1.3\n"
    "Why is foo-data kept when I remove packages? How do I purge it?\n. . . . . . . . . .\n15\n"
    "1.4\nUpgrading installed packages with a very long title that fills the line . .\n16\n"
    "2\nPackage tools\n17\n2.1\nWhich tools install packages? 18\n"
)


@pytest.mark.parametrize(
    "entry",
    [
        "Preface to the packaging guide . . . . . . . . xi",
        "Installing the packaging tools ………… 12",
        "Installing the packaging tools · · · · · · · · 12",
    ],
)
def test_contents_entries_with_other_leaders_and_roman_numbers_are_never_quoted(entry):
    question = "Where is the preface to the packaging guide about installing tools?"
    assert select_evidence(question, [_hit(f"{entry}\n{entry}\n", 3)]) == []


def test_a_table_of_contents_is_never_quoted():
    question = "How do I install, remove, purge and upgrade packages, and with which tools?"
    assert select_evidence(question, [_hit(CONTENTS, 3)]) == []
    body = "Installing packages is done with apt. It fetches each package from a mirror."
    (evidence,) = select_evidence(question, [_hit(f"{CONTENTS}\n{body}", 3)])
    assert evidence.text == body
    # A run does not reach back over an entry to the prose before the contents.
    prose = _hit(f"Packages are installed with apt.\n{CONTENTS}", 3)
    (evidence,) = select_evidence(question, [prose], max_sentences=3)
    assert evidence.text == "Packages are installed with apt."


def test_the_row_of_the_exact_item_asked_for_is_quoted():
    """A code ("widget-23") is matched as itself: its stem ("widget") would find every row."""
    cities = ["Oslo", "Bergen", "Tromsø", "Reykjavik", "Turku"]
    rows = "\n".join(f"widget-{n} | {n * 3} | {cities[n % 5] if n != 23 else 'Reykjavik'}"
                     for n in range(1, 41))  # fmt: skip
    hit = _hit("Item | Count | Warehouse\n" + rows, 1, "/docs/inventory.xlsx")
    [quote] = select_evidence("Which warehouse holds widget-23?", [hit], max_items=1)
    assert "widget-23 | 69 | Reykjavik" in quote.text
    marked = {quote.text[a:b] for a, b in quote.marks}
    assert "widget-23" in marked and "widget-22" not in marked


def test_of_the_reply_only_the_names_and_numbers_it_states_are_marked():
    """The question's words are marked, and the claims of the reply a person checks (a name,
    a number); not the rest of its words, which from a small model may be any."""
    hits = [_hit("The keeper recorded the number of each lamp. Lamp 9 burned 40 liters of whale "
                 "oil in March.", 3)]  # fmt: skip
    [quote] = select_evidence("How many liters of whale oil did lamp 9 burn?", hits,
                              answer="The keeper recorded 40 of them in March.",
                              max_items=1)  # fmt: skip
    marked = {quote.text[a:b].lower() for a, b in quote.marks}
    assert {"liters", "whale", "oil", "40", "march"} <= marked
    assert not marked & {"keeper", "recorded"}
