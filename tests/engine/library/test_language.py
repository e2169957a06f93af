"""Every search knows its query's language from the first one of a process; the unpacked model
is kept in the cache folder so that later processes load it quickly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GERMAN = "Wie ändere ich die Bezeichnung eines Laufwerks?"

# Run in a process of its own: the model is loaded once per process. With "no-lzma" the
# package's packed model cannot be read, so only a kept copy can answer.
PROBE = """
import lzma, sys
from pathlib import Path
from engine.library import language
if "no-lzma" in sys.argv:
    def refuse(*args, **kwargs):
        raise OSError("the packed model was read")
    lzma.open = refuse
language.keep_model_copy_in(Path(sys.argv[1]) if sys.argv[1] != "-" else None)
print(language.language_of(sys.argv[2]))
"""


def probe(folder: Path | str, text: str = GERMAN, *flags: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), text, *flags],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_the_first_question_of_a_process_has_its_language():
    assert probe("-") == "de"


def test_the_unpacked_model_is_kept_and_read_by_the_next_process(tmp_path):
    folder = tmp_path / "cache" / "language-model"
    assert probe(folder, GERMAN, "no-lzma") == "None"  # nothing kept yet: nothing known
    assert probe(folder) == "de"
    kept = list(folder.iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".npz", "one copy, no temporary file left"
    assert probe(folder, GERMAN, "no-lzma") == "de"
    assert probe(folder, "How do I change the label of a drive?", "no-lzma") == "en"


def test_a_copy_of_another_version_is_replaced(tmp_path):
    folder = tmp_path / "language-model"
    folder.mkdir()
    (folder / "py3langid-0.1.0-123.npz").write_bytes(b"an older model")
    assert probe(folder) == "de"
    [kept] = folder.iterdir()
    assert kept.name != "py3langid-0.1.0-123.npz"


def test_a_damaged_copy_is_unpacked_again(tmp_path):
    folder = tmp_path / "language-model"
    probe(folder)
    copy = next(folder.iterdir())
    copy.write_bytes(copy.read_bytes()[:1000])
    assert probe(folder) == "de"
    assert probe(folder, GERMAN, "no-lzma") == "de", "the copy was made whole again"


def test_a_cache_that_cannot_be_written_costs_only_speed(tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    assert probe(in_the_way / "language-model") == "de"
