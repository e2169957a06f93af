"""On a desktop without Qt's X11 libraries, `hearth` names them and the command to install them."""

from __future__ import annotations

import os
import subprocess
import sys

from app.xcb_check import XCB_LIBRARIES, missing_libraries, uses_xcb


def test_missing_libraries_stop_the_window_with_one_line(tmp_path):
    # A library that cannot be loaded, first on the loader's path: what a missing package does.
    broken = tmp_path / "lib"
    broken.mkdir()
    for name in ("libxcb-cursor.so.0", "libxcb-icccm.so.4"):
        (broken / name).write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":97", LD_LIBRARY_PATH=str(broken), HEARTH_HOME=str(tmp_path / "home"))
    result = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True,
                            timeout=120, env=env)  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # Those two, plus any this machine lacks anyway, named once and in the install command.
    named, command = lines[0].split("Install them with: ")
    assert "libxcb-cursor0" in named and "libxcb-icccm4" in named
    packages = command.removeprefix("sudo apt install ").split()
    assert {"libxcb-cursor0", "libxcb-icccm4"} <= set(packages)
    assert set(packages) <= set(XCB_LIBRARIES.values())


def test_only_what_cannot_be_loaded_is_named():
    assert missing_libraries(lambda name: name != "libxcb-keysyms.so.1") == ["libxcb-keysyms1"]
    assert set(missing_libraries(lambda name: False)) == set(XCB_LIBRARIES.values())


def test_the_check_runs_only_where_qt_would_use_x11():
    assert uses_xcb({"DISPLAY": ":0"})
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not uses_xcb({"QT_QPA_PLATFORM": "wayland;xcb"})
    assert not uses_xcb({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})
