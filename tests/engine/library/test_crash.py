"""A process killed in the middle of indexing leaves a library that opens, holds no half-indexed
file, and picks up where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.library import Library
from engine.library.library import LOCK_FILE, MANIFEST_FILE, VECTORS_DIR, _collection_name
from engine.library.manifest import Manifest
from engine.library.store import VectorStore
from engine.library.types import INDEXED, INDEXING, PENDING, UNCHANGED
from tests.engine.library.corpus import write_guide_pdf

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from engine.library import Library

    library = Library.open(Path(sys.argv[1]), "crash")

    def report(event):
        if event.stage in ("page", "done"):
            print(event.stage, Path(event.file).name, event.page, flush=True)

    library.index([sys.argv[2]], progress=report)
    print("finished", flush=True)
    """
)


def test_killed_mid_file_then_resumed(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_guide_pdf(docs / "a.pdf")
    write_guide_pdf(docs / "b.pdf", repeat=8)  # 96 pages: vectors are stored every 64 chunks
    write_guide_pdf(docs / "c.pdf")
    root = tmp_path / "libraries"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), str(docs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    killed_at = None
    deadline = time.monotonic() + 240
    try:
        for line in child.stdout:
            stage, name, page = line.split()
            # Past the first stored batch of b.pdf, well before its last.
            if stage == "page" and name == "b.pdf" and int(page) >= 66:
                child.send_signal(signal.SIGKILL)
                killed_at = int(page)
                break
            assert time.monotonic() < deadline, "the indexing child took too long"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()  # an open pipe would be a ResourceWarning in a later test
    assert killed_at is not None, "the child finished before it could be killed"
    folder = root / "crash"
    assert (folder / LOCK_FILE).exists()  # left behind by the killed process

    # Before any recovery: b.pdf is marked as being indexed and some of its vectors are stored,
    # but none of its chunk rows were committed.
    manifest = Manifest(folder / MANIFEST_FILE)
    states = {Path(r.path).name: r.status for r in manifest.files()}
    assert states == {"a.pdf": INDEXED, "b.pdf": INDEXING, "c.pdf": PENDING}
    indexed_chunks = manifest.counts()[1]
    manifest.close()
    store = VectorStore(folder / VECTORS_DIR, _collection_name("crash"))
    assert store.count() > indexed_chunks
    store.close()

    with Library.open(root, "crash", embedder=embedder) as library:
        states = {Path(r.path).name: r.status for r in library.files()}
        assert states == {"a.pdf": INDEXED, "b.pdf": PENDING, "c.pdf": PENDING}
        assert library.store.count() == library.manifest.counts()[1] == indexed_chunks
        hits = library.search("How do I season a skillet?", k=3)
        assert hits and {Path(h.file).name for h in hits} == {"a.pdf"}
        assert sorted(Path(p).name for p in library.pending_files()) == ["b.pdf", "c.pdf"]

        report = library.index([docs])
        got = {Path(o.path).name: o.status for o in report.outcomes}
        assert got == {"a.pdf": UNCHANGED, "b.pdf": INDEXED, "c.pdf": INDEXED}
        assert library.store.count() == library.manifest.counts()[1]
        assert not (folder / LOCK_FILE).exists()
        pages = {h.page for h in library.search("season a cast iron skillet", k=20)}
        assert 9 in pages and 9 + 12 * 5 in pages  # b.pdf's later copies are there too
