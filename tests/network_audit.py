"""Helpers for the tests that prove nothing leaves the machine (see tests/audit_site)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SITE_DIR = Path(__file__).parent / "audit_site"
LOG_ENV = "HEARTH_NETWORK_AUDIT_LOG"

_spec = importlib.util.spec_from_file_location("hearth_audit_site", SITE_DIR / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
audit_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_site)

_installed_in_this_process: list[bool] = []


def audited_environment(log: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose Python processes (and their children) record outside connections."""
    env = dict(os.environ if base is None else base)
    env[LOG_ENV] = str(log)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), env.get("PYTHONPATH")) if p)
    return env


def audit_this_process(log: Path) -> None:
    """Record this process's outside connections into `log` (audit hooks cannot be removed, so
    a later call only changes the file; each test passes its own)."""
    os.environ[LOG_ENV] = str(log)
    if not _installed_in_this_process:
        audit_site.install()
        _installed_in_this_process.append(True)


def attempts(log: Path) -> list[str]:
    """The outside connections recorded so far."""
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []
