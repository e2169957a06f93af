"""One window per data folder: a second launch hands its files to the open window and exits, a
lock left by a killed window does not block, a read-only folder still opens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalSocket

from app import single_instance
from tests.engine.disks import read_only, small_disk

REPO = Path(__file__).resolve().parents[2]

# Claims the data folder named by argv[1] for the files after it, as app.gui does, and prints
# one JSON line per event: how the claim went, then each later launch's files. "--keep" holds
# the folder until killed, "--hang" too but never answers (a window that hangs); without either
# it exits at once.
DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from PySide6.QtCore import QCoreApplication
    from app import single_instance

    app = QCoreApplication([])
    args = [a for a in sys.argv[1:] if a not in ("--keep", "--hang")]
    outcome = single_instance.claim(Path(args[0]), args[1:])
    if not isinstance(outcome, single_instance.WindowClaim):
        print(json.dumps({"outcome": type(outcome).__name__, "message": outcome.message(),
                          "files": list(getattr(outcome, "files", ()))}), flush=True)
        sys.exit(0)
    print(json.dumps({"outcome": "claimed", "locked": outcome.lock is not None}), flush=True)
    if "--hang" in sys.argv:
        time.sleep(600)
    if "--keep" not in sys.argv:
        sys.exit(0)
    outcome.on_request(lambda files: print(json.dumps({"opened": list(files)}), flush=True))
    app.exec()
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}


def _start(data_dir: Path, *args: str) -> subprocess.Popen:
    """A process that claims `data_dir` and keeps it, once it has said it holds it."""
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(data_dir), "--keep", *args],
                               env=_env(), stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None
    first = json.loads(process.stdout.readline())
    assert first["outcome"] == "claimed", first
    return process


def _launch(data_dir: Path, *files: str, cwd: Path | None = None) -> tuple[dict, float]:
    """A launch that claims `data_dir` and exits: what it said, and how long it took."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", DRIVER, str(data_dir), *files], env=_env(),
                            cwd=cwd, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[0]), time.monotonic() - started


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


@pytest.fixture
def folders(tmp_path):
    """Two data folders, and a document to open."""
    first, second = tmp_path / "one" / "data", tmp_path / "two" / "data"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("Pack the tent.", encoding="utf-8")
    return first, second


def test_a_second_launch_hands_its_files_to_the_open_window_and_exits(folders, tmp_path):
    data, other = folders
    window = _start(data)
    try:
        said, took = _launch(data, "notes.txt", cwd=tmp_path)  # relative to the launch's folder
        assert said["outcome"] == "HandedOver"
        assert said["files"] == [str(tmp_path / "notes.txt")]
        assert said["message"] == (
            f"Hearth is already open on {data}: its window is brought to the front and opens "
            "notes.txt."
        )
        assert took < 15  # Python and Qt start; no wait for an answer that does not come
        assert window.stdout is not None
        assert json.loads(window.stdout.readline()) == {"opened": [str(tmp_path / "notes.txt")]}
        said, _took = _launch(data)  # no files: the window only comes to the front
        assert said["message"].endswith(f"open on {data}: its window is brought to the front.")
        assert json.loads(window.stdout.readline()) == {"opened": []}
        # Another data folder is another window's.
        said, _took = _launch(other)
        assert said == {"outcome": "claimed", "locked": True}
    finally:
        _stop(window)


def test_a_window_that_does_not_answer_is_named_and_nothing_opens(folders):
    data, _other = folders
    hung = _start(data, "--hang")
    try:
        said, took = _launch(data)
        assert said["outcome"] == "HeldElsewhere"
        assert said["message"].startswith(
            f"Hearth is already open on the data folder {data} (process {hung.pid}), but its "
            "window does not answer."
        )
        assert "nothing in the folder was changed" in said["message"]
        assert single_instance.ANSWER_TIMEOUT_S <= took < 20
    finally:
        _stop(hung)


def test_the_lock_of_a_killed_window_does_not_block_the_next(folders):
    data, _other = folders
    killed = _start(data)
    killed.send_signal(signal.SIGKILL)  # no chance to let go of the lock or the socket
    _stop(killed)
    assert (data / single_instance.LOCK_FILE).exists()
    window = _start(data)
    try:
        # And the new window can be reached: the old socket did not stay in the way.
        said, _took = _launch(data, str(data / "x.pdf"))
        assert said["outcome"] == "HandedOver"
    finally:
        _stop(window)


