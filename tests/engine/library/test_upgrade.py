"""A library written by the previous Hearth is upgraded on open: its keyword index is rebuilt
for every script, with progress, and nothing it held is lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.library import Library, keyword
from engine.library.manifest import SCHEMA_VERSION

# The version 1 schema, as the previous release wrote it.
V1_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, content_hash TEXT,
    size INTEGER, mtime REAL, pages INTEGER, chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL, error TEXT, indexed_at REAL);
CREATE TABLE chunks(id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    page INTEGER, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, heading TEXT,
    text TEXT NOT NULL, UNIQUE(file_id, ordinal));
CREATE VIRTUAL TABLE chunk_fts USING fts5(text, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER chunks_after_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunk_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER chunks_after_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunk_fts(chunk_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO files VALUES (1, '/docs/zh.txt', 'abc', 10, 1.0, NULL, 2, 'indexed', NULL, 1.0);
INSERT INTO chunks VALUES (1, 1, 0, NULL, 0, 20, NULL, '冷却泵过热时，请先关闭电源。');
INSERT INTO chunks VALUES (2, 1, 1, NULL, 20, 40, 'Pumps', 'Check the coolant level weekly.');
"""


def test_a_version_1_library_is_upgraded_with_progress(tmp_path, embedder):
    folder = tmp_path / "libraries" / "old"
    folder.mkdir(parents=True)
    conn = sqlite3.connect(folder / "library.sqlite3")
    conn.executescript(V1_SCHEMA)
    conn.close()
    events = []
    with Library.open(
        tmp_path / "libraries", "old", embedder=embedder, progress=events.append
    ) as library:
        assert [(e.stage, e.file_index, e.file_count) for e in events][-1] == ("upgrade", 2, 2)
        assert library.manifest.get_meta("schema_version") == str(SCHEMA_VERSION)
        conn = library.manifest.conn
        assert [row[:2] for row in keyword.search(conn, "过热", 5)] == [(1, 0)]
        assert [row[:2] for row in keyword.search(conn, "coolant", 5)] == [(1, 1)]
        assert [row[:2] for row in keyword.search(conn, "pumps", 5)] == [(1, 1)]  # headings too
        # The n-gram index is built too: a word inside a compound is found.
        assert [row[:2] for row in keyword.gram_search(conn, "Coolants", 5)] == [(1, 1)]
        (record,) = library.files()
        # Kept and searchable, and read again (with today's extraction) on the next index run.
        assert (record.status, record.chunks, record.content_hash, record.mtime) == (
            "indexed",
            2,
            None,
            None,
        )
    events.clear()
    with Library.open(tmp_path / "libraries", "old", embedder=embedder, progress=events.append):
        assert events == []  # upgraded once


def test_a_version_2_library_reads_its_pdf_files_again(tmp_path, embedder):
    from tests.engine.library.test_running_headers import BOOK_TITLE, write_book

    docs = tmp_path / "docs"
    docs.mkdir()
    write_book(docs / "manual.pdf", 6)
    notes = docs / "notes.txt"
    notes.write_text("The coolant level is checked every Monday morning.\n")
    with Library.open(tmp_path / "libraries", "old", embedder=embedder) as library:
        assert library.index([docs]).indexed == 2
    conn = sqlite3.connect(tmp_path / "libraries" / "old" / "library.sqlite3")
    with conn:  # as the previous release left it: the PDF's chunks held its running header
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        conn.execute(
            "UPDATE chunks SET text = ? || char(10) || text "
            "WHERE file_id = (SELECT id FROM files WHERE path LIKE '%.pdf')",
            (BOOK_TITLE,),
        )
    conn.close()
    events = []
    with Library.open(
        tmp_path / "libraries", "old", embedder=embedder, progress=events.append
    ) as library:
        assert events == []  # no keyword index to rebuild
        assert library.manifest.get_meta("schema_version") == str(SCHEMA_VERSION)
        stamps = {Path(r.path).name: (r.status, r.content_hash) for r in library.files()}
        assert stamps["manual.pdf"] == ("indexed", None)  # kept, and read again next time
        assert stamps["notes.txt"][1] is not None
        report = library.index([docs])
        assert {Path(o.path).name: o.status for o in report.outcomes} == {
            "manual.pdf": "indexed",
            "notes.txt": "unchanged",
        }
        texts = [row[0] for row in library.manifest.conn.execute("SELECT text FROM chunks")]
        assert texts and not any(BOOK_TITLE in text for text in texts)
