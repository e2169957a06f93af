"""`hearth index`, `hearth search`, `hearth ask` and `hearth library`: the document library
from a terminal. Progress goes to stderr, results to stdout, `--json` gives one JSON object."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from app.cli_options import add_checked
from app.cli_remote import add_remote_options, connect_remote, exit_status
from app.cli_text import argument_text
from app.interrupts import interruptible
from app.paths import app_paths, new_model_session
from engine.cancel import CancelToken
from engine.display import counted, display_name, display_path, display_text
from engine.errors import HearthError

EXCERPT_CHARS = 240
# Set before a file indexed with a warning (pages or characters the search lost).
WARNING_MARK = "!"


def register(subparsers: Any) -> None:
    index = subparsers.add_parser(
        "index",
        help="add files and folders to a document library",
        description="Index files and folders (recursively). Unchanged files are skipped, changed "
        "ones re-indexed, files gone from the named folders removed. With no PATH, finishes what "
        "a stopped run left pending. Exit status 1 when some file could not be indexed.",
    )
    index.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    _library_option(index)
    index.add_argument(
        "--watch",
        action="store_true",
        help="then keep following the folders: new, changed, moved and deleted files are "
        "indexed again or removed as they change, until Ctrl+C",
    )
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.set_defaults(func=run_index)

    search = subparsers.add_parser("search", help="search a document library")
    search.add_argument("query", type=argument_text, help="words or a question")
    _library_option(search)
    add_checked(search, "--k", "request.search_k", default=5, help="number of hits (5)")
    search.add_argument("--file", action="append", metavar="PATH", help="only this file")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    _rerank_option(search)
    search.set_defaults(func=run_search)

    ask = subparsers.add_parser("ask", help="answer a question from your documents")
    ask.add_argument("question", type=argument_text)
    _library_option(ask)
    ask.add_argument("--model", help="a GGUF file (default: the bundled model)")
    add_checked(ask, "--k", "chat.sources_k", default=5, help="excerpts to retrieve (5)")
    add_checked(ask, "--max-tokens", "sampling.max_tokens", default=384)
    add_checked(ask, "--temperature", "sampling.temperature", default=0.2, metavar="T")
    add_checked(ask, "--seed", "sampling.seed", default=-1)
    ask.add_argument("--json", action="store_true", help="print answer and sources as JSON")
    _rerank_option(ask)
    add_remote_options(ask)
    ask.set_defaults(func=run_ask)

    library = subparsers.add_parser("library", help="list, show or remove document libraries")
    actions = library.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="all libraries")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_library_list)
    show = actions.add_parser("show", help="the files of one library")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_library_show)
    remove = actions.add_parser("remove", help="delete a library, or one file from it")
    remove.add_argument("name")
    remove.add_argument("--file", metavar="PATH", help="remove only this file")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(func=run_library_remove)


def _library_option(parser: argparse.ArgumentParser) -> None:
    from engine.library import DEFAULT_LIBRARY

    parser.add_argument(
        "--library", default=DEFAULT_LIBRARY, metavar="NAME", help=f"({DEFAULT_LIBRARY})"
    )


def _rerank_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rerank",
        action="store_true",
        help="reorder the 10 best matches with the bundled Gemma 3 270M before answering "
        "(the right page first more often; a few seconds more on a CPU)",
    )


def _search(library, question: str, k: int, rerank: bool, files=None) -> tuple[list, list[str]]:
    """`library.search`, then with `rerank` its first matches reordered (engine/rerank.py); and
    the lines to say on stderr about it (the search's note; a reranking model that could not
    load, in which case the search's own order stands and the person still gets excerpts)."""
    if not rerank:
        hits = library.search(question, k=k, files=files)
        return hits, _search_notes(library, [])
    from app.interrupts import interruptible
    from engine.rerank import QueryLikelihoodReranker, RerankerUnavailable, reranked_search

    notes: list[str] = []
    loaded: list[QueryLikelihoodReranker] = []

    def load() -> QueryLikelihoodReranker | None:
        try:
            loaded.append(QueryLikelihoodReranker())
        except RerankerUnavailable as exc:
            notes.append(f"hearth: {display_text(str(exc))}")
            return None
        return loaded[0]

    # Ctrl+C only sets a token here: raised while llama.cpp logs the model's load through a
    # ctypes callback, a KeyboardInterrupt is swallowed there, and the search ran on.
    try:
        with interruptible() as cancel:
            hits = reranked_search(library, question, k, load, cancel, files=files)
    finally:
        for reranker in loaded:
            reranker.close()
    if cancel.cancelled:
        raise KeyboardInterrupt
    return hits, _search_notes(library, notes)


def _search_notes(library, notes: list[str]) -> list[str]:
    notes = list(notes)
    if library.search_note:
        notes.append(f"note: {library.search_note}")
    stale = sum(1 for record in library.files() if record.read_again)
    if stale:
        documents = "1 document was" if stale == 1 else f"{stale:,} documents were"
        notes.append(f"note: {documents} indexed by an older Hearth; `hearth index` with the "
                     "same files reads them again, better.")  # fmt: skip
    _unread, note = _not_indexed(library)
    if note:
        notes.append(f"note: {note}")
    return notes


def _not_indexed(library) -> tuple[list[str], str]:
    """The library's files not searchable yet (left pending by a stopped index run, or being
    indexed now by another), and what to say about them ("" when there are none)."""
    from engine.library.answer import UnreadDocument, not_indexed_note
    from engine.library.types import INDEXING, PENDING

    unread = [r.path for r in library.files() if r.status in (PENDING, INDEXING)]
    them = "it" if len(unread) == 1 else "them"
    finish = f"`hearth index --library {library.name}` finishes {them}."
    documents = [UnreadDocument(path) for path in unread]
    return unread, not_indexed_note(documents, reading=False, then=finish)


def _root() -> Path:
    return app_paths().libraries_dir


def _open(name: str, create: bool, progress=None):
    from engine.library import Library

    return Library.open(_root(), name, create=create, progress=progress)


# --- index -----------------------------------------------------------------------------------------


def run_index(args: argparse.Namespace) -> int:
    if args.watch:
        return run_watch(args)
    # First Ctrl+C: stop after rolling back the current file. Second: stop at once.
    with (
        interruptible() as cancel,
        _open(args.library, create=True, progress=ProgressPrinter(sys.stderr)) as library,
    ):
        printer = ProgressPrinter(sys.stderr)
        if args.paths:
            report = library.index(args.paths, progress=printer, cancel=cancel)
        else:
            pending = library.pending_files()
            if not pending:
                raise HearthError(
                    "Name the files or folders to index.",
                    "Example: hearth index ~/Documents/manuals",
                )
            print(f"resuming {len(pending)} pending files", file=sys.stderr)
            report = library.resume(progress=printer, cancel=cancel)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_summary(report, sys.stdout)
    if report.cancelled:
        return 130
    return 1 if report.failed else 0


def run_watch(args: argparse.Namespace) -> int:
    """`hearth index --watch FOLDER...`: sync, then follow the folders until Ctrl+C."""
    from engine.library.watch import FolderWatcher

    folders = [Path(p) for p in args.paths]
    not_folders = [str(p) for p in folders if not p.is_dir()]
    if not folders or not_folders:
        raise HearthError(
            f"--watch follows folders; not a folder: {', '.join(not_folders) or '(none given)'}.",
            "Example: hearth index --watch ~/Documents/manuals",
        )
    printer = ProgressPrinter(sys.stderr)

    def on_report(report) -> None:
        if args.json:
            print(json.dumps(report.to_dict()), flush=True)
        elif report.all_outcomes:
            print_summary(report, sys.stdout)
            sys.stdout.flush()

    with _open(args.library, create=True, progress=printer) as library:
        watcher = FolderWatcher(library, folders, on_report=on_report, progress=printer)
        previous = signal.signal(signal.SIGINT, lambda *_: watcher.stop())
        try:
            print(f"watching {len(folders)} folder(s); Ctrl+C stops", file=sys.stderr)
            watcher.run()
        finally:
            signal.signal(signal.SIGINT, previous)
    return 0


# Off a terminal, a file that takes longer than this gets a progress line this often.
PROGRESS_LINE_S = 5.0


class ProgressPrinter:
    """Progress callback for the terminal: a live bar on a tty, one line per file otherwise,
    with a line every `PROGRESS_LINE_S` for a file that takes longer."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._last_draw = 0.0
        self._last_line = time.monotonic()

    def __call__(self, event) -> None:
        if event.stage == "upgrade":
            if event.file_index == 0 or event.file_index == event.file_count:
                print(f"{event.message}: {event.file_index:,}/{event.file_count:,} chunks",
                      file=self.stream, flush=True)  # fmt: skip
            return
        if event.stage == "file":
            self._last_line = time.monotonic()
        if event.stage == "page" and self.live:
            now = time.monotonic()
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self._draw(event)
        elif event.stage == "page":
            now = time.monotonic()
            if now - self._last_line >= PROGRESS_LINE_S:
                self._last_line = now
                print(f"  {display_name(event.file)}: {event.file_fraction:.1%}, "
                      f"{counted(event.chunks, 'chunk')} so far", file=self.stream, flush=True)  # fmt: skip
        elif event.stage == "done":
            self._clear()
            detail = event.message or ""
            if event.status == "indexed":
                detail = counted(event.chunks, "chunk")
                if event.page_count:
                    detail = f"{counted(event.page_count, 'page')}, {detail}"
                if event.message:
                    detail += f"; {event.message}"
            width = len(f"{event.file_count:,}")
            print(
                f"[{event.file_index:>{width},}/{event.file_count:,}] {event.status:<10} "
                f"{display_path(event.file)}" + (f"  ({display_text(detail)})" if detail else ""),
                file=self.stream,
                flush=True,
            )

    def _draw(self, event) -> None:
        fraction = event.file_fraction
        overall = (event.file_index + fraction) / max(event.file_count, 1)
        bar = _bar(fraction, 20)
        name = display_name(event.file)[:40]
        pages = (f"page {event.page:,}/{event.page_count:,}" if event.page_count
                 else counted(event.chunks, "chunk"))  # fmt: skip
        line = (
            f"\r{name:<40} {bar} {fraction:4.0%} {pages:>16}  "
            f"overall {_bar(overall, 10)} {overall:4.0%}"
        )
        self.stream.write(line)
        self.stream.flush()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")


def _bar(fraction: float, width: int) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "#" * filled + "-" * (width - filled)


def print_summary(report, stream: TextIO) -> None:
    from engine.library.types import REMOVED, in_library

    parts = [
        f"{report.indexed:,} indexed",
        f"{report.unchanged:,} unchanged",
        f"{report.skipped_count:,} skipped",
        f"{len(report.failed):,} failed",
    ]
    if report.removed:
        parts.append(f"{report.removed:,} removed")
    print(
        f"Library '{report.library}': {', '.join(parts)}; {counted(report.pages, 'page')}, "
        f"{counted(report.chunks, 'chunk')} in {report.seconds:.1f} s"
        + (" (stopped early)" if report.cancelled else ""),
        file=stream,
    )
    for outcome in report.failed:
        print(f"  {outcome.status}: {display_path(outcome.path)}: "
              f"{display_text(outcome.message or '')}", file=stream)  # fmt: skip
    for outcome in report.all_outcomes:
        if outcome.status == REMOVED:  # its passages left the library with it
            print(f"  removed: {display_path(outcome.path)}: "
                  f"{display_text(outcome.message or '')}", file=stream)  # fmt: skip
    # Entries the walk passed over; those it could not read are listed once, with the failed.
    skipped = [o for o in report.skipped if not in_library(o.status)]
    for outcome in skipped[:20]:
        print(f"  skipped: {display_path(outcome.path)}: {display_text(outcome.message or '')}",
              file=stream)  # fmt: skip
    if len(skipped) > 20:
        print(f"  ... and {len(skipped) - 20:,} more skipped", file=stream)


# --- search ----------------------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    from engine.library.types import with_place

    with _open(args.library, create=False) as library:
        hits, notes = _search(library, args.query, args.k, args.rerank, files=args.file)
    _say_all(notes)
    if args.json:
        print(json.dumps([hit.to_dict() for hit in hits], indent=2))
        return 0
    if not hits:
        print(f"No matches in the library '{args.library}'.")
        return 0
    for number, hit in enumerate(hits, start=1):
        cited = with_place(display_name(hit.file), hit.page, hit.location)
        # A sheet's name is its heading too: "sheet Inventory, rows 1-28" says it already.
        said = hit.heading and hit.heading not in hit.where
        heading = display_text(f" - {hit.heading}") if said else ""
        print(f"{number}. {cited}{heading}  ({_scores(hit)})")
        print(f"   {_excerpt(hit.text)}")
        print(f"   {display_path(hit.file)}")
    return 0


def _scores(hit) -> str:
    """ "score 0.0312", or with a rerank "reranked -1.84, score 0.0312": the order follows the
    first number shown."""
    fused = f"score {hit.score:.4f}"
    return fused if hit.rerank_score is None else f"reranked {hit.rerank_score:.2f}, {fused}"


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = display_text(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 3].rsplit(" ", 1)[0] + "..."


# --- ask -------------------------------------------------------------------------------------------


def run_ask(args: argparse.Namespace) -> int:
    from engine.library.answer import AnswerResult, plan_answer, stream_answer
    from engine.library.types import with_place

    if args.remote is not None:
        from engine.remote.address import ServerAddress

        ServerAddress.parse(args.remote)  # a mistyped address is said before any search
    # The local model loads on a thread while the library is searched: most of each is spent
    # in C (llama.cpp reading the model; chromadb and the query), so the two overlap.
    loading = None if args.remote is not None else _load_in_background(args.model)
    # Said once the model has loaded: llama-cpp-python points stderr at /dev/null while it
    # loads, so a line printed beside the load would be lost.
    notes: list[str] = []
    try:
        with _open(args.library, create=False) as library:
            hits, notes = _search(library, args.question, args.k, args.rerank)
            unread, unread_note = _not_indexed(library)
        plan = plan_answer(args.question, hits)
    except BaseException:
        if loading is not None:
            _discard(loading)
        _say_all(notes)
        raise
    session = None
    try:
        if plan.found and args.remote is not None:
            session = connect_remote(args)
        elif loading is not None and plan.found:
            session = loading.result()
        elif loading is not None:
            _discard(loading)
    finally:
        _say_all(notes)
    from engine.session import SamplingSettings

    sampling = SamplingSettings(
        temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed
    )
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    result: AnswerResult | None = None
    try:
        for item in stream_answer(session, plan, sampling, cancel):
            if isinstance(item, AnswerResult):
                result = item
            elif not args.json:
                sys.stdout.write(item)
                sys.stdout.flush()
    finally:
        signal.signal(signal.SIGINT, previous)
        if session is not None:
            session.unload()
    assert result is not None
    if args.json:
        # The files the answer could not use yet, and the note said about them on stderr.
        print(json.dumps({**result.to_dict(), "not_indexed": unread,
                          "not_indexed_note": unread_note}, indent=2))  # fmt: skip
        return exit_status(args, result.stats) if result.stats is not None else 0
    print()
    if result.evidence:
        print("\nEvidence:")
        for evidence in result.evidence:
            cited = with_place(display_name(evidence.file), evidence.page, evidence.location)
            marked = " ".join(evidence.marked().split())
            print(f"[{evidence.source}] {cited}: {marked}")
    if result.sources:
        print("\nSources:")
        for source in result.sources:
            label = display_text(source.label)
            print(f"[{source.number}] {label}: {_excerpt(source.excerpt, 160)}")
            print(f"    {display_path(source.file)}")
    stats = result.stats
    if stats is not None:
        print(
            f"[{stats.generated_tokens} tokens, TTFT {stats.ttft_s * 1000:.0f} ms, "
            f"{stats.generation_tokens_per_s:.1f} tok/s, stop: {stats.stop_reason}]",
            file=sys.stderr,
        )
        return exit_status(args, stats)
    return 0


def _load_in_background(model: str | None) -> Future:
    """Start loading the chat model (`model`, else the bundled one); `.result()` gives the
    loaded `ModelSession` or raises what loading raised."""
    from engine.bundled import default_model_path
    from engine.session import LoadSettings, ModelSession

    def load() -> ModelSession:
        session = new_model_session()
        session.load(LoadSettings(model_path=model or str(default_model_path())))
        return session

    pool = ThreadPoolExecutor(1, thread_name_prefix="model-load")
    loading = pool.submit(load)
    pool.shutdown(wait=False)  # the load runs on; `with` would wait for it here
    return loading


def _say_all(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _discard(loading: Future) -> None:
    """Unload a model that was loaded for nothing (no source found, or the search failed)."""
    # Its failure does not matter now: the search's result or error does.
    with contextlib.suppress(Exception):
        loading.result().unload()


# --- library ---------------------------------------------------------------------------------------


def run_library_list(args: argparse.Namespace) -> int:
    from engine.library import list_libraries

    infos = list_libraries(_root())
    records = {info.name: _stored_records(info.folder) for info in infos}
    if args.json:
        listed = [_info_dict(info, records[info.name]) for info in infos]
        print(json.dumps(listed, indent=2))
        return 0
    if not infos:
        print("No libraries yet. Add files with: hearth index PATH")
        return 0
    for info in infos:
        print(f"{info.name}: {_library_counts(info, records[info.name])}")
    return 0


def run_library_show(args: argparse.Namespace) -> int:
    from engine.library.notes import WARNING

    with _open(args.name, create=False) as library:
        records = library.files()
        info = library.info()
    if args.json:
        files = [{**r.to_dict(), "note_level": _note_level(r)} for r in records]
        print(json.dumps({**_info_dict(info, records), "files": files}, indent=2))
        return 0
    print(f"Library '{info.name}' ({display_path(info.folder)}): {_library_counts(info, records)}")
    for record in records:
        size = f"{counted(record.pages, 'page')}, " if record.pages else ""
        detail = f"{size}{counted(record.chunks, 'chunk')}"
        if record.error:
            detail = display_text(record.error)
        # A mark in the margin, not a colour: it reads the same piped, in a log, or on paper.
        mark = WARNING_MARK if _note_level(record) == WARNING else " "
        print(f"{mark} {record.status:<10} {display_path(record.path)}  ({detail})")
    warned, heading = _warnings_counted(records)
    if warned:
        part = "part of it" if warned == 1 else "part of each"
        notes = "as its note says" if warned == 1 else "as their notes say"
        print(f"{WARNING_MARK} {counted(warned, 'file')} {heading}: {part} cannot be searched, "
              f"{notes}.")  # fmt: skip
    return 0


def _note_level(record) -> str | None:
    """ "warning" or "information" for an indexed file's note (as the documents panel tells
    them apart); None without a note, or for a file not indexed (its status says why)."""
    from engine.library.notes import note_level
    from engine.library.types import INDEXED

    return note_level(record.error) if record.status == INDEXED else None


def _warnings_counted(records) -> tuple[int, str]:
    """How many indexed files have warnings, and the words that follow their count ("with
    damaged pages", "with warnings" for several kinds): the window's notice words them so."""
    from engine.library.notes import note_warnings, warning_heading
    from engine.library.types import INDEXED

    warned = [note_warnings(r.error) for r in records if r.status == INDEXED]
    warned = [parts for parts in warned if parts]
    return len(warned), warning_heading(part.kind for parts in warned for part in parts)


def _stored_records(folder: str) -> list:
    """A library's files, read from its manifest alone (no model, no vector store)."""
    from engine.library.manifest import Manifest
    from engine.library.types import MANIFEST_FILE

    manifest = Manifest(Path(folder) / MANIFEST_FILE, read_only=True)
    try:
        return manifest.files()
    finally:
        manifest.close()


def _info_dict(info, records) -> dict[str, Any]:
    """A library's counts as JSON, with how many of its indexed files have warnings."""
    return {**info.to_dict(), "files_with_warnings": _warnings_counted(records)[0]}


def _library_counts(info, records=()) -> str:
    """'3 files: 2 indexed (12 chunks), 1 with damaged pages, 1 pending': every file counted
    once, and of the indexed ones (in `records`) those with warnings. When every indexed file has them, "1
    indexed with damaged pages", not "1 indexed, 1 with damaged pages" (read as two files)."""
    warned, heading = _warnings_counted(records)
    every = bool(warned) and warned == info.files
    indexed = f"{info.files:,} indexed" + (f" {heading}" if every else "")
    parts = [f"{indexed} ({counted(info.chunks, 'chunk')})"]
    if warned and not every:
        parts.append(f"{warned:,} {heading}")
    if info.pending:
        parts.append(f"{info.pending:,} pending")
    if info.failed:
        parts.append(f"{info.failed:,} not indexed")
    total = info.files + info.pending + info.failed
    return f"{counted(total, 'file')}: {', '.join(parts)}"


def run_library_remove(args: argparse.Namespace) -> int:
    from engine.library import remove_library

    if args.file:
        with _open(args.name, create=False) as library:
            removed = library.remove_file(args.file)
        if not removed:
            raise HearthError(f"{args.file} is not in the library '{args.name}'.")
        result = {"library": args.name, "removed_file": str(Path(args.file).absolute())}
        message = f"Removed {display_path(args.file)} from the library '{args.name}'."
    else:
        remove_library(_root(), args.name)
        result = {"library": args.name, "removed": True}
        message = f"Removed the library '{args.name}'."
    print(json.dumps(result) if args.json else message)
    return 0
