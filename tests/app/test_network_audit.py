"""Nothing leaves the machine: chat, index, search and ask run with every socket connection and
name lookup audited (in each process and its children) and no attempt reaches past loopback.

The window's share is tests/ui/test_network_audit_window.py. Python's audit hooks see every
connection made through Python's socket module (HTTP clients, telemetry, model hubs); native
code that opens sockets on its own would not be seen.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys

import pytest

from tests.network_audit import attempts, audit_this_process, audited_environment

OUTSIDE = ("192.0.2.1", 9)  # TEST-NET-1: reserved for documentation, never routed


def hearth(env, *args, timeout=600):
    result = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                            timeout=timeout, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_the_audit_sees_an_attempt_from_a_spawned_grandchild(tmp_path):
    """The control: an outside connection, made two processes down, is caught."""
    log = tmp_path / "network.log"
    code = (
        "import multiprocessing, socket\n"
        "def reach():\n"
        f"    try: socket.create_connection({OUTSIDE!r}, timeout=0.05)\n"
        "    except OSError: pass\n"
        "if __name__ == '__main__':\n"
        "    child = multiprocessing.get_context('spawn').Process(target=reach)\n"
        "    child.start(); child.join()\n"
    )
    script = tmp_path / "reach.py"
    script.write_text(code)
    subprocess.run([sys.executable, str(script)], env=audited_environment(log), timeout=60,
                   check=True)  # fmt: skip
    seen = attempts(log)
    assert any("socket.connect ('192.0.2.1', 9)" in line for line in seen), seen


def test_the_audit_sees_a_lookup_and_a_connection_in_this_process(tmp_path):
    log = tmp_path / "network.log"
    audit_this_process(log)
    try:
        for target in (OUTSIDE, ("127.0.0.1", 9)):
            with contextlib.suppress(OSError):
                socket.create_connection(target, timeout=0.05).close()
        with contextlib.suppress(OSError):
            socket.getaddrinfo("example.invalid", 80)
    finally:
        os.environ.pop("HEARTH_NETWORK_AUDIT_LOG", None)
    seen = "\n".join(attempts(log))
    assert "socket.connect ('192.0.2.1', 9)" in seen and "'example.invalid'" in seen
    assert "127.0.0.1" not in seen, "loopback is fine"


@pytest.mark.slow
def test_chat_index_search_and_ask_stay_on_this_machine(tmp_path):
    log = tmp_path / "network.log"
    env = audited_environment(log)
    env["HEARTH_HOME"] = str(tmp_path / "home")
    # As a person runs it: no offline switches beyond what Hearth sets for itself.
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY"):
        env.pop(name, None)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.txt").write_text("The copper kettle whistles at ninety-five degrees.\n")
    hearth(env, "chat", "--max-tokens", "4", "--threads", "1", "Say hi.")
    hearth(env, "index", str(docs))
    hearth(env, "search", "kettle whistle")
    hearth(env, "ask", "When does the kettle whistle?", "--max-tokens", "8")
    hearth(env, "info", "--json")
    assert attempts(log) == []
