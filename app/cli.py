"""The `hearth` command: with no subcommand it opens the desktop app, with one it works headless.

Each feature adds its subcommands from its own module (see COMMAND_MODULES), so this file stays small.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from app.cli_options import check_options
from app.logs import setup_logging
from app.paths import app_paths
from engine.display import display_text
from engine.errors import HearthError
from engine.library import language

# Modules with a `register(subparsers)` function, and the subcommands each adds: a command
# imports only its own module (`hearth search` need not import the chat engine).
COMMAND_MODULES = {
    "app.cli_engine": ("info", "chat"),
    "app.cli_library": ("index", "search", "ask", "library"),
    "app.cli_models": ("models",),
    "app.cli_lab": ("quantize", "bench"),
    "app.cli_serve": ("serve",),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `command` (a subcommand's name) only the module that owns it."""
    parser = argparse.ArgumentParser(
        prog="hearth", description="Private, local AI on your own files."
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation works (model, documents, search) and exit",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    owners = [name for name, commands in COMMAND_MODULES.items() if command in commands]
    for name in owners or COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if not args_list or _all_existing_paths(args_list):
        # Straight to the window (building the parser would import every command's module);
        # paths come from the desktop's "Open with Hearth".
        from app.gui import main as gui_main

        return gui_main([], open_paths=args_list)
    missing = _missing_paths(args_list)
    if missing:
        print(f"hearth: no such file: {display_text(missing[0])}. Give files that exist to open "
              "them in the window, or a command (hearth --help lists them).", file=sys.stderr)  # fmt: skip
        return 2
    command = next((a for a in args_list if not a.startswith("-")), None)
    unknown = _unknown_command(command)
    if unknown:
        print(f"hearth: {unknown}", file=sys.stderr)
        return 2
    parser = build_parser(command)
    args = parser.parse_args(args_list)
    if args.self_test:
        from app.self_test import run as self_test

        return self_test()
    if args.command is None:
        from app.gui import main as gui_main

        return gui_main(args_list)
    try:
        # Details go to the log file; the terminal gets one line in words.
        paths = app_paths().ensure()
        setup_logging(paths.log_file)
        language.keep_model_copy_in(paths.language_model_dir)
        check_options(args)
        return int(args.func(args) or 0)
    except HearthError as exc:
        print(f"hearth: {display_text(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `hearth search ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug, not bad input: keep the message short, details on request
        if os.environ.get("HEARTH_DEBUG"):
            raise
        print(f"hearth: unexpected error: {display_text(str(exc))} (set HEARTH_DEBUG=1 for "
              "details)", file=sys.stderr)  # fmt: skip
        return 1


def _all_existing_paths(args: list[str]) -> bool:
    return all(not arg.startswith("-") and os.path.exists(arg) for arg in args)


def _unknown_command(word: str | None) -> str:
    """What to say of `word` when it is no command: the nearest command, when one is near
    ("serach": "search"); "" for a command or no word."""
    import difflib

    commands = [name for names in COMMAND_MODULES.values() for name in names]
    if word is None or word in commands:
        return ""
    near = difflib.get_close_matches(word, commands, n=1)
    guess = f" Did you mean '{near[0]}'?" if near else ""
    return (f"'{display_text(word)}' is not a command.{guess} hearth --help lists the "
            "commands; a file to open in the window must exist.")  # fmt: skip


def _missing_paths(args: list[str]) -> list[str]:
    """The arguments that name files which do not exist, when no argument is an option or a
    command and one looks like a path (a folder part or an extension): `hearth notes.pdf`
    with a mistyped name, which argparse would call an invalid command."""
    commands = {name for names in COMMAND_MODULES.values() for name in names}
    if any(arg.startswith("-") or arg in commands for arg in args):
        return []
    if not any(os.sep in arg or os.path.splitext(arg)[1] for arg in args):
        return []
    return [arg for arg in args if not os.path.exists(arg)]


if __name__ == "__main__":
    sys.exit(main())
