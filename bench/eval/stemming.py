"""Which word analysis ranks the evaluation set best with BM25 alone? Prints one JSON object.

Compares, on the chunks of an index that bench/retrieval.py built (same chunks for all):
  - porter: Porter's English stemmer for every language (what the FTS5 keyword index uses);
  - snowball: the Snowball stemmer of each chunk's and each question's language (py3langid),
    Porter's where Snowball has none: the same treatment at index and query time;
  - ngram: character 4-grams of the words (keyword.word_grams, the n-gram index).
BM25 (k1 1.2, b 0.75, as FTS5) is computed here in Python so that each analysis is tried
without rebuilding an index. Needs PyStemmer (`pip install PyStemmer`), not a Hearth dependency.

Usage: .venv/bin/python bench/eval/stemming.py INDEX_DIR [--split dev|test|all]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.eval.documents import ensure_documents, load_set  # noqa: E402
from engine.library.keyword import STOPWORDS, word_grams  # noqa: E402
from engine.library.language import language_of, warm  # noqa: E402

SNOWBALL = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian"}
WORD = re.compile(r"\w+")


def bm25_ranking(documents: list[list[str]], query: list[str], depth: int = 10) -> list[int]:
    lengths = [len(d) for d in documents]
    average = sum(lengths) / len(lengths)
    frequencies = Counter(t for d in documents for t in set(d))
    scores: dict[int, float] = defaultdict(float)
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, document in enumerate(documents):
        for term, count in Counter(document).items():
            postings[term].append((index, count))
    n = len(documents)
    for term in set(query):
        df = frequencies.get(term, 0)
        idf = math.log((n - df + 0.5) / (df + 0.5) + 1)
        for index, count in postings.get(term, ()):
            norm = count + 1.2 * (1 - 0.75 + 0.75 * lengths[index] / average)
            scores[index] += idf * count * 2.2 / norm
    return sorted(scores, key=lambda i: -scores[i])[:depth]


def main() -> int:
    import Stemmer

    warm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    args = parser.parse_args()
    database = next(args.index_dir.glob("*/library.sqlite3"))
    conn = sqlite3.connect(database)
    path_to_doc = {str(path): doc for doc, path in ensure_documents().items()}
    files = {i: path_to_doc.get(p, p) for i, p in conn.execute("SELECT id, path FROM files")}
    rows = conn.execute("SELECT file_id, page, heading, text FROM chunks ORDER BY id").fetchall()
    texts = [f"{heading or ''}\n{text}" for _f, _p, heading, text in rows]
    stemmers = {code: Stemmer.Stemmer(name) for code, name in SNOWBALL.items()}
    porter = Stemmer.Stemmer("porter")

    def words(text: str, stemmer) -> list[str]:
        found = [w.lower() for w in WORD.findall(text)]
        return stemmer.stemWords([w for w in found if w not in STOPWORDS] or found)

    def snowball(text: str) -> list[str]:
        return words(text, stemmers.get(language_of(text, 0.0) or "", porter))

    analyses = {
        "porter": lambda text: words(text, porter),
        "snowball": snowball,
        "ngram": lambda text: word_grams(text).split(),
    }
    questions = [q for q in load_set()["questions"] if args.split in ("all", q["split"])]
    out: dict = {"chunks": len(rows), "questions": len(questions), "split": args.split}
    for name, analyse in analyses.items():
        documents = [analyse(text) for text in texts]
        ranks = []
        for q in questions:
            wanted = {(q["doc"], page) for page in q["pages"]}
            order = bm25_ranking(documents, analyse(q["question"]))
            found = [r for r, i in enumerate(order, 1) if (files[rows[i][0]], rows[i][1]) in wanted]
            ranks.append((q["language"], found[0] if found else 0))
        result = {}
        for language in ("all", "en", "de"):
            chosen = [r for lang, r in ranks if language in ("all", lang)]
            result[language] = {
                "hit@1": round(sum(r == 1 for r in chosen) / len(chosen), 3),
                "hit@5": round(sum(0 < r <= 5 for r in chosen) / len(chosen), 3),
                "mrr": round(sum(1 / r for r in chosen if r) / len(chosen), 3),
            }
        out[name] = result
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
