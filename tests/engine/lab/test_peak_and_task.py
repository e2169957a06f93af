"""Peak memory of a block of work, and the task score from a question file and a real library."""

from __future__ import annotations

import json
import time

import numpy as np
import psutil
import pytest

from engine.errors import HearthError
from engine.lab.peak import PeakMemory
from engine.lab.task import answer_contains, load_questions, prepare_task, score_task
from engine.session import LoadSettings, ModelSession
from tests.engine.lab.conftest import THREADS, finish

MB = 2**20


def test_a_short_lived_allocation_shows_in_the_peak():
    with PeakMemory() as peak:
        block = np.ones(300 * MB, dtype=np.uint8)  # touched: resident
        seen = psutil.Process().memory_info().rss  # what the block raised it to, mid-block
        time.sleep(0.2)  # a peak that lasts longer than one sampling interval
        del block
    assert peak.peak_rss >= seen * 0.99  # the kernel counts resident pages a little lazily
    assert peak.added_rss >= 0.99 * seen - peak.baseline_rss


def test_questions_are_read_from_json_or_json_lines(tmp_path):
    listing = tmp_path / "q.json"
    listing.write_text(json.dumps([{"question": "Who?", "expected": "Alice"},
                                   {"question": "Where?", "expected": ["rabbit", "hole"]}]))  # fmt: skip
    lines = tmp_path / "q.jsonl"
    lines.write_text('{"question": "Who?", "expected": ["Alice"]}\n\n{"question": "Why?", '
                     '"expected": "tired"}\n')  # fmt: skip
    assert [q.expected for q in load_questions(listing)] == [("Alice",), ("rabbit", "hole")]
    assert [q.question for q in load_questions(lines)] == ["Who?", "Why?"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "holds no questions"),
        ('[{"question": "Who?"}]', "no expected words"),
        ('[{"expected": "x"}]', "has no question"),
        ("not json at all", "neither JSON nor JSON lines"),
    ],
)
def test_bad_question_files_are_refused_in_words(tmp_path, content, message):
    path = tmp_path / "q.json"
    path.write_text(content)
    with pytest.raises(HearthError, match=message):
        load_questions(path)


def test_an_answer_counts_when_it_holds_every_expected_phrase():
    answer = "Press the RESET button for ten\nseconds [1]."
    assert answer_contains(answer, ["reset button", "ten seconds"])
    assert not answer_contains(answer, ["reset button", "twenty seconds"])


@pytest.mark.slow
def test_task_score_from_a_real_library_and_model(
    embedding_model_dir, default_model_path, tmp_path
):
    from engine.library import Library
    from engine.library.embed import Embedder

    notes = tmp_path / "router.txt"
    notes.write_text(
        "Router manual. To reset the router, hold the reset button on the back for ten seconds "
        "until the light blinks orange. The default network name is HEARTH-NET.\n"
    )
    library = Library.open(
        tmp_path / "libraries", "manuals", embedder=Embedder(embedding_model_dir)
    )
    assert library.index([notes]).indexed == 1
    questions_file = tmp_path / "questions.json"
    questions_file.write_text(json.dumps([
        # Nothing in the library is about this: answered "not found" without the model.
        {"question": "What is the boiling point of tungsten?", "expected": "not found"},
        # The model answers from the manual, but never with this made-up word.
        {"question": "How do I reset the router?", "expected": "zyxwvut"},
    ]))  # fmt: skip
    items = prepare_task(load_questions(questions_file), lambda q: library.search(q, k=3))
    library.close()
    assert not items[0].plan.found and items[1].plan.found
    session = ModelSession()
    session.load(LoadSettings(model_path=str(default_model_path), n_ctx=2048, n_threads=THREADS))
    fractions, score = finish(score_task(session, items))
    session.unload()
    assert fractions == [0.5, 1.0]
    assert score.passed == (True, False) and score.share == 0.5
