"""`hearth info` and `hearth chat`: the model engine from a terminal, with `--json` for scripts."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from app.cli_options import add_checked
from app.cli_remote import add_remote_options, connect_remote, exit_status
from app.cli_text import argument_text, file_text, stdin_text
from app.paths import app_paths, new_model_session
from engine.backends import detect_backend
from engine.bundled import default_model_path
from engine.cancel import CancelToken
from engine.catalog import ModelCatalog
from engine.context.fit import MachineMemory, largest_windows, prepare_load
from engine.context.manager import ContextManager, ContextSettings
from engine.context.turn import POLICIES, Document, TurnRequest
from engine.display import display_path, display_text
from engine.errors import HearthError
from engine.memory import probe_memory
from engine.session import KV_CACHE_TYPES, LoadSettings, ModelSession, SamplingSettings
from engine.settings_schema import ALL_OPTIONS
from engine.stats import GenerationStats
from engine.storage import size_text


def register(subparsers: Any) -> None:
    info = subparsers.add_parser("info", help="show backends, memory and the model catalog")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=run_info)

    chat = subparsers.add_parser("chat", help="stream a reply from a local model")
    chat.add_argument(
        "prompt", type=argument_text, help="the message to answer ('-' reads standard input)"
    )
    chat.add_argument("--model", help="a GGUF file (default: the bundled model)")
    add_checked(chat, "--ctx", "request.context_size", default=4096,
                help="context window in tokens (0: trained)")  # fmt: skip
    add_checked(chat, "--gpu-layers", "model.gpu_layers", default="auto",
                help="layers on the GPU: a number or 'auto'")  # fmt: skip
    add_checked(chat, "--threads", "model.threads", default=0,
                help="CPU threads (0: physical cores)")  # fmt: skip
    chat.add_argument("--kv-type", choices=sorted(KV_CACHE_TYPES), default="f16")
    chat.add_argument("--flash-attn", action=argparse.BooleanOptionalAction, default=True,
                      help="flash attention where the backend has it (on)")  # fmt: skip
    chat.add_argument("--system", default="", help="a system prompt")
    add_checked(chat, "--max-tokens", "sampling.max_tokens", default=512)
    add_checked(chat, "--temperature", "sampling.temperature", default=0.7, metavar="T")
    add_checked(chat, "--seed", "sampling.seed", default=-1)
    add_checked(chat, "--lookup", "request.lookup_draft_tokens",
                default=ALL_OPTIONS["request.lookup_draft_tokens"].default,
                help="prompt-lookup decoding with at most N drafted tokens (default %(default)s; 0: off)")  # fmt: skip
    chat.add_argument("--draft-model", metavar="PATH", default="",
                      help="a smaller model of the same vocabulary that drafts tokens ('auto': "
                      "one beside the model or bundled)")  # fmt: skip
    chat.add_argument("--overflow", choices=POLICIES, default="sliding_window",
                      help="what to do when the conversation does not fit the window")  # fmt: skip
    chat.add_argument("--history", metavar="FILE",
                      help="earlier messages: a JSON list of {role, content}")  # fmt: skip
    chat.add_argument("--pin", action="append", default=[], metavar="FILE",
                      help="a text file kept whole in the prompt (repeatable)")  # fmt: skip
    chat.add_argument("--json", action="store_true", help="end with one JSON line of stats")
    add_remote_options(chat)
    chat.set_defaults(func=run_chat)


def run_info(args: argparse.Namespace) -> int:
    backend = detect_backend()
    memory = probe_memory()
    catalog = ModelCatalog(app_paths().models_file)
    # The largest window each model can load here, per K/V cache type (all layers on the GPU
    # where llama.cpp can offload, else on the CPU).
    machine = MachineMemory.probe()
    gpu_layers = -1 if backend.gpu_offload and backend.devices else 0
    models = [
        {
            "path": str(entry.path),
            "bundled": entry.bundled,
            "problem": entry.problem,
            **(entry.info.summary() if entry.info else {}),
            **(
                {
                    "largest_window": largest_windows(entry.info, machine, gpu_layers),
                    "largest_window_gpu_layers": gpu_layers,
                }  # fmt: skip
                if entry.info
                else {}
            ),
        }
        for entry in catalog.entries()
    ]
    report = {"backend": backend.to_dict(), "memory": memory.to_dict(), "models": models}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    where = ", ".join(backend.devices) if backend.devices else "CPU only"
    print(f"llama.cpp {backend.llama_cpp_version}: {where}; {backend.default_threads} threads")
    for note in backend.notes:
        print(f"  note: {note}")
    ram = f"RAM {size_text(memory.ram_used)} used of {size_text(memory.ram_total)}"
    if memory.gpus:
        ram += f", VRAM {size_text(memory.vram_used)} used of {size_text(memory.vram_total)}"
    print(ram)
    print("Models:")
    for model in models:
        if model["problem"]:
            print(f"  {display_path(model['path'])}: {display_text(model['problem'])}")
            continue
        print(
            f"  {display_text(model['name'])} ({display_text(model['architecture'])}, {model['parameter_count'] / 1e6:.0f}M "
            f"params, {model['file_type']}, {model['context_length']:,} ctx, "
            f"{size_text(model['file_size'])}"
            f"{'' if model['has_chat_template'] else ', no chat template'})"
            f"{' [bundled]' if model['bundled'] else ''}"
        )
        windows = ", ".join(f"{kind} {size:,}" for kind, size in model["largest_window"].items())
        print(f"    {display_path(model['path'])}")
        print(f"    largest window that fits here: {windows}")
    return 0


def run_chat(args: argparse.Namespace) -> int:
    prompt = stdin_text() if args.prompt == "-" else args.prompt
    if not prompt.strip():  # checked before a model is loaded for nothing
        raise HearthError("The message is empty: there is nothing to answer.",
                          "Give the message as an argument, or '-' to read it from stdin.")  # fmt: skip
    history = _read_history(args.history) if args.history else []
    pinned = [Document(file_text(path), path) for path in args.pin]
    session = connect_remote(args) if args.remote is not None else _load_local(args)
    try:
        return _chat(args, session, prompt, history, pinned)
    finally:
        session.unload()  # a remote session's connections close with it


def _chat(args: argparse.Namespace, session: Any, prompt: str, history: list[dict[str, str]],
          pinned: list[Document]) -> int:  # fmt: skip
    manager = ContextManager(session, ContextSettings(policy=args.overflow))
    request = TurnRequest(args.system, prompt, history, pinned)
    plan = manager.plan(request, args.max_tokens)
    if plan.notice:
        print(f"[context: {display_text(plan.notice)}]", file=sys.stderr)
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
        stats = _stream(manager.chat(plan, sampling, cancel))
    finally:
        signal.signal(signal.SIGINT, previous)
    print()
    if args.json:
        context = {
            "budget": manager.budget.to_dict(),
            "changes": [vars(change) for change in plan.changes],
            "notice": plan.notice,
            "reused_tokens": plan.reused_tokens,
        }
        print(json.dumps({**stats.to_dict(), "context": context}))
    else:
        print(
            f"[{stats.generated_tokens} tokens, TTFT {stats.ttft_s * 1000:.0f} ms, "
            f"{stats.generation_tokens_per_s:.1f} tok/s, prompt {stats.prompt_tokens} tokens "
            f"at {stats.prompt_tokens_per_s:.0f} tok/s, stop: {stats.stop_reason}]",
            file=sys.stderr,
        )
    return exit_status(args, stats)


def _load_local(args: argparse.Namespace) -> ModelSession:
    settings = LoadSettings(
        model_path=args.model or str(default_model_path()),
        n_ctx=args.ctx,
        n_threads=args.threads,
        n_gpu_layers=args.gpu_layers,
        flash_attn=args.flash_attn,
        type_k=args.kv_type,
        type_v=args.kv_type,
        draft_model_path=getattr(args, "draft_model", ""),
    )
    # Refuse a window that does not fit this machine before llama.cpp tries to allocate it.
    settings, fit = prepare_load(settings, flash_attn=True if args.flash_attn else None)
    for note in fit.notes:
        print(f"[note: {display_text(note)}]", file=sys.stderr)
    session = new_model_session()
    report = session.load(settings)
    for note in report.notes:
        print(f"[note: {display_text(note)}]", file=sys.stderr)
    return session


def _read_history(path: str) -> list[dict[str, str]]:
    """Earlier messages from a JSON file: [{"role": "user"|"assistant", "content": "..."}]."""
    try:
        messages = json.loads(file_text(path))
        history = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    except (ValueError, TypeError, KeyError) as exc:
        raise HearthError(
            f"{path} is not a chat history.",
            'Write a JSON list of {"role": "user" or "assistant", "content": "..."} objects.',
        ) from exc
    if any(m["role"] not in ("user", "assistant") for m in history):
        raise HearthError(f"{path} has a message whose role is not 'user' or 'assistant'.")
    return history


def _stream(events: Any) -> GenerationStats:
    for event in events:
        if isinstance(event, GenerationStats):
            return event
        sys.stdout.write(event)
        sys.stdout.flush()
    raise RuntimeError("the generation stream ended without stats")