def test_a_lock_file_naming_a_process_that_is_gone_does_not_block(folders):
    from PySide6.QtCore import QSysInfo

    data, _other = folders
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (data / single_instance.LOCK_FILE).write_text(
        f"{gone.stdout.strip()}\npython3\n{QSysInfo.machineHostName()}\n", encoding="utf-8"
    )
    said, _took = _launch(data)
    assert said == {"outcome": "claimed", "locked": True}


def test_a_read_only_data_folder_opens_without_a_lock(tmp_path):
    disk = tmp_path / "disk"
    if os.geteuid() == 0:  # root writes anywhere but on a read-only disk
        with small_disk(disk, 2):
            (disk / "data").mkdir()
            read_only(disk)
            said, _took = _launch(disk / "data")
    else:
        (disk / "data").mkdir(parents=True)
        (disk / "data").chmod(0o555)
        try:
            said, _took = _launch(disk / "data")
        finally:
            (disk / "data").chmod(0o755)
    assert said == {"outcome": "claimed", "locked": False}


def test_requests_that_are_not_from_hearth_are_ignored(qtbot, tmp_path):
    claim = single_instance.claim(tmp_path)
    assert isinstance(claim, single_instance.WindowClaim)
    seen: list[tuple[str, ...]] = []
    claim.on_request(seen.append)
    try:
        for junk in (b"not json\n", b'{"files": [1, 2]}\n', b"x" * (2 * 2**20)):
            stranger = QLocalSocket()
            stranger.connectToServer(single_instance.server_name(tmp_path))
            qtbot.wait_until(lambda s=stranger: s.state() == s.LocalSocketState.ConnectedState)
            stranger.write(junk)
            qtbot.wait_until(lambda s=stranger: s.state() == s.LocalSocketState.UnconnectedState)
            assert bytes(stranger.readAll().data()) == b""
        assert seen == []
        # One request per connection: a second line is not read as another launch.
        launch = QLocalSocket()
        launch.connectToServer(single_instance.server_name(tmp_path))
        launch.write(b'{"files": ["/a.pdf"]}\n{"files": ["/b.pdf"]}\n')
        qtbot.wait_until(lambda: launch.state() == launch.LocalSocketState.UnconnectedState)
        assert bytes(launch.readAll().data()) == b"ok\n"
        assert seen == [("/a.pdf",)]
    finally:
        claim.release()
    assert not (tmp_path / single_instance.LOCK_FILE).exists()


@pytest.mark.slow
def test_the_app_started_twice_on_one_data_folder_opens_one_window(tmp_path):
    """`python -m app notes.txt` with Hearth open: the open window takes the file, the second
    process says so and exits 0; `hearth library list` still works; Hearth on another data
    folder opens its own window."""
    (tmp_path / "notes.txt").write_text("Pack the tent.", encoding="utf-8")

    def env(home: Path) -> dict[str, str]:
        return {**os.environ, "HEARTH_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
                "PYTHONPATH": str(REPO)}  # fmt: skip

    def start(home: Path) -> subprocess.Popen:
        log = home / "logs" / "hearth.log"
        process = subprocess.Popen([sys.executable, "-m", "app"], env=env(home), cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while "Window shown" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None and time.monotonic() < deadline, "no window"
            time.sleep(0.2)
        return process

    first_home, second_home = tmp_path / "one", tmp_path / "two"
    windows = [start(first_home)]
    try:
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "app", "notes.txt"], env=env(first_home),
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert second.returncode == 0, second.stderr
        assert time.monotonic() - started < 20
        assert "Hearth is already open on" in second.stderr
        assert "its window is brought to the front and opens notes.txt." in second.stderr
        log = (first_home / "logs" / "hearth.log").read_text()
        assert f"window brought to the front, opening ('{tmp_path / 'notes.txt'}',)" in log
        assert log.count("Window shown") == 1
        # The commands are not windows: they work beside it.
        listed = subprocess.run([sys.executable, "-m", "app", "library", "list", "--json"],
                                env=env(first_home), cwd=REPO, capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        windows.append(start(second_home))  # another data folder: a window of its own
        for window in windows:
            window.send_signal(signal.SIGTERM)
            window.wait(timeout=30)
            assert window.returncode == 0
        assert not (first_home / "data" / single_instance.LOCK_FILE).exists()
    finally:
        for window in windows:
            _stop(window)
