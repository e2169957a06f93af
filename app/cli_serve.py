"""`hearth serve`: the model as an OpenAI-compatible HTTP API for other programs.

Safe by default: it listens on 127.0.0.1 only, and any other address needs an API key. Anything
that stops it from starting (a bad model file, a port in use, a window that does not fit) is one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from app.cli_options import add_checked
from engine.settings_schema import OPTIONS_BY_KEY, OVERFLOW_POLICIES

KEY_VARIABLE = "HEARTH_SERVE_API_KEY"


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="serve the model to other programs over an OpenAI-compatible API",
        description="Answer /v1/chat/completions (streamed or not), /v1/models and "
        "/v1/embeddings with the model Hearth loads, one request at a time, others waiting in "
        'order. A request may add "hearth": {"library": NAME} to answer from a document '
        "library; the reply then carries its sources. Ctrl+C stops.",
    )
    serve.add_argument("--host", default=OPTIONS_BY_KEY["server.host"].default,
                       help="the address to listen on (127.0.0.1: this computer only; any other "
                       "needs an API key)")  # fmt: skip
    add_checked(serve, "--port", "request.port", default=OPTIONS_BY_KEY["server.port"].default,
                help="TCP port (0: any free port)")  # fmt: skip
    serve.add_argument("--api-key", metavar="KEY",
                       help=f"the key clients must send (else ${KEY_VARIABLE}); required "
                       "for any address but 127.0.0.1")  # fmt: skip
    serve.add_argument("--model", help="a GGUF file (default: the bundled model)")
    serve.add_argument("--draft-model", metavar="PATH", default="",
                       help="a smaller model of the same vocabulary that drafts tokens ('auto': "
                       "one beside the model or bundled)")  # fmt: skip
    add_checked(serve, "--ctx", "request.context_size",
                default=OPTIONS_BY_KEY["model.context_size"].default,
                help="context window in tokens (0: trained)")  # fmt: skip
    add_checked(serve, "--gpu-layers", "model.gpu_layers", default="auto",
                help="layers on the GPU: a number or 'auto'")  # fmt: skip
    add_checked(serve, "--threads", "model.threads", default=0,
                help="CPU threads (0: physical cores)")  # fmt: skip
    add_checked(serve, "--queue-limit", "server.queue_limit",
                default=OPTIONS_BY_KEY["server.queue_limit"].default,
                help="requests that may wait for the model; more get HTTP 429")  # fmt: skip
    serve.add_argument("--overflow", choices=OVERFLOW_POLICIES,
                       default=OPTIONS_BY_KEY["context.overflow_policy"].default,
                       help="what to do with a conversation longer than the window ('stop': "
                       "refuse it with HTTP 400)")  # fmt: skip
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Check the address, bind the port, load the model, then serve until Ctrl+C.

    Raises:
        HearthError: no key for a non-loopback address, a port that cannot be bound, a model that
            cannot be loaded (the CLI prints it as one line, exit status 2).
    """
    from app.paths import app_paths
    from app.serve.app import build_app
    from app.serve.auth import check_bind
    from app.serve.documents import LibrarySearch
    from app.serve.options import ServeOptions
    from app.serve.server import ApiServer, bind

    api_key = args.api_key or os.environ.get(KEY_VARIABLE, "")
    check_bind(args.host, api_key)
    options = ServeOptions(api_key=api_key, queue_limit=args.queue_limit,
                           overflow_policy=args.overflow,
                           libraries_dir=app_paths().libraries_dir)  # fmt: skip
    # Bound before the model loads, so a port in use is said at once.
    server_socket = bind(args.host, args.port)
    try:
        model_thread = load_model_thread(args)
    except BaseException:
        server_socket.close()
        raise
    service = make_service(model_thread, options)
    try:
        server = ApiServer(build_app(service), args.host, sock=server_socket)
        entry = service.model_entry()
        print(f"Serving {entry.id if entry else 'no model'} at {server.url} (Ctrl+C stops)",
              file=sys.stderr, flush=True)  # fmt: skip
        server.serve_forever()
    finally:
        server_socket.close()
        if isinstance(service.search, LibrarySearch):
            service.search.close()
        model_thread.shutdown()
    return 0


def load_model_thread(args: argparse.Namespace) -> Any:
    """A `ModelThread` with the model of `--model` (or the bundled one) loaded on it.

    Raises:
        HearthError: The file, the window or llama.cpp refused (the thread is shut down).
    """
    from app.model_thread import ModelThread
    from app.paths import new_model_session
    from engine.bundled import default_model_path
    from engine.chat.engine import LocalEngine
    from engine.session import LoadSettings

    settings = LoadSettings(
        model_path=args.model or str(default_model_path()),
        n_ctx=args.ctx,
        n_threads=args.threads,
        n_gpu_layers=args.gpu_layers,
        draft_model_path=args.draft_model,
    )
    model_thread = ModelThread(LocalEngine(new_model_session()))
    try:
        loaded, fit = model_thread.submit(lambda engine, _task: engine.load(settings)).result()
    except BaseException:
        model_thread.shutdown()
        raise
    for note in (*fit.notes, *loaded.notes):
        print(f"[note: {note}]", file=sys.stderr)
    return model_thread


def make_service(model_thread: Any, options: Any) -> Any:
    """The server's `Service`: the bundled embedding model (loaded at its first use) for
    /v1/embeddings and for searching the libraries under `options.libraries_dir`."""
    from app.serve.documents import LibrarySearch
    from app.serve.service import Service
    from engine.library.embed import Embedder

    embedder = Embedder()
    search = LibrarySearch(options.libraries_dir, embedder) if options.libraries_dir else None
    return Service(model_thread, options, search=search, embedder=embedder)
