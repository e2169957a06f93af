"""Language identification loads on demand, except in a process that searches once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import sys
from engine.library import language
if sys.argv[1] == "off":
    language.load_on_demand(False)
first = language.language_of("Wie ändere ich die Bezeichnung eines Laufwerks?")
print(first, language._loader is not None)
"""


def probe(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_the_first_question_starts_loading_in_the_background():
    assert probe("on") == "None True"  # not known yet, and not waited for


def test_a_process_that_searches_once_never_starts_loading():
    assert probe("off") == "None False"
