"""`hearth info` and `hearth chat` end to end, as a person runs them in a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def hearth(*args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ},
    )


def test_info_json_lists_backend_memory_and_both_bundled_models():
    result = hearth("info", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"]["default_threads"] >= 1
    assert report["memory"]["ram_total"] > 0
    architectures = {model["architecture"] for model in report["models"]}
    assert {"llama", "gemma3"} <= architectures
    smol = next(m for m in report["models"] if m["architecture"] == "llama")
    assert smol["bundled"] and smol["has_chat_template"] and smol["context_length"] == 8192


@pytest.mark.slow
def test_chat_streams_and_ends_with_one_json_line_of_stats():
    result = hearth("chat", "--json", "--max-tokens", "12", "--temperature", "0", "Say hi.")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    stats = json.loads(lines[-1])
    assert stats["generated_tokens"] > 0
    assert stats["stop_reason"] in ("stop", "length")
    assert {"ttft_s", "prompt_tokens_per_s", "generation_tokens_per_s", "cached_tokens"} <= set(
        stats
    )
    assert "".join(lines[:-1]).strip(), "the reply text comes before the stats"


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"just some text", "is not a GGUF model file")],
)
def test_bad_model_path_exits_nonzero_with_one_line(tmp_path, content, message):
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    result = hearth("chat", "--model", str(path), "hello")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_info_json_gives_the_largest_window_per_cache_type():
    result = hearth("info", "--json")
    assert result.returncode == 0, result.stderr
    for model in json.loads(result.stdout)["models"]:
        windows = model["largest_window"]
        assert set(windows) == {"f16", "q8_0", "q4_0"}
        assert 0 < windows["f16"] <= model["context_length"]
        assert windows["q4_0"] >= windows["q8_0"] >= windows["f16"]


def long_history(tmp_path, exchanges=12):
    history = []
    for i in range(exchanges):
        history.append({"role": "user", "content": f"Message {i}: " + "tell me about boats. " * 8})
        history.append({"role": "assistant", "content": f"Reply {i}: " + "boats float. " * 8})
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history))
    return path


@pytest.mark.slow
def test_chat_overflow_stop_refuses_in_one_line(tmp_path):
    history = long_history(tmp_path)
    result = hearth("chat", "--ctx", "512", "--overflow", "stop", "--history", str(history),
                    "--max-tokens", "8", "What did I ask first?")  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "the context window holds 512" in result.stderr and "new chat" in result.stderr


@pytest.mark.slow
def test_chat_overflow_sliding_window_drops_old_turns_and_says_so(tmp_path):
    history = long_history(tmp_path)
    result = hearth("chat", "--ctx", "512", "--overflow", "sliding_window", "--history",
                    str(history), "--max-tokens", "8", "--temperature", "0", "--json",
                    "What did I ask first?")  # fmt: skip
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    context = stats["context"]
    assert context["changes"][0]["kind"] == "dropped"
    assert context["budget"]["n_ctx"] == 512
    assert stats["prompt_tokens"] + stats["generated_tokens"] <= 512
    assert "dropped" in result.stderr


def test_chat_window_too_large_is_refused_before_loading_with_a_proposal():
    result = hearth("chat", "--ctx", "131072", "hello")
    assert result.returncode == 2
    assert result.stderr.startswith("hearth: SmolLM2-135M-Instruct.Q4_1.gguf was trained for "
                                    "windows up to 8,192 tokens")  # its file's name  # fmt: skip
    # The trained length fits as asked: a cache type would change nothing about the limit.
    assert result.stderr.rstrip().endswith("Try: a window of 8,192 tokens (the model's trained "
                                           "length).")  # fmt: skip


def test_opening_a_file_from_the_desktop_starts_the_window(tmp_path):
    """The menu entry runs `hearth %F`: paths go to the window, not to the subcommand parser."""
    import pymupdf

    pdf = tmp_path / "notes.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "hello")
    doc.save(pdf)
    result = subprocess.run(
        [sys.executable, "-m", "app", str(pdf)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HEARTH_EXIT_WHEN_SHOWN": "1", "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shown ")
    # Closing while the dropped file is still being indexed must not end in an error dialog.
    log = (Path(os.environ["HEARTH_HOME"]) / "logs" / "hearth.log").read_text()
    assert "Unexpected error" not in log


@pytest.mark.slow
def test_chat_reads_text_in_the_terminal_s_own_encoding_and_refuses_what_no_model_reads(
    tmp_path,
):
    """Latin-1 bytes as the message, on standard input, or a history with a JSON surrogate
    escape: never "unexpected error"."""
    latin1 = "Name one café.".encode("latin-1")
    as_argument = subprocess.run([sys.executable, "-m", "app", "chat", "--max-tokens", "3",
                                  latin1], capture_output=True, timeout=180)  # fmt: skip
    assert as_argument.returncode == 0, as_argument.stderr
    piped = subprocess.run([sys.executable, "-m", "app", "chat", "--max-tokens", "3", "-"],
                           input=latin1, capture_output=True, timeout=180)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    history = tmp_path / "history.json"
    history.write_text('[{"role": "user", "content": "\\ud800 hi"}, '
                       '{"role": "assistant", "content": "Hello."}]')  # fmt: skip
    refused = hearth("chat", "--max-tokens", "3", "--history", str(history), "And now?")
    assert refused.returncode == 2
    assert refused.stderr.startswith("hearth: Message ") and "not valid Unicode" in refused.stderr
    assert "unexpected error" not in refused.stderr
