"""Network audit for Hearth's tests: every socket connection and name lookup a Python process
attempts outside loopback is written to the file named by HEARTH_NETWORK_AUDIT_LOG.

On PYTHONPATH, Python imports this at start-up, so the processes a test starts (the CLI, the
library process, the model probe: spawned children inherit the environment) are audited too.
Self-contained on purpose: it runs before the project is importable.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import traceback

LOG_ENV = "HEARTH_NETWORK_AUDIT_LOG"
_LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
           "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"}  # fmt: skip


def is_local(host) -> bool:
    """Loopback (or the unspecified address, which the kernel routes to this machine)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name that would need a lookup
    return address.is_loopback or address.is_unspecified


def _outside(event: str, args: tuple):
    """The remote end of `event` when it is outside this machine, else None."""
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) == getattr(socket, "AF_UNIX", object()):
            return None
        if isinstance(address, tuple) and address:
            return None if is_local(address[0]) else address
        return None
    host = args[0] if args else None
    return None if is_local(host) else host


def install() -> None:
    """Start recording this process's attempts to reach other machines, into the file named by
    HEARTH_NETWORK_AUDIT_LOG at the time of each attempt (nothing while it is unset)."""

    def hook(event: str, args: tuple) -> None:
        if event not in _EVENTS:
            return
        log_path = os.environ.get(LOG_ENV)
        if not log_path:
            return
        try:
            remote = _outside(event, args)
            if remote is None:
                return
            where = " < ".join(
                f"{os.path.basename(f.filename)}:{f.lineno}"
                for f in reversed(traceback.extract_stack(limit=12)[:-1])
            )
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"pid {os.getpid()} {event} {remote!r} at {where}\n")
        except Exception:  # an audit hook must never break the program it watches
            pass

    sys.addaudithook(hook)


if os.environ.get(LOG_ENV):
    install()
