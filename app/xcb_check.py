"""Before the window opens on Linux/X11: are the libraries Qt's xcb platform plugin needs there?

Without them (a minimal desktop lacks libxcb-cursor0 and a few others) Qt stops with "could not
load the Qt platform plugin xcb" and nothing a person can act on. This names the missing libraries
and the command that installs them, in one line, before Qt tries.

`python -m app.xcb_check --packages` prints the Debian packages, for the .deb's Depends.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path

# What PySide6's libqxcb.so and libQt6XcbQpa.so.6 link against beyond Qt itself (readelf -d),
# with the Debian/Ubuntu package of each.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def uses_xcb(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether Qt will pick its xcb (X11) platform here."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen == "xcb"
    wayland = environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland"
    return not wayland


def missing_libraries(load: Callable[[str], bool] | None = None) -> list[str]:
    """The Debian packages of the xcb plugin's libraries that cannot be loaded here."""
    load = load or _loadable
    return sorted({package for name, package in XCB_LIBRARIES.items() if not load(name)})


def xcb_problem(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """One line naming what is missing and how to install it; "" when the window can open."""
    if not uses_xcb(environ):
        return ""
    missing = missing_libraries()
    if not missing:
        return ""
    names = " ".join(missing)
    return (
        f"hearth: the window cannot open: this system lacks {', '.join(missing)}, which Qt needs "
        f"to draw on X11. Install them with: sudo apt install {names}"
    )


def _loadable(name: str) -> bool:
    """Can the dynamic loader find and load `name` (by its soname, or beside Qt's libraries)?"""
    for candidate in (name, *[str(folder / name) for folder in _bundled_folders()]):
        try:
            ctypes.CDLL(candidate)
        except OSError:
            continue
        return True
    return False


def _bundled_folders() -> list[Path]:
    """Where a bundle keeps the libraries it ships (PyInstaller, PySide6's own Qt)."""
    folders = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        folders.append(Path(bundle))
    try:
        import PySide6

        folders.append(Path(PySide6.__file__).parent / "Qt" / "lib")
    except ImportError:
        pass
    return [folder for folder in folders if folder.is_dir()]


if __name__ == "__main__":
    if sys.argv[1:] == ["--packages"]:
        print(", ".join(sorted(set(XCB_LIBRARIES.values()))))
    else:
        problem = xcb_problem()
        print(problem or "The window's X11 libraries are all here.")
        sys.exit(2 if problem else 0)
