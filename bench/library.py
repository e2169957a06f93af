"""Benchmark of the document library; prints one JSON object.

Measures, on a real 100+ page PDF (Debian's gnuplot-doc manual, or HEARTH_REAL_PDF):
  - extraction pages/s (PyMuPDF, page by page, with headings) and chunking chunks/s; with
    `--against REF` (e.g. main) also those of the code at that git ref, side by side in one run
    (each in a fresh process, in alternating order), with the ratios;
  - OCR pages/s: pages of the PDF rendered to pictures (as a scanner would give them) and read
    back by Hearth's OCR;
  - embedding chunks/s of Hearth's embedder against plain sentence-transformers (PyTorch, float32,
    default batch size) on the same chunks in the same run, with the cosine agreement of the two;
  - retrieval quality (question sets with known pages, hits@5) with both embedders;
  - end-to-end indexing seconds and peak RSS of a fresh process indexing the PDF;
  - search latency p50/p95 at 10k and 100k chunks (synthetic chunks, real query embedding),
    through chromadb and through the vectors' snapshot, in the same run.

Usage: .venv/bin/python bench/library.py [--quick] [--sizes 10000,100000] [--against main]
       [--only extraction|ocr|embedding|quality|end_to_end|search]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from engine.bundled import embedding_model_dir  # noqa: E402
from tests.engine.library.corpus import (  # noqa: E402
    QUESTIONS,
    REAL_PDF_QUESTIONS,
    find_real_pdf,
    write_guide_pdf,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_extraction(pdf: Path) -> tuple[dict, list]:
    from engine.library.chunk import Chunker, load_tokenizer
    from engine.library.extract import open_document

    best = None
    for _ in range(3):
        started = time.perf_counter()
        pages = list(open_document(pdf).pages())
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    chunker = Chunker(load_tokenizer(embedding_model_dir()))
    started = time.perf_counter()
    chunks = list(chunker.chunk_pages(pages))
    chunk_seconds = time.perf_counter() - started
    return {
        "pdf": str(pdf),
        "pages": len(pages),
        "extraction_pages_per_s": round(len(pages) / best, 1),
        "chunks": len(chunks),
        "chunking_chunks_per_s": round(len(chunks) / chunk_seconds, 1),
        "mean_chunk_tokens": round(statistics.mean(c.token_count for c in chunks), 1),
    }, chunks


# Extraction and chunking of one PDF, run in a fresh process from the root of a source tree.
EXTRACTION = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, ".")
from engine.bundled import embedding_model_dir
from engine.library.chunk import Chunker, load_tokenizer
from engine.library.extract import open_document
pdf = Path(sys.argv[1])
list(open_document(pdf).pages())  # warm the file cache and MuPDF
started = time.perf_counter()
pages = list(open_document(pdf).pages())
extraction = time.perf_counter() - started
chunker = Chunker(load_tokenizer(embedding_model_dir()))
started = time.perf_counter()
chunks = list(chunker.chunk_pages(pages))
chunking = time.perf_counter() - started
print(json.dumps({"pages_per_s": len(pages) / extraction, "chunks": len(chunks),
                  "chunks_per_s": len(chunks) / chunking}))
"""


def bench_against(pdf: Path, ref: str, rounds: int, end_to_end_rounds: int = 0) -> dict:
    """Extraction pages/s and chunking chunks/s of this tree and of git `ref`, side by side;
    with `end_to_end_rounds`, also the seconds to index the PDF into a fresh library.

    Each round runs both trees in fresh processes, in alternating order, so that a machine
    that gets busier or quieter during the run weighs on both alike; medians are reported.
    """
    import io
    import tarfile

    with tempfile.TemporaryDirectory(prefix="hearth-ref-") as tmp:
        archive = subprocess.run(
            ["git", "archive", ref], cwd=ROOT, capture_output=True, check=True
        ).stdout
        tree = Path(tmp) / "tree"
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        trees = {"this": ROOT, ref: tree}
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        indexing: dict[str, list[dict]] = {name: [] for name in trees}

        def run(name: str, script: str, *args: str) -> dict:
            result = subprocess.run(
                [sys.executable, "-c", script, *args],
                cwd=trees[name],
                capture_output=True,
                text=True,
                check=True,
            )
            return json.loads(result.stdout.strip().splitlines()[-1])

        for round_number in range(max(rounds, end_to_end_rounds)):
            order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
            for name in order:
                if round_number < rounds:
                    runs[name].append(run(name, EXTRACTION, str(pdf)))
                if round_number < end_to_end_rounds:
                    folder = Path(tmp) / f"e2e-{name}-{round_number}"
                    indexing[name].append(run(name, END_TO_END, str(folder), str(pdf)))

    def median(values: list[dict], key: str) -> float:
        return round(statistics.median(value[key] for value in values), 2)

    out: dict = {"ref": ref, "rounds": rounds}
    for name in trees:
        out[name] = {
            "pages_per_s": median(runs[name], "pages_per_s"),
            "chunks": runs[name][0]["chunks"],
            "chunks_per_s": median(runs[name], "chunks_per_s"),
        }
        if end_to_end_rounds:
            out[name]["index_seconds"] = median(indexing[name], "index_seconds")
            out[name]["indexed_chunks"] = indexing[name][0]["chunks"]
            out[name]["index_pages_per_s"] = round(
                indexing[name][0]["pages"] / out[name]["index_seconds"], 2
            )
    for key in ("pages_per_s", "chunks_per_s") + (
        ("index_pages_per_s",) if end_to_end_rounds else ()
    ):
        out[f"{key}_ratio"] = round(out["this"][key] / out[ref][key], 2)
    return out


