"""`hearth models ...`: find models on the Hugging Face Hub, see what fits this machine, download
them (resumable, verified), list and remove them. Network traffic only from `search`, `files` and
`pull`, and only to the Hub address in the settings (or HF_ENDPOINT)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from app.cli_text import argument_text
from app.paths import app_paths
from engine.errors import HearthError
from engine.settings_schema import KV_TYPES, OPTIONS_BY_KEY, read_settings_file
from engine.storage import size_text


def register(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="find, download and manage models")
    commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    search = commands.add_parser("search", help="search the Hub for GGUF models")
    search.add_argument(
        "query", type=argument_text, help="words in the model's name, e.g. 'qwen 7b'"
    )
    search.add_argument("--limit", type=_positive, default=20, help="results to show (20)")
    search.add_argument("--json", action="store_true", help="print one JSON object")
    search.set_defaults(func=run_search)

    files = commands.add_parser("files", help="a repository's GGUF files and what fits here")
    files.add_argument("repo", help="the repository, owner/name")
    files.add_argument("--ctx", type=_positive, help="context window to judge at (settings)")
    files.add_argument("--kv-type", choices=KV_TYPES, help="K/V cache type (settings)")
    files.add_argument("--all-headers", action="store_true",
                       help="read every file's header (exact, slower) instead of one")  # fmt: skip
    files.add_argument("--json", action="store_true", help="print one JSON object")
    files.set_defaults(func=run_files)

    pull = commands.add_parser("pull", help="download a model (resumes an interrupted download)")
    pull.add_argument("repo", help="the repository, owner/name")
    pull.add_argument("file", help="a GGUF file name (or a quantization type such as Q4_K_M)")
    pull.add_argument("--json", action="store_true", help="print one JSON object at the end")
    pull.set_defaults(func=run_pull)

    listing = commands.add_parser("list", help="models Hearth can run, and unfinished downloads")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=run_list)

    remove = commands.add_parser(
        "remove", help="delete a downloaded model (an imported file is only forgotten)"
    )
    remove.add_argument("path", help="the model file, as `hearth models list` shows it")
    remove.add_argument("--json", action="store_true", help="print one JSON object")
    remove.set_defaults(func=run_remove)

    token = commands.add_parser(
        "token", help="store the access token for gated models in the system keyring"
    )
    token.add_argument("--clear", action="store_true", help="delete the stored token")
    token.set_defaults(func=run_token)


def run_search(args: argparse.Namespace) -> int:
    from engine.hub.listing import search

    _given(args.query, "What to search for is missing: give a model name, e.g. "
                       "`hearth models search qwen`.")  # fmt: skip
    results = search(_connection(), args.query, args.limit)
    if args.json:
        print(json.dumps({"query": args.query, "results": [vars(r) for r in results]}, indent=2))
        return 0
    if not results:
        print(f"No GGUF models on the Hub match '{args.query}'.")
        return 0
    for result in results:
        template = {True: "chat", False: "no chat template", None: "template unknown"}[
            result.has_chat_template
        ]
        details = [
            f"{result.downloads:,} downloads",
            f"{result.likes:,} likes",
            f"updated {result.last_modified[:10]}" if result.last_modified else "",
            result.license or "licence unknown",
            template,
            "gated" if result.gated else "",
        ]
        print(f"{result.repo_id}\n    {', '.join(d for d in details if d)}")
    return 0


def run_files(args: argparse.Namespace) -> int:
    from engine.context.fit import MachineMemory
    from engine.hub.listing import list_models
    from engine.hub.verdict import assess_repo

    _given(args.repo, _REPO_MISSING.format(example="hearth models files owner/name"))
    connection = _connection()
    listing = list_models(connection, args.repo)
    n_ctx = args.ctx or _setting("model.context_size")
    kv_type = args.kv_type or _setting("model.kv_type")
    # Flash attention as a load takes it, so the numbers are the window's model picker's.
    flash = True if _setting("model.flash_attention") else None
    assessment = assess_repo(connection, listing, MachineMemory.probe(), n_ctx, kv_type,
                             read_all=args.all_headers, flash_attn=flash)  # fmt: skip
    recommended = assessment.recommended
    if args.json:
        print(json.dumps(_assessment_dict(listing, assessment, n_ctx, kv_type), indent=2))
        return 0
    if not listing.models:
        print(f"{listing.repo_id} has no GGUF files.")
        return 0
    print(f"{listing.repo_id} ({listing.license or 'licence unknown'}"
          f"{', gated' if listing.gated else ''}): at {n_ctx:,} tokens, {kv_type} K/V cache")  # fmt: skip
    width = max(len(model.name) for model in listing.models)
    for model, verdict in assessment.rows:
        mark = "*" if model == recommended else " "
        parts = f" ({len(model.parts)} parts)" if len(model.parts) > 1 else ""
        missing = " [parts missing on the Hub]" if not model.complete else ""
        print(f"{mark} {model.name:<{width}}  {model.quant or '–':<8} "
              f"{size_text(model.size):>8}{parts}  {verdict.line}{missing}")  # fmt: skip
    if assessment.problem:
        print(f"note: {assessment.problem} Verdicts are estimated from file sizes alone.")
    if recommended is not None:
        print(f"* recommended: {recommended.name}")
    else:
        print("None of these fits this machine with room to spare.")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from engine.catalog import ModelCatalog
    from engine.hub.download import DownloadRequest, download_model
    from engine.hub.listing import list_models
    from engine.hub.progress import DownloadControl, DownloadState
    from engine.hub.store import DownloadStore

    _given(args.repo, _REPO_MISSING.format(example="hearth models pull owner/name Q4_K_M"))
    _given(args.file, "The file to download is missing: give a GGUF file name or a quantization "
                      f"type, e.g. `hearth models pull {args.repo.strip()} Q4_K_M`.")  # fmt: skip
    connection = _connection()
    listing = list_models(connection, args.repo)
    model = listing.find(args.file)
    paths = app_paths()
    store = DownloadStore(paths.models_dir, paths.downloads_dir)
    control = DownloadControl()
    # Ctrl+C pauses: the part is kept and the same command resumes it.
    previous = signal.signal(signal.SIGINT, lambda *_: control.pause())
    started = time.monotonic()
    try:
        final = None
        request = DownloadRequest(model, listing.license)
        for progress in download_model(connection, request, store, ModelCatalog(paths.models_file),
                                       control):  # fmt: skip
            _show_progress(progress)
            final = progress
    finally:
        signal.signal(signal.SIGINT, previous)
    assert final is not None
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if final.state != DownloadState.DONE:
        if final.state == DownloadState.PAUSED:
            print(f"hearth: {final.message} Run the same command again.", file=sys.stderr)
            return 130
        raise HearthError(final.message)
    if args.json:
        print(json.dumps({**final.to_dict(), "seconds": round(time.monotonic() - started, 3)}))
    else:
        print(final.path)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from engine.catalog import ModelCatalog
    from engine.hub.store import DownloadStore

    paths = app_paths()
    entries = ModelCatalog(paths.models_file).entries()
    unfinished = DownloadStore(paths.models_dir, paths.downloads_dir).unfinished()
    rows: list[dict[str, Any]] = [
        {
            "path": str(entry.path),
            "source": "bundled"
            if entry.bundled
            else "downloaded"
            if entry.download
            else "made"
            if entry.made
            else "imported",
            "name": entry.info.name if entry.info else "",
            "file_type": entry.info.file_type if entry.info else "",
            "size": entry.info.file_size if entry.info else 0,
            "repo_id": entry.download.repo_id if entry.download else "",
            "problem": entry.problem,
        }
        for entry in entries
    ]
    pending: list[dict[str, Any]] = [
        {"repo_id": model.repo_id, "file": model.name, "done_bytes": done, "size": model.size}
        for model, done in unfinished
    ]
    if args.json:
        print(json.dumps({"models": rows, "unfinished_downloads": pending}, indent=2))
        return 0
    for row in rows:
        origin = f" from {row['repo_id']}" if row["repo_id"] else ""
        what = row["problem"] or f"{row['name']}, {row['file_type']}, {size_text(row['size'])}"
        print(f"{row['path']}\n    {row['source']}{origin}: {what}")
    for item in pending:
        print(f"unfinished: {item['repo_id']} {item['file']} ({size_text(item['done_bytes'])} of "
              f"{size_text(item['size'])}; `hearth models pull` resumes it)")  # fmt: skip
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from engine.catalog import ModelCatalog

    _given(args.path, "The model file to remove is missing: give its path as "
                      "`hearth models list` shows it.")  # fmt: skip
    outcome = ModelCatalog(app_paths().models_file).remove(args.path)
    if args.json:
        print(json.dumps({"path": args.path, "outcome": outcome}))
    elif outcome == "deleted":
        print(f"Deleted {args.path}.")
    else:
        print(f"Forgot {args.path}; the file itself was left where it is.")
    return 0


def run_token(args: argparse.Namespace) -> int:
    from engine.hub.token import save_token

    if args.clear:
        save_token("")
        print("The access token was deleted from the keyring.")
        return 0
    if sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Hugging Face access token: ")
    else:
        token = sys.stdin.readline()
    if not token.strip():
        raise HearthError("No token was given.", "Paste a token from your Hub account settings.")
    save_token(token)
    print("The access token is stored in the system keyring.")
    return 0


_REPO_MISSING = ("The repository is missing: give it as owner/name, e.g. `{example}` "
                 "(`hearth models search` finds them).")  # fmt: skip


def _given(value: str, missing: str) -> None:
    """Refuse an empty (or blank) required argument in one line that says what is missing.

    Raises:
        HearthError: `missing` (the CLI prints it and exits with 2).
    """
    if not value.strip():
        raise HearthError(missing)


def _connection() -> Any:
    from engine.hub.connection import HubConnection, resolve_endpoint
    from engine.hub.token import load_token

    return HubConnection(resolve_endpoint(_setting("hub.endpoint")), load_token())


def _setting(key: str) -> Any:
    """One value from the settings file, as the window reads it (the default when unset,
    refused or unreadable), without Qt."""
    try:
        return read_settings_file(app_paths().settings_file)[0][key]
    except (OSError, ValueError):
        return OPTIONS_BY_KEY[key].default


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return value


def _assessment_dict(listing: Any, assessment: Any, n_ctx: int, kv_type: str) -> dict[str, Any]:
    header = assessment.header
    return {
        "repo_id": listing.repo_id,
        "revision": listing.revision,
        "license": listing.license,
        "gated": listing.gated,
        "n_ctx": n_ctx,
        "kv_type": kv_type,
        "recommended": assessment.recommended.name if assessment.recommended else None,
        "header": {
            "file": header.info.path,
            "bytes_fetched": header.bytes_fetched,
            "requests": header.requests,
            "seconds": round(header.seconds, 3),
        }
        if header
        else None,  # fmt: skip
        "problem": assessment.problem,
        "files": [
            {
                "name": model.name,
                "quant": model.quant,
                "size": model.size,
                "parts": [part.path for part in model.parts],
                "complete": model.complete,
                "sha256": [part.sha256 for part in model.parts],
                "verdict": {
                    "placement": verdict.placement,
                    "text": verdict.text,
                    "words": verdict.words,
                    "fits": verdict.fits,
                    "headroom": verdict.headroom,
                    "gpu_layers": verdict.gpu_layers,
                    "total_layers": verdict.total_layers,
                    "estimate_bytes": verdict.estimate_bytes,
                    "needed_bytes": verdict.needed_bytes,
                    "free_bytes": verdict.free_bytes,
                    "from_header": verdict.from_header,
                    "notes": list(verdict.notes),
                },
            }
            for model, verdict in assessment.rows
        ],
    }


def _show_progress(progress: Any) -> None:
    """One line on stderr, rewritten in place on a terminal; state changes only otherwise."""
    from engine.hub.progress import DownloadState

    done, total = size_text(progress.done_bytes), size_text(progress.total_bytes)
    speed = f", {size_text(progress.bytes_per_s)}/s" if progress.bytes_per_s else ""
    left = f", {_duration(progress.seconds_left)} left" if progress.seconds_left else ""
    part = f" part {progress.part}/{progress.parts}" if progress.parts > 1 else ""
    line = f"{progress.state.value}{part}: {done} of {total}{speed}{left}"
    if sys.stderr.isatty():
        print(f"\r{line:<78}", end="", file=sys.stderr, flush=True)
    elif progress.state != DownloadState.DOWNLOADING or _due():
        print(line, file=sys.stderr, flush=True)


_last_line = [0.0]


def _due(interval: float = 2.0) -> bool:
    now = time.monotonic()
    if now - _last_line[0] >= interval:
        _last_line[0] = now
        return True
    return False


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
