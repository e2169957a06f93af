"""`hearth info` and `hearth chat` end to end, as a person runs them in a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
