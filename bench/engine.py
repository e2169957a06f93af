"""Engine benchmark: Hearth's generation loop against a raw llama.cpp decode loop, side by side.

Prints one JSON object. Both loops run greedy on the same model, threads, context size and prompt,
alternating, so machine noise hits both alike. Also measures time to first token across a growing
five-turn chat (prefix reuse) and the speed-up of prompt-lookup decoding on a reply that quotes a
long pasted text, for several draft lengths.

    .venv/bin/python bench/engine.py [--model PATH] [--tokens N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llama_cpp  # noqa: E402

from engine.backends import default_threads  # noqa: E402
from engine.bundled import default_model_path  # noqa: E402
from engine.session import LoadSettings, ModelSession, SamplingSettings  # noqa: E402
from engine.stats import GenerationStats  # noqa: E402

N_CTX = 4096
STORY_PROMPT = "Write a long, detailed story about a lighthouse keeper and a storm."
PASSAGE = (
    "Hearth keeps every document on your own disk. When you drop a file onto the window, its "
    "text is read page by page, split into overlapping passages, and each passage is turned into "
    "a vector by a small embedding model. The vectors and the words are stored side by side, so "
    "a question can be matched both by meaning and by exact terms such as command names, error "
    "codes or part numbers. The answer quotes the passages it used and names the page each one "
    "came from, so that you can check it yourself in the original document. "
)


def collect(events) -> tuple[str, GenerationStats]:
    text = []
    for event in events:
        if isinstance(event, GenerationStats):
            return "".join(text), event
        text.append(event)
    raise RuntimeError("stream ended without stats")


class RawLoop:
    """A minimal greedy decode loop on llama.cpp's C API: the ceiling for any wrapper."""

    def __init__(self, model_path: str, n_ctx: int, threads: int) -> None:
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        self.model = llama_cpp.llama_model_load_from_file(model_path.encode(), params)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = cparams.n_ubatch = 512
        cparams.n_threads = cparams.n_threads_batch = threads
        # The same attention kernels as the engine's default (flash attention off).
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.sampler = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params()
        )
        llama_cpp.llama_sampler_chain_add(self.sampler, llama_cpp.llama_sampler_init_greedy())

    def run(self, prompt: list[int], n_tokens: int) -> tuple[int, float]:
        """Decode `n_tokens` after the prompt; return (tokens, tokens/s after the first)."""
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
        llama_cpp.llama_sampler_reset(self.sampler)
        array = (llama_cpp.llama_token * len(prompt))(*prompt)
        if llama_cpp.llama_decode(self.ctx, llama_cpp.llama_batch_get_one(array, len(prompt))):
            raise RuntimeError("prefill failed")
        one = (llama_cpp.llama_token * 1)()
        token = llama_cpp.llama_sampler_sample(self.sampler, self.ctx, -1)
        first = time.perf_counter()
        for _ in range(n_tokens - 1):
            one[0] = token
            if llama_cpp.llama_decode(self.ctx, llama_cpp.llama_batch_get_one(one, 1)):
                raise RuntimeError("decode failed")
            token = llama_cpp.llama_sampler_sample(self.sampler, self.ctx, -1)
        return n_tokens, (n_tokens - 1) / (time.perf_counter() - first)

    def close(self) -> None:
        llama_cpp.llama_sampler_free(self.sampler)
        llama_cpp.llama_free(self.ctx)
        llama_cpp.llama_model_free(self.model)


def engine_vs_raw(session: ModelSession, raw: RawLoop, n_tokens: int, rounds: int) -> dict:
    messages = [{"role": "user", "content": STORY_PROMPT}]
    prompt = session.prompt_tokens(messages)
    greedy = SamplingSettings(temperature=0, max_tokens=n_tokens, repeat_penalty=1.0)
    engine_rates, raw_rates = [], []
    session.llama.reset()
    n_generated = collect(session.chat(messages, greedy))[1].generated_tokens  # warm-up
    for round_index in range(rounds):
        # Alternate which loop goes first, so neither always runs on a warmer machine.
        for which in ("engine", "raw") if round_index % 2 == 0 else ("raw", "engine"):
            if which == "engine":
                session.llama.reset()
                _, stats = collect(session.chat(messages, greedy))
                engine_rates.append(stats.generation_tokens_per_s)
            else:
                # The raw loop decodes exactly as many tokens as the engine produces.
                raw_rates.append(raw.run(prompt, n_generated)[1])
    engine = statistics.median(engine_rates)
    raw_rate = statistics.median(raw_rates)
    return {
        "engine_tokens_per_s": round(engine, 2),
        "raw_tokens_per_s": round(raw_rate, 2),
        "ratio": round(engine / raw_rate, 3),
        "generated_tokens": n_generated,
        "engine_runs": [round(r, 2) for r in engine_rates],
        "raw_runs": [round(r, 2) for r in raw_rates],
    }


