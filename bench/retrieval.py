"""Retrieval benchmark on real manuals: is the right page first? Prints one JSON object.

The evaluation set (bench/eval/questions.json, checked by bench/eval/check.py) holds questions
over three Debian manuals (two English, one German), each paraphrased so that it shares no run
of four words with its page, with the page that answers it and an answer string found there.
A third of the questions (every third) form the dev split that ranking choices were tried on;
the rest are held out and reported apart.

All rankings run on the same chunks of one library, in one run:
  - keyword: BM25 over the stemmed words of the chunks (SQLite FTS5);
  - ngram: BM25 over character 4-grams of the chunks' words (SQLite FTS5);
  - vector: cosine similarity of all-MiniLM-L6-v2 embeddings;
  - hearth: `Library.search`, what the app and `hearth search` use: the three fused.
`--try NAME:field=value,...` adds rankings with other fusion settings (RankingSettings fields)
on the same index, for choosing them on the dev split. `--rerank` adds `hearth_rerank`: Hearth's
first 10 reordered by query likelihood under the bundled Gemma 3 270M (engine/rerank.py), with
its own latency and evidence figures. `--answers` has the bundled chat model answer every question
from Hearth's sources (greedy, at most 64 tokens) and measures the evidence as the window shows it
under that reply (the reply's words break ties between sentences), and how often the reply itself
holds the answer.
For each: hit@1/3/5/10 (the right page among the first k results) and MRR (over the first 10),
overall, per language and per split; search latency p50/p95 for Hearth's ranking; and how often
the evidence shown with an answer (the best sentences of the top sources) holds the answer;
and how often the excerpts the model reads hold it, whole chunks against the focused excerpts
the prompt has (with their mean length in characters).

Usage: .venv/bin/python bench/retrieval.py [--index-dir DIR] [--split dev|test|all]
       [--try NAME:field=value,...] [--rerank [--rank-prior X]] [--answers]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.eval.documents import ensure_documents, load_set  # noqa: E402

KS = (1, 3, 5, 10)
DEPTH = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def first_right_rank(pages: list[tuple[str, int | None]], wanted: set[tuple[str, int]]) -> int:
    """1-based rank of the first result on a right page, 0 when none is in the list."""
    for rank, key in enumerate(pages[:DEPTH], start=1):
        if key in wanted:
            return rank
    return 0


def summarise(ranks: list[int]) -> dict:
    n = len(ranks)
    if not n:
        return {}
    out = {f"hit@{k}": round(sum(1 for r in ranks if 0 < r <= k) / n, 3) for k in KS}
    out["mrr"] = round(sum(1 / r for r in ranks if r) / n, 3)
    out["questions"] = n
    return out


def breakdown(questions: list[dict], ranks: list[int]) -> dict:
    out = {"all": summarise(ranks)}
    for field in ("language", "split"):
        for value in sorted({q[field] for q in questions}):
            chosen = [r for q, r in zip(questions, ranks, strict=True) if q[field] == value]
            out[f"{field}={value}"] = summarise(chosen)
    return out


def evidence_text(plan) -> str:
    """The evidence shown under an answer, as one line (the answers are checked on it)."""
    return evidence_line(plan.evidence)


def evidence_line(evidence) -> str:
    return " ".join(" ".join(e.text.split()) for e in evidence)


def answered(session, plan):
    """The bundled chat model's `AnswerResult` for `plan`, greedy and short."""
    from engine.library.answer import AnswerResult, stream_answer
    from engine.session import SamplingSettings

    sampling = SamplingSettings(temperature=0.0, max_tokens=64, seed=1)
    items = list(stream_answer(session, plan, sampling))
    result = items[-1]
    assert isinstance(result, AnswerResult)
    return result