def bench_ocr(pdf: Path, pages: int) -> dict:
    """OCR pages/s: `pages` text pages of the PDF rendered at 150 dpi into a picture-only PDF
    (what a scanner gives), read page by page through Hearth's extraction with OCR; also the
    CPU seconds a page costs, which a busy machine does not change."""
    import pymupdf

    from engine.library import ocr
    from engine.library.extract import open_document

    if not ocr.available():
        return {"skipped": "OCR engine not installed"}
    with tempfile.TemporaryDirectory(prefix="hearth-ocr-") as tmp:
        scanned = Path(tmp) / "scanned.pdf"
        with pymupdf.open(pdf) as source, pymupdf.open() as out:
            # Pages from the middle of the manual: running text, not the title page.
            first = source.page_count // 3
            for index in range(first, min(source.page_count, first + pages)):
                picture = source.load_page(index).get_pixmap(dpi=150)
                page = out.new_page(
                    width=picture.width * 72 / 150, height=picture.height * 72 / 150
                )
                page.insert_image(page.rect, pixmap=picture)
            out.save(scanned)
        started, cpu_started = time.perf_counter(), time.process_time()
        extracted = list(open_document(scanned).pages())
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    read = sum(1 for page in extracted if page.ocr)
    return {
        "pages": len(extracted),
        "pages_read_by_ocr": read,
        "characters": sum(len(page.text) for page in extracted),
        "seconds": round(seconds, 1),
        "ocr_pages_per_s": round(len(extracted) / seconds, 3),
        # OCR runs at a lowered priority: on a busy machine the wall time mostly waits.
        "cpu_seconds_per_page": round(cpu_seconds / len(extracted), 1),
    }


