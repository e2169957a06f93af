"""Benchmark of the benchmark lab: is it right, and what does it cost over bare llama.cpp?

Prints one JSON object:

- perplexity: Hearth's lab (`engine.lab.quality`) against a raw evaluation on llama.cpp's C API
  of the same tokens with the same context (llama-perplexity's method, written out here without
  any of the engine's code); they must agree to 0.1%.
- overhead: the wall time of a whole lab run (`run_bench`: load, prompt processing, generation,
  perplexity, with its planning, memory watch and progress events) against a raw loop doing the
  same measurements, alternating, median ratio over the rounds; the goal is <= 1.1.

    .venv/bin/python bench/lab.py [--model PATH] [--rounds N] [--threads N]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llama_cpp  # noqa: E402
import numpy as np  # noqa: E402

from bench.engine import RawLoop  # noqa: E402
from engine.backends import default_threads  # noqa: E402
from engine.bundled import gemma_model_path  # noqa: E402
from engine.lab import BenchPlan, BenchResults, QualitySettings, run_bench  # noqa: E402
from engine.lab.evaluate import TokenEvaluator  # noqa: E402
from engine.lab.plan import read_text  # noqa: E402
from engine.lab.quality import measure_quality  # noqa: E402
from engine.session import LoadSettings, ModelSession  # noqa: E402

CHUNK = 256
CHUNKS = 4
PROMPT = 512
GEN = 32


class RawModel(RawLoop):
    """bench/engine.py's bare llama.cpp model and context (CPU, flash attention off, batches of
    512), with what llama-perplexity does on top: tokenizing and scoring a text."""

    def __init__(self, path: str, n_ctx: int, threads: int) -> None:
        super().__init__(path, n_ctx, threads)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.batch = llama_cpp.llama_batch_init(512, 0, 1)

    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (llama_cpp.llama_token * (len(data) + 8))()
        count = llama_cpp.llama_tokenize(self.vocab, data, len(data), out, len(out), True, False)
        return list(out[:count])

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)

    def decode(self, tokens: list[int], start: int, logits_from: int) -> None:
        for i, token in enumerate(tokens):
            self.batch.token[i] = token
            self.batch.pos[i] = start + i
            self.batch.n_seq_id[i] = 1
            self.batch.seq_id[i][0] = 0
            self.batch.logits[i] = start + i >= logits_from
        self.batch.n_tokens = len(tokens)
        if llama_cpp.llama_decode(self.ctx, self.batch):
            raise RuntimeError("decode failed")

    def perplexity(self, tokens: list[int], n_ctx: int, chunks: int) -> float:
        """llama-perplexity's loop: BOS-led chunks, second half scored, float64 log-softmax."""
        bos = llama_cpp.llama_vocab_bos(self.vocab)
        add_bos = llama_cpp.llama_vocab_get_add_bos(self.vocab)
        first = n_ctx // 2
        total, count = 0.0, 0
        for index in range(chunks):
            chunk = tokens[index * n_ctx : (index + 1) * n_ctx]
            if add_bos:
                chunk[0] = bos
            self.clear()
            self.decode(chunk, 0, first)
            pointer = llama_cpp.llama_get_logits(self.ctx)
            logits = np.ctypeslib.as_array(pointer, shape=((n_ctx - first) * self.n_vocab,))
            logits = logits.reshape(n_ctx - first, self.n_vocab)
            targets = np.asarray(chunk[first + 1 :])
            for row in range(0, n_ctx - 1 - first, 16):  # float64, 16 rows at a time
                block = logits[row : min(row + 16, n_ctx - 1 - first)].astype(np.float64)
                peak = block.max(axis=1)
                log_sum = peak + np.log(np.exp(block - peak[:, None]).sum(axis=1))
                picked = block[np.arange(len(block)), targets[row : row + len(block)]]
                total += float((log_sum - picked).sum())
                count += len(block)
        return math.exp(total / count)

    def speed(self, prompt: list[int], gen: int) -> None:
        """What the lab's speed steps do: pp of the prompt, then the prompt again and `gen` tokens
        decoded one at a time, picked greedily (time to first token and generation)."""
        self.clear()
        for start in range(0, len(prompt), 512):
            piece = prompt[start : start + 512]
            self.decode(piece, start, start + len(piece) - 1)
        self.clear()
        for start in range(0, len(prompt), 512):
            piece = prompt[start : start + 512]
            self.decode(piece, start, start + len(piece) - 1)
        llama_cpp.llama_sampler_reset(self.sampler)
        token = llama_cpp.llama_sampler_sample(self.sampler, self.ctx, -1)
        position = len(prompt)
        for _ in range(gen - 1):
            self.decode([token], position, position)
            position += 1
            token = llama_cpp.llama_sampler_sample(self.sampler, self.ctx, -1)

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        super().close()