def multi_turn_ttft(session: ModelSession) -> dict:
    session.llama.reset()
    sampling = SamplingSettings(temperature=0, max_tokens=32, repeat_penalty=1.0)
    history = [{"role": "system", "content": "You are a helpful assistant. " + PASSAGE}]
    questions = [
        "What happens when I drop a file onto the window?",
        "How are passages matched to a question?",
        "Why are exact terms important?",
        "How can I check an answer?",
        "Summarise all of that in one sentence.",
    ]
    turns = []
    for question in questions:
        history.append({"role": "user", "content": question})
        reply, stats = collect(session.chat(history, sampling))
        history.append({"role": "assistant", "content": reply})
        turns.append(stats)
    return {
        "ttft_turn1_s": round(turns[0].ttft_s, 4),
        "ttft_turn5_s": round(turns[-1].ttft_s, 4),
        "turn5_over_turn1": round(turns[-1].ttft_s / turns[0].ttft_s, 3),
        "prompt_tokens_per_turn": [t.prompt_tokens for t in turns],
        "cached_tokens_per_turn": [t.cached_tokens for t in turns],
    }


def lookup_speedup(session: ModelSession, draft_sizes: list[int], rounds: int) -> dict:
    text = PASSAGE * 2
    messages = [
        {"role": "user", "content": f"Here is a text:\n\n{text}\n\nRepeat the text word for word."}
    ]
    rates: dict[int, list[float]] = {n: [] for n in [0, *draft_sizes]}
    acceptance: dict[int, float] = {}
    for _ in range(rounds):
        for n in rates:
            session.llama.reset()
            sampling = SamplingSettings(
                temperature=0, max_tokens=160, repeat_penalty=1.0, lookup_draft_tokens=n
            )
            _, stats = collect(session.chat(messages, sampling))
            rates[n].append(stats.generation_tokens_per_s)
            if n:
                acceptance[n] = stats.accepted_draft_tokens / max(stats.drafted_tokens, 1)
    base = statistics.median(rates[0])
    by_size = {
        str(n): {
            "tokens_per_s": round(statistics.median(rates[n]), 2),
            "speedup": round(statistics.median(rates[n]) / base, 3),
            "acceptance": round(acceptance[n], 3),
        }
        for n in draft_sizes
    }
    best = max(draft_sizes, key=lambda n: statistics.median(rates[n]))
    # The cost side: a reply that quotes nothing, where most drafts are rejected.
    plain = [{"role": "user", "content": STORY_PROMPT}]
    plain_rates: dict[int, list[float]] = {0: [], best: []}
    for _ in range(rounds):
        for n in plain_rates:
            session.llama.reset()
            sampling = SamplingSettings(
                temperature=0, max_tokens=160, repeat_penalty=1.0, lookup_draft_tokens=n
            )
            plain_rates[n].append(collect(session.chat(plain, sampling))[1].generation_tokens_per_s)
    return {
        "lookup_plain_reply_ratio": round(
            statistics.median(plain_rates[best]) / statistics.median(plain_rates[0]), 3
        ),
        "lookup_speedup": by_size[str(best)]["speedup"],
        "lookup_best_draft_tokens": best,
        "lookup_baseline_tokens_per_s": round(base, 2),
        "lookup_by_draft_tokens": by_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    threads = default_threads()
    session = ModelSession()
    session.load(
        LoadSettings(model_path=args.model, n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0)
    )
    raw = RawLoop(args.model, N_CTX, threads)
    result = {
        "model": Path(args.model).name,
        "threads": threads,
        "n_ctx": N_CTX,
        **engine_vs_raw(session, raw, args.tokens, args.rounds),
        **multi_turn_ttft(session),
        **lookup_speedup(session, [2, 4, 8], args.rounds),
    }
    raw.close()
    session.unload()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
