"""Write resources/selftest/hearth-selftest.pdf, the small document `hearth --self-test` indexes.

Two pages on unrelated topics, so a search can show it found the right page. Run once and commit
the PDF: `.venv/bin/python packaging/make_selftest_pdf.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pymupdf

OUTPUT = Path(__file__).resolve().parent.parent / "resources" / "selftest" / "hearth-selftest.pdf"

PAGES = (
    (
        "Laying a fire in the hearth",
        "Start with a bed of dry kindling, then add two split logs crossed above it. "
        "Open the damper before lighting so the smoke rises up the chimney. "
        "A fire laid this way catches within a minute and burns steadily for an hour.",
    ),
    (
        "The copper kettle",
        "The copper kettle on the hook above the hearth whistles when the water reaches "
        "ninety-three degrees, because the mountain cabin sits two thousand metres above the sea. "
        "Fill it only halfway so it boils before the fire burns down.",
    ),
)


def build(path: Path = OUTPUT) -> Path:
    """Write the PDF atomically and return its path."""
    doc = pymupdf.open()
    doc.set_metadata({"title": "Hearth self-test", "author": "Hearth", "creator": "Hearth"})
    for title, body in PAGES:
        page = doc.new_page(width=420, height=595)
        page.insert_text((48, 72), title, fontsize=18, fontname="helv")
        page.insert_textbox(pymupdf.Rect(48, 96, 372, 547), body, fontsize=11, fontname="helv")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    doc.save(temp, garbage=4, deflate=True, no_new_id=True)
    doc.close()
    os.replace(temp, path)
    return path


if __name__ == "__main__":
    print(build())
