"""`--remote` for `hearth chat` and `hearth ask`: the same commands on a model served elsewhere.

Retrieval and context fitting stay on this computer; only the final messages go to the server.
The output, `--json` included, is the same as for a local model. A server that cannot be used
ends the command with one line and exit status 2, as any bad input does; so does a reply cut
part-way, after its text and statistics are printed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from engine.errors import HearthError
from engine.stats import GenerationStats

API_KEY_VARIABLE = "HEARTH_API_KEY"


def add_remote_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("remote engine")
    group.add_argument(
        "--remote",
        metavar="URL",
        help="answer with a model on an OpenAI-compatible server (llama.cpp's llama-server, "
        "vLLM, Ollama, LM Studio, another Hearth) instead of a local one, e.g. "
        "http://gpu-box:8080",
    )
    group.add_argument("--remote-model", metavar="NAME",
                       help="the model's name on the server (default: its only model)")  # fmt: skip
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the server's API key; else ${API_KEY_VARIABLE}, else the key saved for this "
        "server in the system keyring",
    )


def connect_remote(args: argparse.Namespace) -> Any:
    """A connected `RemoteSession` for `--remote` (and the saved connection's settings, if any).

    `--ctx` (chat) is the window to assume when the server does not report its own.

    Raises:
        HearthError: a bad combination of options, or a `RemoteError` saying why the server
            cannot be used.
    """
    from app.paths import app_paths
    from engine.remote import ConnectionStore, RemoteConnection, RemoteSession
    from engine.remote.connections import DEFAULT_REPLY_TIMEOUT_S

    if getattr(args, "model", None):
        raise HearthError("Choose either --model (a local file) or --remote (a server), not both.")
    store = ConnectionStore(app_paths().remotes_file)
    saved = store.find(args.remote, args.remote_model) if args.remote_model else None
    saved = saved or store.find(args.remote)
    connection = RemoteConnection(
        args.remote,
        model=args.remote_model or (saved.model if saved else ""),
        context_window=getattr(args, "ctx", 0) or (saved.context_window if saved else 0),
        timeout_s=saved.timeout_s if saved else DEFAULT_REPLY_TIMEOUT_S,
    )
    api_key = (
        args.api_key
        or os.environ.get(API_KEY_VARIABLE)
        or (
            store.api_key(saved, f"give it with --api-key or {API_KEY_VARIABLE}") if saved else None
        )
    )
    session = RemoteSession()
    session.connect(connection, api_key, f"with --api-key or {API_KEY_VARIABLE}")
    return session


def exit_status(args: argparse.Namespace, stats: GenerationStats) -> int:
    """0 for a finished reply; for one that ended in an error, 1 (local) or, for a remote reply
    cut part-way, a one-line `RemoteReplyError` (exit status 2)."""
    if stats.stop_reason != "error":
        return 0
    if getattr(args, "remote", None):
        from engine.remote import RemoteReplyError

        raise RemoteReplyError(stats.error or "The reply from the server broke off.")
    return 1
