"""One Hearth window per data folder: a second launch brings the open window to the front and hands
it the files it was given, instead of opening a second window on the same chats.

The window's process holds a lock file in the data folder (QLockFile: a lock left by a process that
was killed is taken over, its pid being gone) and listens on a local socket named after the folder.
A later launch that finds the lock held sends its files there and exits. If nothing answers (the
window hangs, or it runs on another computer sharing the folder), the launch says so and exits
without touching the data. The `hearth` commands take no part: they are not windows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QSysInfo, Qt
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

LOCK_FILE = "window.lock"

# How long a second launch waits for the open window to answer: it answers from its event loop,
# at once when it is idle.
ANSWER_TIMEOUT_S = 2.0

# How long a second launch waits for a window on this computer that is closing: it writes what is
# left (a reply being saved, the library's last files), then lets go of the folder.
CLOSING_WAIT_S = 10.0

# A request is one line of JSON naming files; anything longer is not from Hearth.
MAX_REQUEST_BYTES = 1 << 20

log = logging.getLogger(__name__)

FilesHandler = Callable[[tuple[str, ...]], None]


def server_name(data_dir: Path) -> str:
    """The local socket's name for `data_dir`: the same for every path to the folder (links
    resolved) and short, since Qt puts it in the temp folder and Unix socket paths are limited to
    about 100 bytes. The user is part of it: another user's window is not this user's."""
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    key = user.encode("utf-8") + b"\0" + os.fsencode(os.path.normcase(data_dir.resolve()))
    return "hearth-" + hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class HandedOver:
    """A window was already open on the data folder; it was brought to the front with the files."""

    folder: Path
    files: tuple[str, ...]

    def message(self) -> str:
        """What the launch says on its way out, in words."""
        opened = ""
        if len(self.files) == 1:
            opened = f" and opens {Path(self.files[0]).name}"
        elif self.files:
            opened = f" and opens the {len(self.files)} files"
        return (
            f"Hearth is already open on {self.folder}: its window is brought to the front{opened}."
        )


@dataclass(frozen=True)
class HeldElsewhere:
    """A window holds the data folder but did not answer: it hangs, or it runs on another
    computer that shares the folder."""

    folder: Path
    pid: int
    hostname: str

    def message(self) -> str:
        """What the launch says before it stops, in words: who holds the folder, what to do."""
        who = ""
        if self.pid > 0:
            where = f" on the computer {self.hostname}" if self.elsewhere() else ""
            who = f" (process {self.pid}{where})"
        return (
            f"Hearth is already open on the data folder {self.folder}{who}, but its window does "
            "not answer.\n\nOnly one Hearth window can use a data folder at a time, so this one "
            "did not open, and nothing in the folder was changed. Switch to the open window, or "
            "close it and start Hearth again."
        )

    def elsewhere(self) -> bool:
        """Whether the window runs on another computer (one sharing the folder over a network)."""
        return bool(self.hostname) and self.hostname != QSysInfo.machineHostName()


class WindowClaim(QObject):
    """This process's hold on its data folder: the lock, and the server that later launches of
    Hearth call. Requests are kept until `on_request` names who takes them."""

    def __init__(self, data_dir: Path, lock: QLockFile | None) -> None:
        super().__init__()
        self.lock = lock
        self.server: QLocalServer | None = None
        self._handler: FilesHandler | None = None
        self._waiting: list[tuple[str, ...]] = []
        self._listen(server_name(data_dir), take_over=lock is not None)

    def on_request(self, handler: FilesHandler) -> None:
        """Call `handler(files)` on the GUI thread for each later launch (files may be empty),
        starting with those that came before this call."""
        self._handler = handler
        waiting, self._waiting = self._waiting, []
        for files in waiting:
            handler(files)

    def stop_listening(self) -> None:
        """Take no more requests (the window is closing): a later launch waits for the lock."""
        if self.server is not None:
            self.server.close()
            self.server = None

    def release(self) -> None:
        """Stop listening and give up the lock: the data folder is free for the next window."""
        self.stop_listening()
        if self.lock is not None:
            self.lock.unlock()
            self.lock = None

    def _listen(self, name: str, take_over: bool) -> None:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if take_over:
            # A socket left by a window that was killed: with the lock held it is no one's.
            QLocalServer.removeServer(name)
        if not server.listen(name):
            log.warning("Later launches cannot reach this window: %s", server.errorString())
            return
        server.newConnection.connect(self._on_new_connection)
        self.server = server

    def _on_new_connection(self) -> None:
        while self.server is not None and (connection := self.server.nextPendingConnection()):
            self._accept(connection)

    def _accept(self, connection: QLocalSocket) -> None:
        received = bytearray()
        answered: list[bool] = []

        def on_ready_read() -> None:
            received.extend(connection.readAll().data())
            if answered or b"\n" not in received:
                if len(received) > MAX_REQUEST_BYTES:
                    connection.abort()
                return
            files = _parse_request(bytes(received).split(b"\n", 1)[0])
            if files is None:
                log.warning("Ignored a request that is not from Hearth on the window's socket")
                connection.abort()
                return
            answered.append(True)  # one request per connection: what follows is not read
            connection.write(b"ok\n")
            connection.flush()
            connection.disconnectFromServer()
            self._deliver(files)

        connection.readyRead.connect(on_ready_read)
        connection.disconnected.connect(connection.deleteLater)
        if connection.bytesAvailable():
            on_ready_read()

    def _deliver(self, files: tuple[str, ...]) -> None:
        if self._handler is None:
            self._waiting.append(files)
        else:
            self._handler(files)


def claim(
    data_dir: Path,
    files: Sequence[str] = (),
    timeout_s: float = ANSWER_TIMEOUT_S,
    closing_wait_s: float = CLOSING_WAIT_S,
) -> WindowClaim | HandedOver | HeldElsewhere:
    """Make this process the data folder's window, or hand `files` to the window that is.

    Call it before anything is read from or written to the folder (the log aside), with a
    QCoreApplication made.

    Args:
        data_dir: The data folder (it exists).
        files: Files this launch was asked to open; relative ones are taken from this process's
            working folder.
        timeout_s: How long the open window has to answer.
        closing_wait_s: How long to wait for a window on this computer that holds the folder but
            no longer listens (it is closing: it writes what is left, then lets go).

    Returns:
        A `WindowClaim` to keep until the window has closed and its data is written (a folder
        that cannot take the lock file, being read-only, gets one without a lock: nothing can be
        written there anyway); or `HandedOver` when a window was open and took the files; or
        `HeldElsewhere` when the folder is held and no window answered.
    """
    absolute = tuple(str(Path(f).resolve()) for f in files)
    name = server_name(data_dir)
    lock = QLockFile(str(data_dir / LOCK_FILE))
    # A window stays open for days: the lock's age says nothing. A killed window's lock is told
    # by its pid on this computer; one from another computer waits for that computer.
    lock.setStaleLockTime(0)
    started = time.monotonic()
    while not lock.tryLock(0):
        if lock.error() != QLockFile.LockError.LockFailedError:
            # The folder refuses the lock file (read-only, full); a window may have opened before.
            if _hand_over(name, absolute, timeout_s):
                return HandedOver(data_dir, absolute)
            log.info("No lock file in %s (%s): opening without one", data_dir, lock.error().name)
            return WindowClaim(data_dir, None)
        answered = _hand_over(name, absolute, timeout_s)
        if answered:
            return HandedOver(data_dir, absolute)
        pid, hostname, _app = lock.getLockInfo()
        held = HeldElsewhere(data_dir, int(pid or 0), str(hostname or ""))
        waited = time.monotonic() - started
        if answered is False or waited > (timeout_s if held.elsewhere() else closing_wait_s):
            return held
        time.sleep(0.1)  # starting (it listens just after taking the lock) or closing
    return WindowClaim(data_dir, lock)


def _hand_over(name: str, files: tuple[str, ...], timeout_s: float) -> bool | None:
    """Send `files` to the window listening on `name`.

    Returns:
        True once it has said it took them; False when it did not answer within `timeout_s`;
        None when no window listens (or it stopped listening before it answered).
    """
    deadline = time.monotonic() + timeout_s
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(int(timeout_s * 1000)):
        return None
    socket.write(json.dumps({"files": list(files)}).encode("utf-8") + b"\n")
    socket.flush()
    answer = bytearray()
    while b"\n" not in answer:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            socket.abort()
            return False
        socket.waitForReadyRead(left_ms)
        answer.extend(socket.readAll().data())
        if b"\n" not in answer and socket.state() == QLocalSocket.LocalSocketState.UnconnectedState:
            return None
    socket.abort()
    return answer.startswith(b"ok\n")


def _parse_request(line: bytes) -> tuple[str, ...] | None:
    try:
        request = json.loads(line)
    except ValueError:
        return None
    files = request.get("files") if isinstance(request, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return tuple(files)


def bring_to_front(window: QWidget) -> None:
    """Show `window` over the others with the keyboard focus, restored if it was minimized."""
    if window.isMinimized():
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
