"""The `hearth` command: with no subcommand it opens the desktop app, with one it works headless.

Each feature adds its subcommands from its own module (see COMMAND_MODULES), so this file stays small.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import HearthError

# Modules with a `register(subparsers)` function that adds their subcommands.
COMMAND_MODULES = ("app.cli_engine", "app.cli_library")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth", description="Private, local AI on your own files."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
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
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        from app.gui import main as gui_main

        return gui_main(args_list)
    try:
        return int(args.func(args) or 0)
    except HearthError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