def bench_embedding(chunks: list, count: int, rounds: int) -> dict:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from engine.library.embed import Embedder
    from engine.library.indexer import embedding_text

    # Chunks from the middle of the manual: running text, not the title pages.
    start = max(0, len(chunks) // 3)
    texts = [embedding_text(c) for c in chunks[start : start + count]]
    torch_default_threads = torch.get_num_threads()
    baseline = SentenceTransformer(str(embedding_model_dir()), device="cpu")
    hearth = Embedder()
    hearth.load()
    baseline.encode(texts[:16])
    hearth.embed(texts[:16])

    def plain_encode():
        # The embedder sets torch's (process-wide) thread count; the baseline gets torch's own.
        torch.set_num_threads(torch_default_threads)
        return baseline.encode(texts)

    base_times, hearth_times, base_cpu, hearth_cpu = [], [], [], []
    # Interleaved rounds, so load from other processes hits both alike; the paired per-round
    # ratio and the CPU-time rates are the steadiest figures on a shared machine.
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        base_vectors = plain_encode()
        base_times.append(time.perf_counter() - started)
        base_cpu.append(time.process_time() - cpu)
        started, cpu = time.perf_counter(), time.process_time()
        hearth_vectors = hearth.embed(texts)
        hearth_times.append(time.perf_counter() - started)
        hearth_cpu.append(time.process_time() - cpu)
    base_vectors = base_vectors / np.linalg.norm(base_vectors, axis=1, keepdims=True)
    cosine = np.sum(base_vectors * hearth_vectors, axis=1)
    ratios = [b / h for b, h in zip(base_times, hearth_times, strict=True)]
    n = len(texts)
    return {
        "texts": n,
        "rounds": rounds,
        "baseline_torch_threads": torch_default_threads,
        "hearth_torch_threads": hearth.threads,
        "baseline": "sentence-transformers encode(), PyTorch float32, batch 32",
        "hearth": f"Embedder precision={hearth.resolved_precision}, batch {hearth.batch_size}, "
        f"{hearth.threads} thread(s)",
        "baseline_chunks_per_s_best": round(n / min(base_times), 1),
        "hearth_chunks_per_s_best": round(n / min(hearth_times), 1),
        "baseline_chunks_per_s_median": round(n / statistics.median(base_times), 1),
        "hearth_chunks_per_s_median": round(n / statistics.median(hearth_times), 1),
        "speedup_best_vs_best": round(min(base_times) / min(hearth_times), 2),
        "speedup_median_of_paired_rounds": round(statistics.median(ratios), 2),
        "paired_round_speedups": [round(r, 2) for r in ratios],
        "baseline_chunks_per_cpu_s": round(n / statistics.median(base_cpu), 1),
        "hearth_chunks_per_cpu_s": round(n / statistics.median(hearth_cpu), 1),
        "speedup_cpu_time": round(statistics.median(base_cpu) / statistics.median(hearth_cpu), 2),
        "cosine_to_baseline_min": round(float(cosine.min()), 5),
        "cosine_to_baseline_mean": round(float(cosine.mean()), 5),
    }


def hits_at_5(library, questions) -> tuple[int, list]:
    found, misses = 0, []
    for question, pages in questions:
        wanted = pages if isinstance(pages, set) else {pages}
        got = [hit.page for hit in library.search(question, k=5)]
        if wanted & set(got):
            found += 1
        else:
            misses.append(question)
    return found, misses


def bench_quality(pdf: Path | None, work: Path) -> dict:
    """hits@5 on both question sets with the float32 (baseline) and Hearth's embedder."""
    from engine.library import Library
    from engine.library.embed import Embedder

    guide = write_guide_pdf(work / "field-guide.pdf")
    result = {}
    for label, embedder in (("fp32_baseline", Embedder(precision="fp32")), ("hearth", Embedder())):
        entry = {}
        with Library.open(work / f"quality-{label}", "guide", embedder=embedder) as library:
            library.index([guide])
            found, misses = hits_at_5(library, QUESTIONS)
            entry["guide_hits_at_5"] = f"{found}/{len(QUESTIONS)}"
            entry["guide_misses"] = misses
            if pdf is not None:
                library.index([pdf])
                found, misses = hits_at_5(
                    library, [(q, p) for q, p in REAL_PDF_QUESTIONS]
                )  # guide + manual in one library: a harder haystack
                entry["real_pdf_hits_at_5"] = f"{found}/{len(REAL_PDF_QUESTIONS)}"
                entry["real_pdf_misses"] = misses
        entry["precision"] = embedder.resolved_precision
        result[label] = entry
    return result


END_TO_END = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from engine.library import Library
library = Library.open(Path(sys.argv[1]), "e2e")
report = library.index([sys.argv[2]])
seconds = time.perf_counter() - started
library.close()
print(json.dumps({"seconds_including_startup": round(seconds, 2),
                  "index_seconds": round(report.seconds, 2),
                  "pages": report.pages, "chunks": report.chunks,
                  "status": report.outcomes[0].status,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def bench_end_to_end(pdf: Path, work: Path) -> dict:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", END_TO_END, str(work / "e2e"), str(pdf)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["process_wall_seconds"] = round(time.perf_counter() - started, 2)
    data["chunks_per_s"] = round(data["chunks"] / data["index_seconds"], 1)
    return data


def synthetic_library(root: Path, size: int, embedder, seed: int = 7):
    """A library with `size` chunks of Zipf-distributed words and random unit vectors."""
    import numpy as np

    from engine.library import Library
    from engine.library.types import Chunk

    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(20000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    library = Library.open(root, f"synthetic-{size}", embedder=embedder)
    per_file = 1000
    generator = np.random.default_rng(seed)
    for file_number in range(size // per_file):
        path = f"/synthetic/file-{file_number:04d}.pdf"
        file_id = library.manifest.begin_file(path, f"hash{file_number}", 1, 1.0)
        writer = library.manifest.write_file_chunks(file_id)
        chunks = []
        for ordinal in range(per_file):
            words = rng.choices(vocabulary, weights, k=150)
            chunks.append(Chunk(ordinal, ordinal // 3 + 1, 0, 900, None, " ".join(words), 180))
        vectors = generator.standard_normal((per_file, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        library.store.add(file_id, [c.ordinal for c in chunks], vectors)
        writer.add(chunks)
        writer.finish(per_file // 3)
    return library, vocabulary, weights, rng


def bench_search(size: int, work: Path, embedder, queries: int) -> dict:
    from engine.library import keyword

    started = time.perf_counter()
    library, vocabulary, weights, rng = synthetic_library(work / f"search-{size}", size, embedder)
    build_seconds = time.perf_counter() - started
    # Queries mix common and rare words, as people's questions do.
    texts = [
        " ".join(rng.choices(vocabulary, weights, k=2) + rng.choices(vocabulary, k=2))
        for _ in range(queries)
    ]
    for text in texts[:5]:
        library.search(text, k=5)
    started = time.perf_counter()
    library.refresh_snapshot()
    snapshot_seconds = time.perf_counter() - started
    library.search(texts[0], k=5)  # maps the snapshot
    snapshot = library._searchable_vectors()
    # The same searches through chromadb, alternating with the snapshot's, so noise hits both.
    through_snapshot = library._searchable_vectors
    through_store = []
    totals, embeds, vectors, mapped, keywords, grams = [], [], [], [], [], []
    for text in texts:
        started = time.perf_counter()
        library.search(text, k=5)
        totals.append(time.perf_counter() - started)
        library._searchable_vectors = lambda: library.store  # type: ignore[method-assign]
        started = time.perf_counter()
        library.search(text, k=5)
        through_store.append(time.perf_counter() - started)
        library._searchable_vectors = through_snapshot  # type: ignore[method-assign]
        # The parts, timed apart.
        t0 = time.perf_counter()
        vector = embedder.embed_query(text)
        t1 = time.perf_counter()
        library.store.query(vector, 20)
        t2 = time.perf_counter()
        keyword.search(library.manifest.conn, text, 20)
        t3 = time.perf_counter()
        keyword.gram_search(library.manifest.conn, text, 20)
        t4 = time.perf_counter()
        snapshot.query(vector, 20)
        t5 = time.perf_counter()
        embeds.append(t1 - t0)
        vectors.append(t2 - t1)
        keywords.append(t3 - t2)
        grams.append(t4 - t3)
        mapped.append(t5 - t4)
    library.close()

    def ms(values, q):
        return round(percentile(values, q) * 1000, 2)

    return {
        "chunks": size,
        "build_seconds": round(build_seconds, 1),
        "queries": queries,
        "search_p50_ms": ms(totals, 50),
        "search_p95_ms": ms(totals, 95),
        "search_through_chromadb_p50_ms": ms(through_store, 50),
        "search_through_chromadb_p95_ms": ms(through_store, 95),
        "snapshot_write_seconds": round(snapshot_seconds, 2),
        "query_embedding_p95_ms": ms(embeds, 95),
        "vector_query_p95_ms": ms(vectors, 95),
        "snapshot_query_p95_ms": ms(mapped, 95),
        "keyword_query_p95_ms": ms(keywords, 95),
        "ngram_query_p95_ms": ms(grams, 95),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer chunks and rounds")
    parser.add_argument("--sizes", default="10000,100000", help="search index sizes")
    parser.add_argument(
        "--only",
        choices=["end_to_end", "extraction", "ocr", "embedding", "quality", "search"],
        action="append",
        help="run only these parts (repeatable)",
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="also extract and chunk with the code at this git ref (e.g. main), side by side",
    )
    parser.add_argument("--ocr-pages", type=int, default=6, help="pages to OCR")
    args = parser.parse_args()
    pdf = find_real_pdf()
    out: dict = {"machine": {"cpus": os.cpu_count()}}
    if pdf is None:
        out["real_pdf"] = "missing: install Debian's gnuplot-doc or set HEARTH_REAL_PDF"
    parts = set(args.only or ["end_to_end", "extraction", "ocr", "embedding", "quality", "search"])
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        work = Path(tmp)
        if pdf is not None:
            if "end_to_end" in parts:
                out["end_to_end"] = bench_end_to_end(pdf, work)
            if parts & {"extraction", "embedding"}:
                out["extraction"], chunks = bench_extraction(pdf)
            if parts & {"extraction", "end_to_end"} and args.against:
                out["against"] = bench_against(
                    pdf,
                    args.against,
                    3 if args.quick else 5,
                    (1 if args.quick else 2) if "end_to_end" in parts else 0,
                )
            if "ocr" in parts:
                out["ocr"] = bench_ocr(pdf, 2 if args.quick else args.ocr_pages)
            if "embedding" in parts:
                count, rounds = (64, 2) if args.quick else (128, 8)
                out["embedding"] = bench_embedding(chunks, count, rounds)
        if "quality" in parts:
            out["retrieval_quality"] = bench_quality(pdf, work)
        if "search" in parts:
            from engine.library.embed import Embedder

            embedder = Embedder()
            embedder.load()
            sizes = [int(s) for s in args.sizes.split(",") if s]
            if args.quick:
                sizes = [min(s, 10000) for s in sizes[:1]]
            out["search"] = [bench_search(size, work, embedder, 100) for size in sizes]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
