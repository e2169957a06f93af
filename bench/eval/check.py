"""Check the retrieval evaluation set against its documents; prints one JSON object.

For every question: its answer string is on the recorded page (whitespace and line-end
hyphens aside), and the question shares no run of four words with that page (so a question
cannot be found by copying the page). Text comes straight from PyMuPDF, not from Hearth's own
extraction, so the check does not lean on the code it is used to measure.

Usage: .venv/bin/python bench/eval/check.py
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.eval.documents import ensure_documents, load_set  # noqa: E402

_WORD = re.compile(r"\w+")
RUN = 4


def page_text(doc, page: int) -> str:
    return doc[page - 1].get_text("text")


def flat(text: str) -> str:
    return " ".join(text.split())


def answer_on_page(answer: str, text: str) -> bool:
    joined = flat(text)
    # A term broken at a line end reads "dpkg-scan- packages" once the lines are joined.
    unbroken = re.sub(r"(\w)- (\w)", r"\1\2", joined)
    rejoined = re.sub(r"(\w-) (\w)", r"\1\2", joined)
    return any(answer in candidate for candidate in (joined, unbroken, rejoined))


def shared_runs(question: str, text: str, run: int = RUN) -> list[str]:
    q = [w.lower() for w in _WORD.findall(question)]
    p = [w.lower() for w in _WORD.findall(text)]
    page_runs = {tuple(p[i : i + run]) for i in range(len(p) - run + 1)}
    return [
        " ".join(q[i : i + run])
        for i in range(len(q) - run + 1)
        if tuple(q[i : i + run]) in page_runs
    ]


def main() -> int:
    import pymupdf

    data = load_set()
    paths = ensure_documents()
    opened = {doc_id: pymupdf.open(path) for doc_id, path in paths.items()}
    problems = []
    for q in data["questions"]:
        doc = opened[q["doc"]]
        pages = q["pages"]
        texts = [page_text(doc, page) for page in pages]
        if not any(answer_on_page(q["answer"], text) for text in texts):
            problems.append({"id": q["id"], "problem": "answer not on its page"})
        overlap = sorted({run for text in texts for run in shared_runs(q["question"], text)})
        if overlap:
            problems.append({"id": q["id"], "problem": "shares a 4-word run", "runs": overlap})
    questions = data["questions"]
    languages = Counter(q["language"] for q in questions)
    result = {
        "questions": len(questions),
        "documents": {
            doc_id: {"pages": opened[doc_id].page_count, **doc}
            for doc_id, doc in data["documents"].items()
        },
        "per_language": dict(languages),
        "per_split": dict(Counter(q["split"] for q in questions)),
        "non_english_share": round(1 - languages.get("en", 0) / len(questions), 3),
        "problems": problems,
        "ok": not problems,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
