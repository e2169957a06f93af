"""`hearth models ...` end to end against a local Hub, as a person runs it in a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.storage import size_text
from tests.hub_server import HubServer

# Each test runs `hearth models` in a process that fetches real GGUF files from a local Hub.
pytestmark = pytest.mark.slow

REPO = "local/SmolLM2-135M-Instruct.Q4_1"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def hub(default_model_path):
    server = HubServer()
    server.add_repo(REPO, {FILE: default_model_path})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(hub, hearth_home):
    hub.faults.bytes_per_s = 0
    hub.log.clear()
    return {**os.environ, "HF_ENDPOINT": hub.url, "HEARTH_HOME": str(hearth_home),
            "HF_HUB_OFFLINE": "1"}  # fmt: skip


def hearth(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "app", "models", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)  # fmt: skip


def test_search_and_files_as_json(env):
    found = hearth(env, "search", "smol", "--json")
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)["results"][0]
    assert result["repo_id"] == REPO and result["has_chat_template"] is True
    files = hearth(env, "files", REPO, "--json", "--ctx", "2048")
    assert files.returncode == 0, files.stderr
    report = json.loads(files.stdout)
    assert report["recommended"] == FILE and report["n_ctx"] == 2048
    assert report["header"]["bytes_fetched"] < report["files"][0]["size"] / 10
    verdict = report["files"][0]["verdict"]
    assert verdict["text"] in ("fits in RAM", "fits fully on the GPU") and verdict["from_header"]
    assert verdict["words"].startswith(verdict["text"] + ", needs ~")
    text = hearth(env, "files", REPO)
    assert "* recommended: " + FILE in text.stdout and "Q4_1" in text.stdout
    size = size_text(report["files"][0]["size"])
    assert f"Q4_1     {size:>8}  fits " in text.stdout, text.stdout
    assert "with room for the system)" in text.stdout


def test_files_states_the_need_as_the_model_picker_does(env, default_model_path):
    """The same model at the same window: the same estimate and need, in the same words."""
    from app.model_controller import fit_words
    from engine.context.fit import MachineMemory, check_fit
    from engine.gguf_info import read_model_info
    from engine.session import LoadSettings

    files = hearth(env, "files", REPO, "--json", "--ctx", "2048")
    verdict = json.loads(files.stdout)["files"][0]["verdict"]
    info = read_model_info(default_model_path)
    memory = MachineMemory(verdict["free_bytes"])  # the CLI's free memory, here
    report = check_fit(LoadSettings(str(default_model_path), n_ctx=2048, n_gpu_layers=0), memory,
                       info, flash_attn=True)  # fmt: skip
    picker, _ = fit_words(report, info, 2048)
    assert picker == verdict["words"]
    assert verdict["needed_bytes"] - verdict["estimate_bytes"] > 1e9, "margin and reserve"


def test_a_capped_window_is_noted_beside_the_verdict(env):
    text = hearth(env, "files", REPO, "--ctx", "32768")
    assert text.returncode == 0, text.stderr
    assert " · window capped at the model's trained 8,192 tokens" in text.stdout


def test_the_window_and_k_v_type_come_from_the_settings_as_the_window_reads_them(env, hearth_home):
    """A settings file of an older version is migrated for the CLI as for the window."""
    settings = hearth_home / "config" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"n_ctx": 3072, "temperature": 0.1}))  # version 1
    files = hearth(env, "files", REPO, "--json")
    assert files.returncode == 0, files.stderr
    assert json.loads(files.stdout)["n_ctx"] == 3072
    settings.write_text(json.dumps({"version": 2, "values": {"model.kv_type": "q8_0"}}))
    assert json.loads(hearth(env, "files", REPO, "--json").stdout)["kv_type"] == "q8_0"


def test_pull_prints_the_path_then_list_and_remove(env, hearth_home):
    pulled = hearth(env, "pull", REPO, "Q4_1")
    assert pulled.returncode == 0, pulled.stderr
    path = pulled.stdout.strip()
    assert path.startswith(str(hearth_home)) and path.endswith(FILE) and os.path.isfile(path)
    assert "done:" in pulled.stderr and "verifying" in pulled.stderr
    listed = json.loads(hearth(env, "list", "--json").stdout)
    mine = [m for m in listed["models"] if m["source"] == "downloaded"]
    assert [m["path"] for m in mine] == [path] and mine[0]["repo_id"] == REPO
    removed = hearth(env, "remove", path)
    assert removed.returncode == 0 and not os.path.exists(path)


def test_pull_resumes_after_the_process_was_killed(env, hub, hearth_home):
    hub.faults.bytes_per_s = 8e6
    process = subprocess.Popen([sys.executable, "-m", "app", "models", "pull", REPO, FILE],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    cache = hearth_home / "cache" / "downloads"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            parts = list(cache.glob("*.part"))
            if parts and parts[0].stat().st_size > 4e6:
                break
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    kept = parts[0].stat().st_size
    assert 4e6 < kept < 98e6
    unfinished = json.loads(hearth(env, "list", "--json").stdout)["unfinished_downloads"]
    assert unfinished[0]["file"] == FILE and unfinished[0]["done_bytes"] == kept
    hub.faults.bytes_per_s = 0
    resumed = hearth(env, "pull", REPO, FILE, "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["state"] == "done" and report["resumed_from"] == kept
    assert hub.requests("/cdn/")[-1]["range"] == f"bytes={kept}-"


@pytest.mark.parametrize(
    ("args", "message"),
    [(("files", "not-a-repo"), "is not a model name"),
     (("files", "local/missing"), "no such model"),
     (("pull", REPO, "Q2_K"), "has no GGUF file called Q2_K"),
     (("remove", "/nowhere/x.gguf"), "is not in the model list"),
     (("search", ""), "What to search for is missing"),
     (("search", " "), "What to search for is missing"),
     (("files", ""), "The repository is missing: give it as owner/name"),
     (("pull", "", "Q4_1"), "The repository is missing: give it as owner/name"),
     (("pull", REPO, ""), "The file to download is missing"),
     (("remove", ""), "The model file to remove is missing")],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(env, args, message):
    result = hearth(env, *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_offline_is_one_line_within_seconds(env):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    for args in (("search", "qwen"), ("files", REPO), ("pull", REPO, FILE)):
        started = time.monotonic()
        result = hearth(offline, *args)
        assert result.returncode == 2 and "cannot be reached" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert time.monotonic() - started < 15  # includes starting Python
