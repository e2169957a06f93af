"""The vectors' snapshot: a search maps it instead of starting chromadb, and gets the same hits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.library.snapshot import (
    SNAPSHOT_PREFIX,
    VectorSnapshot,
    manifest_stamp,
    remove_snapshot,
    snapshot_folder,
    write_snapshot,
)
from tests.engine.library.corpus import QUESTIONS

ROOT = Path(__file__).resolve().parents[3]


def unit_rows(count: int, seed: int = 3) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# --- the snapshot alone (no model) -----------------------------------------------------------


def test_query_is_exact_and_ordered_like_a_store(tmp_path):
    vectors = unit_rows(50)
    keys = np.array([(1 + i % 3, i) for i in range(50)], dtype=np.int64)
    write_snapshot(tmp_path, "stamp-1", keys, vectors)
    snapshot = VectorSnapshot.load(tmp_path, "stamp-1")
    assert snapshot is not None

    query = vectors[17] + 0.1 * vectors[4]
    query /= np.linalg.norm(query)
    hits = snapshot.query(query, 5)
    expected = np.argsort(-(vectors @ query))[:5]
    assert [(f, o) for f, o, _ in hits] == [tuple(int(x) for x in keys[i]) for i in expected]
    assert hits[0][:2] == (1 + 17 % 3, 17)
    assert [s for *_, s in hits] == sorted((s for *_, s in hits), reverse=True)

    only_two = snapshot.query(query, 50, file_ids=[2])
    assert {f for f, _, _ in only_two} == {2} and len(only_two) == sum(keys[:, 0] == 2)
    assert snapshot.query(query, 5, file_ids=[9]) == []
    assert snapshot.vectors([(1, 0), (9, 9)]).keys() == {(1, 0)}
    np.testing.assert_array_equal(snapshot.vectors([(1, 0)])[(1, 0)], vectors[0])


def test_a_stale_or_damaged_snapshot_is_not_used(tmp_path):
    write_snapshot(tmp_path, "stamp-1", np.zeros((4, 2), dtype=np.int64), unit_rows(4))
    assert VectorSnapshot.load(tmp_path, "stamp-2") is None  # the manifest changed since

    vectors_file = snapshot_folder(tmp_path, "stamp-1") / "vectors.npy"
    vectors_file.write_bytes(vectors_file.read_bytes()[:200])  # cut short
    assert VectorSnapshot.load(tmp_path, "stamp-1") is None

    write_snapshot(tmp_path, "stamp-1", np.zeros((3, 2), dtype=np.int64), unit_rows(4))
    assert VectorSnapshot.load(tmp_path, "stamp-1") is None  # keys and vectors disagree

    # Same size, other bytes: garbage in the vectors' data, whatever the values read as.
    write_snapshot(tmp_path, "stamp-1", np.zeros((4, 2), dtype=np.int64), unit_rows(4))
    vectors_file = snapshot_folder(tmp_path, "stamp-1") / "vectors.npy"
    data = bytearray(vectors_file.read_bytes())
    data[-4 * 384 :] = bytes(range(256)) * 6
    vectors_file.write_bytes(bytes(data))
    assert VectorSnapshot.load(tmp_path, "stamp-1") is None

    remove_snapshot(tmp_path)
    assert VectorSnapshot.load(tmp_path, "stamp-1") is None
    assert not list(tmp_path.glob(f"{SNAPSHOT_PREFIX}*"))


def test_a_new_snapshot_replaces_the_old_and_leaves_no_scratch_folder(tmp_path):
    for stamp in ("a", "b"):
        write_snapshot(tmp_path, stamp, np.zeros((2, 2), dtype=np.int64), unit_rows(2))
    assert [p.name for p in tmp_path.iterdir()] == [snapshot_folder(tmp_path, "b").name]
    assert VectorSnapshot.load(tmp_path, "b") is not None
    assert VectorSnapshot.load(tmp_path, "a") is None


def test_a_reader_keeps_the_copy_it_mapped_while_a_writer_replaces_it(tmp_path):
    old = unit_rows(6, seed=1)
    write_snapshot(tmp_path, "old", np.array([(1, i) for i in range(6)]), old)
    reading = VectorSnapshot.load(tmp_path, "old")
    assert reading is not None
    write_snapshot(tmp_path, "new", np.array([(2, i) for i in range(6)]), unit_rows(6, seed=2))
    hits = reading.query(old[3], 1)  # the old copy, whole, though its folder is gone
    assert hits[0][:2] == (1, 3) and hits[0][2] == pytest.approx(1.0)
    assert VectorSnapshot.load(tmp_path, "old") is None


# --- with a real library ---------------------------------------------------------------------


@pytest.mark.slow
def test_indexing_writes_a_snapshot_that_matches_the_store(guide_library, embedder):
    stamp = manifest_stamp(guide_library.manifest.conn, embedder.name)
    snapshot = VectorSnapshot.load(guide_library.folder, stamp)
    assert snapshot is not None
    assert len(snapshot.keys) == guide_library.store.count()
    for question, _page in QUESTIONS:
        vector = embedder.embed_query(question)
        from_store = guide_library.store.query(vector, 5)
        from_snapshot = snapshot.query(vector, 5)
        assert [key[:2] for key in from_snapshot] == [key[:2] for key in from_store]
        np.testing.assert_allclose(
            [s for *_, s in from_snapshot], [s for *_, s in from_store], atol=1e-5
        )


@pytest.mark.slow
def test_changes_rewrite_the_snapshot_and_a_failed_write_only_costs_speed(
    open_library, guide_pdf, tmp_path, monkeypatch
):
    library = open_library("changes")
    notes = tmp_path / "notes.txt"
    notes.write_text("The lighthouse keeper winds the clockwork lamp every evening at dusk.\n")
    library.index([guide_pdf, notes])

    def current():
        return VectorSnapshot.load(library.folder, library._stamp())

    snapshot = current()
    assert snapshot is not None
    notes_id = library.manifest.file_id(str(notes))
    assert notes_id in set(snapshot.keys[:, 0].tolist())

    assert library.remove_file(notes)
    snapshot = current()
    assert snapshot is not None and notes_id not in set(snapshot.keys[:, 0].tolist())

    # A disk that refuses the snapshot: indexing still succeeds, and searches use the store.
    refused = []

    def refuse(*args):
        refused.append(args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("engine.library.library.write_snapshot", refuse)
    report = library.index([notes])
    assert report.indexed == 1
    assert current() is None and not list(library.folder.glob(f"{SNAPSHOT_PREFIX}*"))
    hits = library.search("Who winds the lamp in the lighthouse?", k=3)
    assert hits[0].file == str(notes)
    library.search("When is the lamp wound?", k=3)
    assert len(refused) == 2  # the index run's, then one search's: not one per search


SEARCH_IN_A_NEW_PROCESS = """
import json, sys
from pathlib import Path
from engine.library import Library
with Library.open(Path(sys.argv[1]), sys.argv[2], create=False) as library:
    hits = library.search(sys.argv[3], k=5)
print(json.dumps({"chromadb": "chromadb" in sys.modules,
                  "hits": [[h.file, h.page, round(h.similarity or 0, 4)] for h in hits]}))
"""


def search_in_a_new_process(library, question: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_IN_A_NEW_PROCESS, str(library.folder.parent), library.name,
         question],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_new_process_searches_without_chromadb_and_finds_the_same(open_library, guide_pdf):
    library = open_library("cold")
    library.index([guide_pdf])
    question = QUESTIONS[0][0]

    mapped = search_in_a_new_process(library, question)
    assert mapped["chromadb"] is False
    assert mapped["hits"] and mapped["hits"][0][1] == QUESTIONS[0][1]

    remove_snapshot(library.folder)  # as an older Hearth left it: the store answers
    stored = search_in_a_new_process(library, question)
    assert stored["chromadb"] is True
    assert [hit[:2] for hit in stored["hits"]] == [hit[:2] for hit in mapped["hits"]]
    for a, b in zip(stored["hits"], mapped["hits"], strict=True):
        assert a[2] == pytest.approx(b[2], abs=1e-3)
    # That search wrote the snapshot it lacked (as for a library an older Hearth indexed).
    assert search_in_a_new_process(library, question)["chromadb"] is False
