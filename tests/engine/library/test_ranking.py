"""Ranking signals beyond stemmed words: character n-grams find words inside compounds and
inflections a stemmer misses, and the English-only vector list does not count for a question
in another language."""

from __future__ import annotations

import pytest

from engine.library import keyword, language
from engine.library.answer import plan_answer
from engine.library.manifest import Manifest
from engine.library.retrieve import (
    DEFAULT_RANKING,
    embedder_knows,
    fuse,
    hybrid_search,
    is_contents,
)
from engine.library.types import Chunk

GERMAN = [
    "Der Firmware-Aktualisierungsdienst fwupd lädt neue Daten vom Hersteller.",
    "Das Standard-Gebietsschema wird über die Umgebungsvariable LANG festgelegt.",
    "Die Zwischenablage liest man auf der Kommandozeile mit xsel.",
]


@pytest.fixture
def manifest(tmp_path):
    manifest = Manifest(tmp_path / "library.sqlite3")
    file_id = manifest.begin_file("/docs/referenz.txt", "hash", 1, 1.0)
    writer = manifest.write_file_chunks(file_id)
    writer.add([Chunk(n, None, 0, len(text), None, text, 20) for n, text in enumerate(GERMAN)])
    writer.finish(None)
    yield manifest
    manifest.close()


def ordinals(hits: list[tuple[int, int, float]]) -> list[int]:
    return [ordinal for _file, ordinal, _score in hits]


def test_word_grams_mark_word_edges_and_leave_out_stop_words():
    assert keyword.word_grams("the Pakete") == "_pak pake aket kete ete_"
    assert keyword.word_grams("ls") == "_ls_"


@pytest.mark.parametrize(
    ("query", "right"),
    [
        ("Aktualisierungen", 0),  # inside a compound, inflected
        ("Gebietsschemas", 1),  # a genitive the stemmer keeps apart
        ("Kommandozeilenprogramm Zwischenablage", 2),
    ],
)
def test_ngrams_find_words_inside_compounds_and_inflections(manifest, query, right):
    conn = manifest.conn
    assert ordinals(keyword.gram_search(conn, query, 3))[:1] == [right]


def test_ngrams_find_what_stemmed_words_miss(manifest):
    conn = manifest.conn
    assert keyword.search(conn, "Aktualisierungen", 3) == []
    assert ordinals(keyword.gram_search(conn, "Aktualisierungen", 3)) == [0]


def test_deleted_chunks_leave_the_ngram_index(manifest):
    manifest.remove("/docs/referenz.txt")
    assert keyword.gram_search(manifest.conn, "Zwischenablage", 3) == []


@pytest.mark.parametrize(
    ("query", "weight"),
    [
        ("Mit welchem Befehl zeige ich angeschlossene USB-Geräte an?", 0.0),
        ("Which command lists the USB devices that are plugged in?", 1.0),
        ("xsel", 1.0),  # too short to tell: every list keeps its weight
    ],
)
def test_vectors_count_only_for_questions_the_embedder_can_read(query, weight):
    language.warm()
    assert embedder_knows(query, {"en"}) is (weight == 1.0)
    assert embedder_knows(query, None)


class LowSimilarityStore:
    """Vectors as an English-only model gives German chunks: every cosine near zero."""

    def query(self, _vector, n, _file_ids=None):
        return [(1, ordinal, 0.05) for ordinal in range(len(GERMAN))][:n]

    def vectors(self, keys):
        return {}


@pytest.mark.parametrize(
    ("question", "found"),
    [
        # Ranked on keywords alone, its keyword hits are the sources, however low their cosine.
        ("Womit liest man die Zwischenablage auf der Kommandozeile aus?", True),
        # The model reads English: a cosine this low means unrelated, so "not found" holds.
        ("Which program reads the clipboard on the command line?", False),
    ],
)
def test_only_a_model_that_reads_the_question_may_call_its_hits_unrelated(
    manifest, question, found
):
    language.warm()
    hits = hybrid_search(manifest, LowSimilarityStore(), lambda _text: [0.0], question, 3,
                         embedder_languages={"en"})  # fmt: skip
    sources = plan_answer(question, hits).sources
    assert bool(sources) is found
    if found:
        assert "xsel" in sources[0].excerpt


def test_a_zero_weight_vector_list_does_not_move_the_ranking():
    vector = [(1, 0, 0.9), (1, 1, 0.8)]
    words = [(1, 1, -3.0), (1, 0, -2.0)]
    order = [key for key, *_ in fuse(vector, words, vector_weight=0.0)]
    assert order == [(1, 1), (1, 0)]
    # Nor does it bring chunks only it found: they would be sources no signal chose.
    order = [key for key, *_ in fuse([*vector, (1, 2, 0.7)], words, vector_weight=0.0)]
    assert order == [(1, 1), (1, 0)]
    order = [key for key, *_ in fuse(vector, words, vector_weight=1.0, settings=DEFAULT_RANKING)]
    assert order[0] == (1, 1)  # words weigh 1.5 against the vectors' 1


@pytest.mark.parametrize(
    ("leader", "page"), [(". . . . . . ", "12"), ("…………", "12"), ("· · · · · · ", "xi")]
)
def test_a_table_of_contents_is_told_by_any_leaders_and_page_numbers(leader, page):
    entries = "\n".join(f"{title} {leader}{page}" for title in ("Preface", "Tools", "Index"))
    assert is_contents(entries)
    assert not is_contents("It waited... and waited... and then it answered in 12\nseconds.")
