"""`hearth info` and `hearth chat`: the model engine from a terminal, with `--json` for scripts."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from app.paths import app_paths
from engine.backends import detect_backend
from engine.bundled import default_model_path
from engine.cancel import CancelToken
from engine.catalog import ModelCatalog
from engine.memory import probe_memory
from engine.session import KV_CACHE_TYPES, LoadSettings, ModelSession, SamplingSettings
from engine.stats import GenerationStats


def register(subparsers: Any) -> None:
    info = subparsers.add_parser("info", help="show backends, memory and the model catalog")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=run_info)

    chat = subparsers.add_parser("chat", help="stream a reply from a local model")
    chat.add_argument("prompt", help="the message to answer ('-' reads standard input)")
    chat.add_argument("--model", help="a GGUF file (default: the bundled model)")
    chat.add_argument("--ctx", type=int, default=4096, help="context window in tokens (0: trained)")
    chat.add_argument("--gpu-layers", default="auto", help="layers on the GPU: a number or 'auto'")
    chat.add_argument("--threads", type=int, default=0, help="CPU threads (0: physical cores)")
    chat.add_argument("--kv-type", choices=sorted(KV_CACHE_TYPES), default="f16")
    chat.add_argument("--flash-attn", action="store_true")
    chat.add_argument("--system", default="", help="a system prompt")
    chat.add_argument("--max-tokens", type=int, default=512)
    chat.add_argument("--temperature", type=float, default=0.7)
    chat.add_argument("--seed", type=int, default=-1)
    chat.add_argument("--lookup", type=int, default=0, metavar="N",
                      help="prompt-lookup decoding with N drafted tokens (0: off)")  # fmt: skip
    chat.add_argument("--json", action="store_true", help="end with one JSON line of stats")
    chat.set_defaults(func=run_chat)


def run_info(args: argparse.Namespace) -> int:
    backend = detect_backend()
    memory = probe_memory()
    catalog = ModelCatalog(app_paths().models_file)
    models = [
        {
            "path": str(entry.path),
            "bundled": entry.bundled,
            "problem": entry.problem,
            **(entry.info.summary() if entry.info else {}),
        }
        for entry in catalog.entries()
    ]
    report = {"backend": backend.to_dict(), "memory": memory.to_dict(), "models": models}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    gib = 2**30
    where = ", ".join(backend.devices) if backend.devices else "CPU only"
    print(f"llama.cpp {backend.llama_cpp_version}: {where}; {backend.default_threads} threads")
    for note in backend.notes:
        print(f"  note: {note}")
    print(
        f"RAM {memory.ram_used / gib:.1f} / {memory.ram_total / gib:.1f} GiB"
        + (
            f", VRAM {memory.vram_used / gib:.1f} / {memory.vram_total / gib:.1f} GiB"
            if memory.gpus
            else ""
        )  # fmt: skip
    )
    print("Models:")
    for model in models:
        if model["problem"]:
            print(f"  {model['path']}: {model['problem']}")
            continue
        print(
            f"  {model['name']} ({model['architecture']}, {model['parameter_count'] / 1e6:.0f}M "
            f"params, {model['file_type']}, {model['context_length']} ctx, "
            f"{model['file_size'] / 2**20:.0f} MB"
            f"{'' if model['has_chat_template'] else ', no chat template'})"
            f"{' [bundled]' if model['bundled'] else ''}"
        )
        print(f"    {model['path']}")
    return 0


def run_chat(args: argparse.Namespace) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    session = ModelSession()
    session.load(
        LoadSettings(
            model_path=args.model or str(default_model_path()),
            n_ctx=args.ctx,
            n_threads=args.threads,
            n_gpu_layers=args.gpu_layers,
            flash_attn=args.flash_attn,
            type_k=args.kv_type,
            type_v=args.kv_type,
        )
    )
    messages = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": prompt})
    sampling = SamplingSettings(
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        lookup_draft_tokens=args.lookup,
    )
    cancel = CancelToken()
    # Ctrl+C stops the reply cleanly and still prints the stats.
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        stats = _stream(session.chat(messages, sampling, cancel))
    finally:
        signal.signal(signal.SIGINT, previous)
    print()
    if args.json:
        print(json.dumps(stats.to_dict()))
    else:
        print(
            f"[{stats.generated_tokens} tokens, TTFT {stats.ttft_s * 1000:.0f} ms, "
            f"{stats.generation_tokens_per_s:.1f} tok/s, prompt {stats.prompt_tokens} tokens "
            f"at {stats.prompt_tokens_per_s:.0f} tok/s, stop: {stats.stop_reason}]",
            file=sys.stderr,
        )
    return 1 if stats.stop_reason == "error" else 0


def _stream(events: Any) -> GenerationStats:
    for event in events:
        if isinstance(event, GenerationStats):
            return event
        sys.stdout.write(event)
        sys.stdout.flush()
    raise RuntimeError("the generation stream ended without stats")