def raw_run(path: str, text: str, threads: int) -> float:
    """Seconds for the raw loop to do what one lab visit does: load, pp, tg, perplexity."""
    started = time.perf_counter()
    raw = RawModel(path, PROMPT + GEN, threads)
    tokens = raw.tokenize(text)
    raw.speed((tokens * (PROMPT // len(tokens) + 1))[:PROMPT], GEN)
    raw.perplexity(tokens, CHUNK, CHUNKS)
    raw.close()
    return time.perf_counter() - started


def lab_run(path: str, threads: int) -> float:
    started = time.perf_counter()
    plan = BenchPlan(
        models=(path,),
        prompt_lengths=(PROMPT,),
        gen_tokens=GEN,
        ttft_prompt_tokens=PROMPT,
        repeats=1,
        quality_settings=QualitySettings(CHUNK, CHUNKS),
        n_threads=threads,
        n_gpu_layers=0,
    )
    for event in run_bench(plan):
        if isinstance(event, BenchResults) and event.results[0].error:
            raise RuntimeError(event.results[0].error)
    return time.perf_counter() - started


def hearth_perplexity(path: str, text: str, threads: int) -> float:
    session = ModelSession()
    session.load(LoadSettings(model_path=path, n_ctx=CHUNK, n_threads=threads, n_gpu_layers=0))
    with TokenEvaluator(session.llama) as evaluator:
        steps = measure_quality(evaluator, text, QualitySettings(CHUNK, CHUNKS))
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                result = stop.value[0]
                break
    session.unload()
    return result.perplexity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(gemma_model_path()))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=default_threads())
    args = parser.parse_args()
    text, text_name = read_text(None)
    llama_cpp.llama_log_set(_quiet, ctypes.c_void_p(0))

    hearth_ppl = hearth_perplexity(args.model, text, args.threads)
    raw = RawModel(args.model, CHUNK, args.threads)
    raw_ppl = raw.perplexity(raw.tokenize(text), CHUNK, CHUNKS)
    raw.close()

    lab_times, raw_times = [], []
    lab_run(args.model, args.threads)  # warm-up: page cache, first-load costs
    for round_index in range(args.rounds):
        order = ("lab", "raw") if round_index % 2 == 0 else ("raw", "lab")
        for which in order:
            if which == "lab":
                lab_times.append(lab_run(args.model, args.threads))
            else:
                raw_times.append(raw_run(args.model, text, args.threads))
    ratios = [lab / raw for lab, raw in zip(lab_times, raw_times, strict=True)]
    difference = abs(hearth_ppl - raw_ppl) / raw_ppl
    print(
        json.dumps(
            {
                "model": Path(args.model).name,
                "text": text_name,
                "threads": args.threads,
                "chunk_tokens": CHUNK,
                "chunks": CHUNKS,
                "hearth_perplexity": round(hearth_ppl, 6),
                "raw_perplexity": round(raw_ppl, 6),
                "perplexity_relative_difference": difference,
                "perplexity_agrees_to_0_1_percent": difference <= 0.001,
                "lab_seconds": [round(t, 3) for t in lab_times],
                "raw_seconds": [round(t, 3) for t in raw_times],
                "overhead_ratio": round(statistics.median(ratios), 3),
                "overhead_ratios": [round(r, 3) for r in ratios],
                "overhead_goal": 1.1,
                "measurements": f"load, pp{PROMPT}, tg{GEN}, perplexity {CHUNKS}x{CHUNK}",
            },
            indent=2,
        )
    )


@llama_cpp.llama_log_callback
def _quiet(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    """llama.cpp's own log stays out of the JSON on stdout."""


if __name__ == "__main__":
    main()
