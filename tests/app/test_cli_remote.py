"""`hearth chat --remote` and `hearth ask --remote` against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli import main
from tests.engine.library.corpus import write_guide_pdf
from tests.memory_keyring import use_memory_keyring
from tests.remote_servers import LlamaCppPythonServer, free_port

pytestmark = pytest.mark.slow

KEY = "sk-hearth-cli-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory, default_model_path):
    with LlamaCppPythonServer(tmp_path_factory.mktemp("server"), default_model_path,
                              api_key=KEY) as running:  # fmt: skip
        yield running


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_chat_streams_and_ends_with_the_same_json_stats_as_local(capsys, server):
    code, out, err = run(capsys, "chat", "--remote", server.url, "--api-key", KEY, "--json",
                         "--max-tokens", "12", "--temperature", "0", "Say hi.")  # fmt: skip
    assert code == 0, err
    lines = out.strip().splitlines()
    stats = json.loads(lines[-1])
    assert "".join(lines[:-1]).strip(), "the reply text comes before the stats"
    assert 0 < stats["generated_tokens"] <= 12 and stats["stop_reason"] in ("stop", "length")
    assert {"ttft_s", "prompt_tokens_per_s", "generation_tokens_per_s", "cached_tokens",
            "prompt_tokens", "context"} <= set(stats)  # fmt: skip
    assert stats["context"]["budget"]["n_ctx"] == 4096  # --ctx: this server reports none
    assert stats["counts_estimated"] is True


def test_the_key_comes_from_the_environment_or_the_keyring(capsys, server, monkeypatch):
    from app.paths import app_paths
    from engine.remote import ConnectionStore, RemoteConnection

    args = ("chat", "--remote", server.url, "--max-tokens", "4", "Hi")
    code, _, err = run(capsys, *args)
    assert code == 2 and "needs an API key" in err and "--api-key or HEARTH_API_KEY" in err

    monkeypatch.setenv("HEARTH_API_KEY", KEY)
    assert run(capsys, *args)[0] == 0
    monkeypatch.delenv("HEARTH_API_KEY")

    with use_memory_keyring():
        ConnectionStore(app_paths().remotes_file).save(RemoteConnection(server.url), api_key=KEY)
        code, _, err = run(capsys, *args)
    assert code == 0, err


def test_ask_answers_from_a_local_library_with_the_remote_model(capsys, server, tmp_path,
                                                                monkeypatch, shared_embedder):  # fmt: skip
    monkeypatch.setattr("engine.library.library.Embedder", lambda: shared_embedder)
    guide = write_guide_pdf(tmp_path / "guide.pdf")
    assert run(capsys, "index", str(guide), "--library", "manuals")[0] == 0
    code, out, err = run(capsys, "ask", "How often should I oil my bicycle chain?", "--library",
                         "manuals", "--remote", server.url, "--api-key", KEY, "--json",
                         "--temperature", "0", "--max-tokens", "48")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["sources"][0]["page"] == 3 and result["sources"][0]["file"] == str(guide)
    assert result["answer"] and result["stats"]["generated_tokens"] > 0
    # Retrieval stayed here: the server saw the excerpts only as prompt text.
    assert result["stats"]["prompt_tokens"] > 100


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--api-key", "nope"), "refused the API key (HTTP 401)"),
        (("--api-key", KEY, "--remote-model", "gpt-4o"), "has no model 'gpt-4o'"),
        (("--api-key", KEY, "--model", "x.gguf"), "either --model (a local file) or --remote"),
    ],
)
def test_a_server_that_cannot_be_used_ends_with_one_line_and_exit_2(capsys, server, extra, words):
    code, out, err = run(capsys, "chat", "--remote", server.url, *extra, "Hi")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("hearth: ") and words in err


@pytest.mark.parametrize("command", ["chat", "ask"])
def test_an_empty_server_address_is_refused_not_answered_locally(capsys, command):
    code, out, err = run(capsys, command, "--remote", " ", "Hi")
    assert code == 2 and out == ""
    assert err == "hearth: No server address was given. Example: http://192.168.1.20:8080\n"


def test_ask_on_a_server_that_is_down_ends_with_one_line(capsys, tmp_path, monkeypatch,
                                                         shared_embedder):  # fmt: skip
    monkeypatch.setattr("engine.library.library.Embedder", lambda: shared_embedder)
    run(capsys, "index", str(write_guide_pdf(tmp_path / "guide.pdf")))
    port = free_port()
    code, out, err = run(capsys, "ask", "How often should I oil my bicycle chain?",
                         "--remote", f"127.0.0.1:{port}")  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"Nothing answers at http://127.0.0.1:{port} (connection refused)" in err


def test_a_reply_cut_by_a_dying_server_is_kept_and_ends_with_one_line(tmp_path, default_model_path):
    with LlamaCppPythonServer(tmp_path, default_model_path) as doomed:
        command = [sys.executable, "-m", "app", "chat", "--remote", doomed.url, "--temperature",
                   "0", "--max-tokens", "400", "Count from 1 to 200, separated by commas."]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={**os.environ})  # fmt: skip
        first = process.stdout.read(4)  # the reply has begun
        doomed.kill()
        rest, err = process.communicate(timeout=60)
    text = (first + rest).decode()
    assert process.returncode == 2 and len(text.strip()) >= 4
    # The statistics line, then the reason: nothing else on stderr.
    stats_line, last = err.decode().strip().splitlines()
    assert stats_line.startswith("[") and "stop: error]" in stats_line
    assert last.startswith(f"hearth: The server at 127.0.0.1:{doomed.port} closed the connection")
    assert "the reply is incomplete" in last