def share(values: list[bool]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


def build_library(folder: Path, paths: dict[str, Path]):
    from engine.library import Library

    library = Library.open(folder, "retrieval-eval")
    started = time.perf_counter()
    report = library.index(sorted(paths.values()))
    seconds = time.perf_counter() - started
    info = {
        "pages": report.pages,
        "chunks": library.manifest.counts()[1],
        "index_seconds": round(seconds, 1),
        "statuses": {Path(o.path).name: o.status for o in report.outcomes},
    }
    return library, info


def parse_variant(text: str):
    """RankingSettings from "NAME:field=value,field=value"."""
    from dataclasses import fields, replace

    from engine.library.retrieve import DEFAULT_RANKING

    name, _, assignments = text.partition(":")
    known = {f.name for f in fields(DEFAULT_RANKING)}
    changes: dict[str, float] = {}
    for assignment in filter(None, assignments.split(",")):
        field, _, value = assignment.partition("=")
        if field not in known:
            raise SystemExit(f"unknown ranking setting {field!r}; known: {sorted(known)}")
        changes[field] = float(value)
    return name, replace(DEFAULT_RANKING, **changes)


def evaluate(
    library,
    questions: list[dict],
    doc_paths: dict[str, Path],
    variants: list | None = None,
    reranker=None,
    answer_session=None,
) -> dict:
    from engine.library import keyword, language
    from engine.library.answer import plan_answer, prompt_excerpt
    from engine.library.retrieve import hybrid_search

    variants = variants or []

    path_to_doc = {str(path): doc_id for doc_id, path in doc_paths.items()}
    names = {
        file_id: path_to_doc.get(path, path)
        for file_id, path in library.manifest.conn.execute("SELECT id, path FROM files")
    }
    page_of = dict(
        ((f, o), p)
        for f, o, p in library.manifest.conn.execute("SELECT file_id, ordinal, page FROM chunks")
    )

    def keyed(hits: list[tuple[int, int, float]]) -> list[tuple[str, int | None]]:
        return [(names[f], page_of.get((f, o))) for f, o, _s in hits]

    ranks: dict[str, list[int]] = {"keyword": [], "ngram": [], "vector": [], "hearth": []}
    for name, _settings in variants:
        ranks[name] = []
    if reranker is not None:
        ranks["hearth_rerank"] = []
    latencies: list[float] = []
    rerank_latencies: list[float] = []
    evidence_hits: list[bool] = []
    evidence_chars: list[int] = []
    rerank_evidence_hits: list[bool] = []
    reply_evidence_hits: list[bool] = []  # --answers: the evidence under the model's reply
    reply_hits: list[bool] = []
    # What the model reads: the whole chunks of the sources, or the focused excerpts it is sent.
    excerpts: dict[str, dict[str, list]] = {
        "whole": {"contain": [], "chars": []},
        "focused": {"contain": [], "chars": []},
    }
    misses: list[dict] = []
    conn = library.manifest.conn
    language.warm()  # loaded before the searches are timed
    for _ in range(3):  # warm up the model and SQLite's caches
        library.search(questions[0]["question"], k=DEPTH)
    for q in questions:
        wanted = {(q["doc"], page) for page in q["pages"]}
        text = q["question"]
        ranks["keyword"].append(first_right_rank(keyed(keyword.search(conn, text, DEPTH)), wanted))
        ranks["ngram"].append(
            first_right_rank(keyed(keyword.gram_search(conn, text, DEPTH)), wanted)
        )
        vector = library.embedder.embed_query(text)
        ranks["vector"].append(first_right_rank(keyed(library.store.query(vector, DEPTH)), wanted))
        started = time.perf_counter()
        hits = library.search(text, k=DEPTH)
        latencies.append(time.perf_counter() - started)
        hearth_rank = first_right_rank([(path_to_doc.get(h.file), h.page) for h in hits], wanted)
        ranks["hearth"].append(hearth_rank)
        for name, settings in variants:
            tried = hybrid_search(
                library.manifest,
                library.store,
                library.embedder.embed_query,
                text,
                DEPTH,
                settings=settings,
                embedder_languages=library.embedder.languages,
            )
            ranks[name].append(
                first_right_rank([(path_to_doc.get(h.file), h.page) for h in tried], wanted)
            )
        if reranker is not None:
            started = time.perf_counter()
            reranked = reranker.rerank(text, hits)
            rerank_latencies.append(latencies[-1] + time.perf_counter() - started)
            ranks["hearth_rerank"].append(
                first_right_rank([(path_to_doc.get(h.file), h.page) for h in reranked], wanted)
            )
            rerank_evidence_hits.append(q["answer"] in evidence_text(plan_answer(text, reranked)))
        plan = plan_answer(text, hits)
        evidence_hits.append(q["answer"] in evidence_text(plan))
        evidence_chars.append(len(evidence_text(plan)))
        if answer_session is not None:
            result = answered(answer_session, plan)
            reply_evidence_hits.append(q["answer"] in evidence_line(result.evidence))
            reply_hits.append(q["answer"].lower() in " ".join(result.text.split()).lower())
        sent = "\n\n".join(prompt_excerpt(text, hit) for hit in plan.hits)
        whole = "\n\n".join(source.excerpt for source in plan.sources)
        for name, part in (("whole", whole), ("focused", sent)):
            excerpts[name]["contain"].append(q["answer"] in " ".join(part.split()))
            excerpts[name]["chars"].append(len(" ".join(part.split())))
        if hearth_rank != 1 or not evidence_hits[-1]:
            misses.append(
                {
                    "id": q["id"],
                    "hearth_rank": hearth_rank,
                    "evidence_has_answer": evidence_hits[-1],
                    "top": [f"{path_to_doc.get(h.file)}:{h.page}" for h in hits[:3]],
                    "want": sorted(f"{d}:{p}" for d, p in wanted),
                }
            )
    result = {name: breakdown(questions, values) for name, values in ranks.items()}
    result["hearth_search_latency_ms"] = {
        "p50": round(percentile(latencies, 50) * 1000, 1),
        "p95": round(percentile(latencies, 95) * 1000, 1),
        "mean": round(statistics.mean(latencies) * 1000, 1),
    }
    if reranker is not None:
        result["hearth_rerank_latency_ms"] = {
            "p50": round(percentile(rerank_latencies, 50) * 1000, 1),
            "p95": round(percentile(rerank_latencies, 95) * 1000, 1),
            "mean": round(statistics.mean(rerank_latencies) * 1000, 1),
        }
        result["evidence_contains_answer_reranked"] = round(
            sum(rerank_evidence_hits) / len(rerank_evidence_hits), 3
        )
    if answer_session is not None:
        result["answers"] = {
            "evidence_under_reply_contains_answer": share(reply_evidence_hits),
            "reply_contains_answer": share(reply_hits),
        }
    result["evidence_contains_answer"] = {
        "all": round(sum(evidence_hits) / len(evidence_hits), 3),
        **{
            f"split={split}": round(
                sum(e for q, e in zip(questions, evidence_hits, strict=True) if q["split"] == split)
                / max(1, sum(1 for q in questions if q["split"] == split)),
                3,
            )
            for split in sorted({q["split"] for q in questions})
        },
        "mean_chars": round(statistics.mean(evidence_chars)),
        "max_chars": max(evidence_chars),
    }
    result["excerpts_for_the_model"] = {
        name: {
            "contain_answer": round(sum(parts["contain"]) / len(questions), 3),
            "mean_chars": round(statistics.mean(parts["chars"])),
        }
        for name, parts in excerpts.items()
    }
    result["misses"] = misses
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, help="keep (and reuse) the index here")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument(
        "--no-misses", action="store_true", help="leave the per-question misses out"
    )
    parser.add_argument(
        "--rerank",
        action="store_true",
        help="also rerank Hearth's first 10 with the bundled Gemma 3 270M (engine/rerank.py)",
    )
    parser.add_argument(
        "--rank-prior",
        type=float,
        default=None,
        help="with --rerank: the weight of the search's order (engine.rerank.RANK_PRIOR)",
    )
    parser.add_argument(
        "--answers",
        action="store_true",
        help="also answer each question with the bundled chat model, and check the evidence "
        "shown under the reply",
    )
    parser.add_argument(
        "--try",
        dest="variants",
        action="append",
        default=[],
        metavar="NAME:field=value,...",
        help="also rank with these RankingSettings changes (repeatable)",
    )
    args = parser.parse_args()
    variants = [parse_variant(text) for text in args.variants]
    data = load_set()
    questions = [q for q in data["questions"] if args.split in ("all", q["split"])]
    doc_paths = ensure_documents()
    out: dict = {
        "machine": {"cpus": os.cpu_count()},
        "set": {
            "questions": len(questions),
            "documents": {k: v["title"] for k, v in data["documents"].items()},
        },
    }
    with tempfile.TemporaryDirectory(prefix="hearth-retrieval-") as tmp:
        folder = args.index_dir or Path(tmp)
        library, out["index"] = build_library(folder, doc_paths)
        reranker = session = None
        if args.rerank:
            from engine.rerank import RANK_PRIOR, QueryLikelihoodReranker

            prior = RANK_PRIOR if args.rank_prior is None else args.rank_prior
            reranker = QueryLikelihoodReranker(rank_prior=prior)
            out["rank_prior"] = prior
        if args.answers:
            from engine.bundled import default_model_path
            from engine.session import LoadSettings, ModelSession

            session = ModelSession()
            session.load(LoadSettings(model_path=str(default_model_path())))
        try:
            out.update(evaluate(library, questions, doc_paths, variants, reranker, session))
        finally:
            library.close()
            if reranker is not None:
                reranker.close()
            if session is not None:
                session.unload()
    if args.no_misses:
        out.pop("misses", None)
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
