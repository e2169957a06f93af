"""Entry point of the packaged app: the same `hearth` command as a source install.

PyInstaller freezes this script; everything else is imported from the `app`, `engine` and `ui`
packages inside the bundle.
"""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    # Libraries that start worker processes re-run the executable; this makes those children
    # run their task instead of opening another window.
    multiprocessing.freeze_support()
    from app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
