"""Reading what each kind of server writes: model lists, context windows, error bodies.

The shapes are those the servers document (llama-server's /v1/models and /props, vLLM's and LM
Studio's model entries, OpenAI's and FastAPI's errors); the live servers are in the slow tests.
"""

from __future__ import annotations

import pytest

from engine.remote.connections import RemoteInfo
from engine.remote.http import reason_in
from engine.remote.probe import ServerModels, window_in_entry, window_in_props
from engine.remote.session import request_body
from engine.session import SamplingSettings


@pytest.mark.parametrize(
    ("entry", "window"),
    [
        ({"id": "m", "owned_by": "vllm", "max_model_len": 32768}, 32768),
        ({"id": "m", "owned_by": "llamacpp", "meta": {"n_ctx": 8192, "n_ctx_train": 131072}}, 8192),
        ({"id": "m", "loaded_context_length": 4096, "max_context_length": 131072}, 4096),
        ({"id": "m", "context_length": "16384"}, 16384),
        ({"id": "m", "owned_by": "me"}, 0),
        ({"id": "m", "context_length": None, "meta": {"n_ctx_train": 4096}}, 0),
    ],
)
def test_window_from_a_model_entry(entry, window):
    assert window_in_entry(entry) == window


def test_window_from_llama_cpp_props():
    assert (
        window_in_props({"default_generation_settings": {"n_ctx": 4096}, "total_slots": 4}) == 4096
    )
    assert window_in_props({"n_ctx": 2048}) == 2048
    assert window_in_props("<html>") == 0


def test_choosing_a_model():
    one = ServerModels(("a",), {}, "llama.cpp")
    several = ServerModels(("a", "b"), {}, "vLLM")
    unlisted = ServerModels((), {}, "OpenAI-compatible")
    no_list = ServerModels((), {}, "OpenAI-compatible", listed=False)
    assert one.choose("", "h") == "a" and several.choose("b", "h") == "b"
    assert unlisted.choose("x", "h") == "x"
    for models, wanted, words in [(several, "", "offers 2 models: 'a', 'b'"),
                                  (one, "z", "has no model 'z'; it offers 'a'"),
                                  (unlisted, "", "lists no models"),
                                  (no_list, "", "probably not an OpenAI-compatible API")]:  # fmt: skip
        with pytest.raises(Exception) as caught:
            models.choose(wanted, "h:1")
        assert words in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"error": {"message": "Invalid API key", "type": "auth"}}, "Invalid API key"),
        ({"detail": "Not authenticated"}, "Not authenticated"),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ({"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, "field required"),
    ],
)
def test_reason_in_error_bodies(body, reason):
    assert reason_in(body) == reason


def _info(server: str) -> RemoteInfo:
    return RemoteInfo("http://h:1", "h:1", "m", ("m",), server, 4096, "", True, "", 0.0)


def test_request_sends_llama_cpp_parameters_only_to_servers_that_take_them():
    sampling = SamplingSettings(temperature=0.0, max_tokens=64, seed=7, repeat_penalty=1.2)
    messages = [{"role": "user", "content": "hi"}]
    body = request_body(_info("llama.cpp"), messages, sampling)
    assert body["stream"] and body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.0, 64, 7)
    assert body["repeat_penalty"] == 1.2 and body["top_k"] == 40
    assert request_body(_info("vLLM"), messages, sampling)["repetition_penalty"] == 1.2
    strict = request_body(_info("OpenAI-compatible"), messages, SamplingSettings(seed=-1))
    assert not {"top_k", "min_p", "repeat_penalty", "seed"} & set(strict)
    assert strict["max_tokens"] == SamplingSettings().max_tokens
