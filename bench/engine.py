"""Engine benchmark: Hearth's generation loop against a raw llama.cpp decode loop, side by side.

Prints one JSON object. Both loops run greedy on the same model, threads, context size and prompt,
alternating, so machine noise hits both alike. Also measures time to first token across a growing
five-turn chat (prefix reuse); prompt-lookup decoding, fixed-length and adaptive (the default),
on a reply that quotes a long pasted text and on one that quotes nothing, all interleaved; and
draft-model decoding (the bundled Q4_1 drafting for a Q8_0 variant of itself) against the same
model alone.

    .venv/bin/python bench/engine.py [--model PATH] [--tokens N] [--rounds N] [--threads N]
                                     [--only all|lookup|draft] [--draft-sizes 2,4,8]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llama_cpp  # noqa: E402

from engine.backends import default_threads  # noqa: E402
from engine.bundled import default_model_path  # noqa: E402
from engine.session import LoadSettings, ModelSession, SamplingSettings  # noqa: E402
from engine.settings_schema import LOOKUP_DRAFT_TOKENS  # noqa: E402
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
        # The same attention kernels as the engine's default (flash attention where supported).
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
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


def quote_messages() -> list[dict[str, str]]:
    text = PASSAGE * 2
    return [
        {"role": "user", "content": f"Here is a text:\n\n{text}\n\nRepeat the text word for word."}
    ]


def interleaved(session: ModelSession, runs: dict[str, tuple[list, SamplingSettings]],
                rounds: int, fixed: frozenset[str] = frozenset()
                ) -> dict[str, list[GenerationStats]]:  # fmt: skip
    """Each named (messages, sampling) run `rounds` times, in turn, from an empty cache.

    The order rotates every round, so a busy moment on the machine hits every variant alike.
    Runs named in `fixed` draft with a fixed-length pacer (see `fixed_lookup`).
    """
    names = list(runs)
    results: dict[str, list[GenerationStats]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            messages, sampling = runs[name]
            session.llama.reset()
            with fixed_lookup() if name in fixed else contextlib.nullcontext():
                results[name].append(collect(session.chat(messages, sampling))[1])
    return results


def median_rate(stats: list[GenerationStats]) -> float:
    return statistics.median(s.generation_tokens_per_s for s in stats)


def lookup_speedup(session: ModelSession, draft_sizes: list[int], rounds: int) -> dict:
    """Fixed-length prompt lookup (every step drafts) against plain decoding, by draft length,
    and adaptive lookup (Hearth's default) on a quoting reply and on a plain one, side by side."""
    greedy = {"temperature": 0, "max_tokens": 160, "repeat_penalty": 1.0}
    quote = quote_messages()
    plain = [{"role": "user", "content": STORY_PROMPT}]
    off = SamplingSettings(**greedy, lookup_draft_tokens=0)
    # Hearth's default (settings, CLI, server): adaptive, up to LOOKUP_DRAFT_TOKENS.
    adaptive = SamplingSettings(**greedy, lookup_draft_tokens=LOOKUP_DRAFT_TOKENS)
    runs: dict[str, tuple[list, SamplingSettings]] = {
        "quote_off": (quote, off),
        "quote_adaptive": (quote, adaptive),
        "plain_off": (plain, off),
        "plain_adaptive": (plain, adaptive),
    }
    for n in draft_sizes:
        runs[f"quote_fixed_{n}"] = (quote, SamplingSettings(**greedy, lookup_draft_tokens=n))
        runs[f"plain_fixed_{n}"] = (plain, SamplingSettings(**greedy, lookup_draft_tokens=n))
    fixed = frozenset(name for name in runs if "_fixed_" in name)
    results = interleaved(session, runs, rounds, fixed)
    quote_base = median_rate(results["quote_off"])
    plain_base = median_rate(results["plain_off"])

    def acceptance(name: str) -> float:
        last = results[name][-1]
        return round(last.accepted_draft_tokens / max(last.drafted_tokens, 1), 3)

    by_size = {
        str(n): {
            "tokens_per_s": round(median_rate(results[f"quote_fixed_{n}"]), 2),
            "speedup": round(median_rate(results[f"quote_fixed_{n}"]) / quote_base, 3),
            "acceptance": acceptance(f"quote_fixed_{n}"),
            "plain_reply_ratio": round(median_rate(results[f"plain_fixed_{n}"]) / plain_base, 3),
        }
        for n in draft_sizes
    }
    best = max(draft_sizes, key=lambda n: median_rate(results[f"quote_fixed_{n}"]))
    return {
        "lookup_adaptive_quote_speedup": round(
            median_rate(results["quote_adaptive"]) / quote_base, 3
        ),
        "lookup_adaptive_plain_ratio": round(
            median_rate(results["plain_adaptive"]) / plain_base, 3
        ),
        "lookup_adaptive_quote_acceptance": acceptance("quote_adaptive"),
        "lookup_adaptive_plain_drafted": results["plain_adaptive"][-1].drafted_tokens,
        "lookup_speedup": by_size[str(best)]["speedup"],
        "lookup_plain_reply_ratio": by_size[str(best)]["plain_reply_ratio"],
        "lookup_best_draft_tokens": best,
        "lookup_baseline_tokens_per_s": round(quote_base, 2),
        "lookup_plain_baseline_tokens_per_s": round(plain_base, 2),
        "lookup_by_draft_tokens": by_size,
        "lookup_runs": {
            name: [round(s.generation_tokens_per_s, 2) for s in stats]
            for name, stats in results.items()
        },  # fmt: skip
    }


@contextlib.contextmanager
def fixed_lookup() -> Iterator[None]:
    """Lookup runs named "fixed" draft their full length every step, as before adaptive pacing:
    a pacer that never pauses and never changes its length."""
    import engine.drafter as drafter_module
    from engine.lookup import DraftPacer

    class Fixed(DraftPacer):
        def __init__(self, max_tokens: int, **_: object) -> None:
            super().__init__(max_tokens, start_tokens=max_tokens)

        def verified(self, drafted: int, accepted: int) -> None:
            pass

    original = drafter_module.DraftPacer

    def pacer(max_tokens: int, **kwargs: object) -> DraftPacer:
        # Only the lookup's pacer: the draft model's is the one made with its own `max_pause`.
        model_pacer = "max_pause" in kwargs
        return original(max_tokens, **kwargs) if model_pacer else Fixed(max_tokens)  # type: ignore[arg-type]

    drafter_module.DraftPacer = pacer  # type: ignore[assignment, misc]
    try:
        yield
    finally:
        drafter_module.DraftPacer = original  # type: ignore[misc]


def draft_model_speedup(target_path: Path, draft_path: Path, threads: int, rounds: int) -> dict:
    """A model with a draft model against the same model alone, both greedy, lookup off,
    on a plain reply (every draft comes from the draft model)."""
    greedy = SamplingSettings(
        temperature=0, max_tokens=128, repeat_penalty=1.0, lookup_draft_tokens=0
    )
    plain = [{"role": "user", "content": STORY_PROMPT}]
    settings = LoadSettings(model_path=str(target_path), n_ctx=N_CTX, n_threads=threads,
                            n_gpu_layers=0)  # fmt: skip
    alone, with_draft = ModelSession(), ModelSession()
    alone.load(settings)
    with_draft.load(replace(settings, draft_model_path=str(draft_path)))
    rates: dict[str, list[float]] = {"alone": [], "draft": []}
    stats = None
    try:
        for round_index in range(rounds):
            order = ("alone", "draft") if round_index % 2 == 0 else ("draft", "alone")
            for which in order:
                session = alone if which == "alone" else with_draft
                session.llama.reset()
                result = collect(session.chat(plain, greedy))[1]
                rates[which].append(result.generation_tokens_per_s)
                if which == "draft":
                    stats = result
    finally:
        alone.unload()
        with_draft.unload()
    assert stats is not None
    return {
        "draft_model_speedup": round(
            statistics.median(rates["draft"]) / statistics.median(rates["alone"]), 3
        ),
        "draft_model_acceptance": round(
            stats.accepted_draft_tokens / max(stats.drafted_tokens, 1), 3
        ),  # fmt: skip
        "draft_model_target": target_path.name,
        "draft_model_draft": draft_path.name,
        "draft_model_runs": {k: [round(r, 2) for r in v] for k, v in rates.items()},
    }


def q8_variant(source: Path) -> Path:
    """A Q8_0 copy of `source` under build/bench, made once with llama.cpp's quantizer."""
    from engine.lab.quantize import QuantizeRequest, quantize

    folder = Path(__file__).resolve().parent.parent / "build" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{source.stem}-Q8_0.gguf"
    if not target.exists():
        list(quantize(QuantizeRequest(str(source), "Q8_0", str(target), allow_requantize=True)))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: one per physical core")
    parser.add_argument("--only", choices=("all", "lookup", "draft"), default="all")
    parser.add_argument("--draft-sizes", default="2,4,8",
                        help="fixed prompt-lookup draft lengths to compare, comma-separated")  # fmt: skip
    args = parser.parse_args()
    threads = args.threads or default_threads()
    result: dict = {"model": Path(args.model).name, "threads": threads, "n_ctx": N_CTX}
    if args.only in ("all", "lookup"):
        session = ModelSession()
        session.load(
            LoadSettings(model_path=args.model, n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0)
        )
        if args.only == "all":
            raw = RawLoop(args.model, N_CTX, threads)
            result.update(engine_vs_raw(session, raw, args.tokens, args.rounds))
            raw.close()
            result.update(multi_turn_ttft(session))
        sizes = [int(size) for size in args.draft_sizes.split(",")]
        result.update(lookup_speedup(session, sizes, args.rounds))
        session.unload()
    if args.only in ("all", "draft"):
        # The bundled Q4_1 drafts for a Q8_0 variant of the same model (one vocabulary).
        source = Path(args.model)
        result.update(draft_model_speedup(q8_variant(source), source, threads, args.rounds))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
