"""Nothing leaves the machine from the window either: start it, chat, drop a document, let the
library process index it and answer from it, with every process's connections audited."""

from __future__ import annotations

import os

import psutil
import pytest

from tests.network_audit import LOG_ENV, SITE_DIR, attempts, audit_this_process
from tests.ui.conftest import LIGHTHOUSE_PAGES, drop_files, write_pdf


@pytest.mark.slow
def test_the_window_stays_on_this_machine(harness, qtbot, tmp_path, monkeypatch):
    log = tmp_path / "network.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    # The library process is spawned with this environment, so it audits itself too.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(SITE_DIR), os.environ.get("PYTHONPATH")) if p))  # fmt: skip
    audit_this_process(log)
    app = harness.start()
    window = app.window
    app.send("Say hello.")
    app.wait_reply()
    pdf = write_pdf(tmp_path / "harbour-guide.pdf", LIGHTHOUSE_PAGES)
    drop_files(window, [pdf])
    qtbot.wait_until(lambda: window.documents.status_of(str(pdf)) == "indexed", timeout=180000)
    app.send("Who is the keeper of the lighthouse?")
    app.wait_reply()
    assert window.chat.last().sources.sources(), "the answer came from the indexed document"
    pids = app.controller.libraries.running_pids()
    assert pids, "the library process did the work"
    for pid in pids:  # and it ran audited
        environment = psutil.Process(pid).environ()
        assert environment[LOG_ENV] == str(log) and str(SITE_DIR) in environment["PYTHONPATH"]
    harness.stop()
    assert attempts(log) == []
