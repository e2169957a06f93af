"""`hearth serve` with the bundled model, spoken to by OpenAI's own Python client over 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time

import httpx
import numpy as np
import openai
import pytest

from app.cli import main
from app.serve.options import ServeOptions
from engine.session import SamplingSettings
from tests.engine.library.corpus import write_guide_pdf
from tests.serve_server import load_model_thread, serve

pytestmark = pytest.mark.slow

KEY = "sk-hearth-serve-test"
COUNT = "Count from 1 to 30, separated by commas."


@pytest.fixture(scope="module")
def model_thread(tmp_path_factory, default_model_path):
    thread = load_model_thread(default_model_path, tmp_path_factory.mktemp("guard") / "ok.json")
    yield thread
    thread.shutdown()


@pytest.fixture(scope="module")
def embedder(embedding_model_dir):
    from engine.library.embed import Embedder

    embedder = Embedder(embedding_model_dir)
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def served(tmp_path_factory, model_thread, embedder):
    from engine.library import Library

    folder = tmp_path_factory.mktemp("serve")
    guide = write_guide_pdf(folder / "guide.pdf")
    libraries = folder / "libraries"
    with Library.open(libraries, "manuals", embedder=embedder) as library:
        assert not library.index([guide]).failed
    options = ServeOptions(
        api_key=KEY, sampling=SamplingSettings(temperature=0.0, repeat_penalty=1.0)
    )
    running = serve(model_thread, options, embedder, libraries)
    running.guide = guide
    yield running
    running.stop()


@pytest.fixture
def client(served):
    return openai.OpenAI(base_url=served.url, api_key=KEY, max_retries=0, timeout=120)


def test_the_model_list_names_the_loaded_model_and_its_window(client, served):
    models = client.models.list().data
    assert [model.id for model in models] == [served.model]
    assert models[0].owned_by == "hearth" and models[0].model_extra["context_length"] == 2048


def test_a_whole_reply_has_its_text_usage_and_finish_reason(client, served):
    reply = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=12, temperature=0, seed=1)  # fmt: skip
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 0 < reply.usage.completion_tokens <= 12 and reply.usage.prompt_tokens > 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_a_streamed_reply_arrives_in_pieces_and_ends_with_usage(client, served):
    stream = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": COUNT}], max_tokens=24,
        temperature=0, stream=True, stream_options={"include_usage": True})  # fmt: skip
    chunks = list(stream)
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert len(pieces) > 5 and finishes == ["length"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 24
    whole = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": COUNT}], max_tokens=24,
        temperature=0)  # fmt: skip
    assert "".join(pieces) == whole.choices[0].message.content  # greedy: the same reply


def test_a_stop_string_ends_the_reply_before_it(client, served):
    reply = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": COUNT}], max_tokens=120,
        temperature=0, stop=["7"])  # fmt: skip
    text = reply.choices[0].message.content
    assert "6" in text and "7" not in text
    assert reply.choices[0].finish_reason == "stop" and reply.usage.completion_tokens < 120
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": COUNT}], max_tokens=120,
        temperature=0, stop=["7"], stream=True) if c.choices]  # fmt: skip
    assert "".join(pieces) == text


def test_an_over_long_prompt_is_refused_in_words_or_fitted(client, served):
    long = "Tell me about bicycles. " * 900  # about 4,500 tokens in a 2,048-token window
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=served.model, messages=[{"role": "user", "content": long}], max_tokens=8,
            stream=True)  # fmt: skip
    error = refused.value.body
    assert refused.value.status_code == 400 and error["code"] == "context_length_exceeded"
    assert "2,048-token context window" in error["message"]
    assert "overflow_policy" not in error["message"]  # no policy shortens the message itself
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"Turn {i}. " + "Bikes. " * 60}
               for i in range(8)]  # fmt: skip
    ask = {"model": served.model, "messages": [*history, {"role": "user", "content": "Say yes."}],
           "max_tokens": 1800, "stop": [".", "\n"]}  # fmt: skip
    with pytest.raises(openai.BadRequestError, match="context window") as stopped:
        client.chat.completions.create(**ask, extra_body={"hearth": {"overflow_policy": "stop"}})
    assert '"hearth": {"overflow_policy": "sliding_window"}' in stopped.value.body["message"]
    fitted = client.chat.completions.create(**ask)  # the default policy drops the oldest turns
    assert fitted.usage.prompt_tokens < 600  # the eight turns alone are about 1,000 tokens
    assert "dropped" in fitted.model_extra["hearth"]["context_notice"]
    assert fitted.choices[0].finish_reason == "stop"


def test_a_library_request_answers_from_the_documents_with_sources(client, served):
    reply = client.chat.completions.create(
        model=served.model, max_tokens=48, temperature=0,
        messages=[{"role": "user", "content": "How often should I oil my bicycle chain?"}],
        extra_body={"hearth": {"library": "manuals"}})  # fmt: skip
    hearth = reply.model_extra["hearth"]
    first = hearth["sources"][0]
    assert first["file"] == str(served.guide) and first["page"] == 3 and first["excerpt"]
    assert hearth["evidence"] and hearth["evidence"][0]["file"] == str(served.guide)
    assert reply.usage.prompt_tokens > 100  # the excerpts were in the prompt
    with pytest.raises(openai.NotFoundError, match="no library named 'nope'"):
        client.chat.completions.create(
            model=served.model, messages=[{"role": "user", "content": "Hi"}], max_tokens=2,
            extra_body={"hearth": {"library": "nope"}})  # fmt: skip


def test_embeddings_are_the_library_model_vectors(client, served):
    result = client.embeddings.create(model="all-MiniLM-L6-v2", input=["a red bicycle", "tea"])
    vectors = np.array([item.embedding for item in result.data], dtype=np.float32)
    expected = served.service.embedder.embed(["a red bicycle", "tea"])
    assert vectors.shape == (2, 384) and np.allclose(vectors, expected, atol=1e-6)
    assert result.usage.prompt_tokens > 0
    plain = httpx.post(served.url + "/embeddings", headers={"Authorization": f"Bearer {KEY}"},
                       json={"model": "all-MiniLM-L6-v2", "input": "tea"}).json()  # fmt: skip
    assert np.allclose(plain["data"][0]["embedding"], expected[1], atol=1e-6)


def test_a_wrong_key_gets_401_in_openai_shape(served):
    wrong = openai.OpenAI(base_url=served.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    response = httpx.post(served.url + "/chat/completions", json={})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_a_client_that_goes_away_frees_the_model_within_a_second(served):
    body = {"model": served.model, "messages": [{"role": "user", "content": COUNT}],
            "max_tokens": 1000, "stream": True}  # fmt: skip
    headers = {"Authorization": f"Bearer {KEY}"}
    queue = served.service.model_thread.queue
    arrived: list[float] = []
    with httpx.stream("POST", served.url + "/chat/completions", json=body, headers=headers,
                      timeout=60) as response:  # fmt: skip
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrived.append(time.monotonic())
            if len(arrived) == 4:
                break
        assert not queue.wait_idle(0)  # still writing
    left = time.monotonic()
    # The job stops at its next token: within a second here, or a few tokens' time on a
    # machine so busy that one token takes longer.
    per_token = (arrived[-1] - arrived[0]) / 3
    assert queue.wait_idle(max(1.0, 3 * per_token)), (
        "the reply kept the model after its client left"
    )
    assert time.monotonic() - left < max(1.0, 3 * per_token)


def test_eight_streaming_clients_at_once_are_all_answered_in_full(served):
    results: dict[int, tuple[str, str | None, int]] = {}
    failures: list[BaseException] = []

    def ask(number: int) -> None:
        try:
            answer(number)
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    def answer(number: int) -> None:
        # Eight replies take turns on one model: the last waits for the seven before it.
        client = openai.OpenAI(base_url=served.url, api_key=KEY, max_retries=0, timeout=600)
        text, finish, used = [], None, 0
        for chunk in client.chat.completions.create(
                model=served.model, messages=[{"role": "user", "content": f"Say the number {number}."}],
                max_tokens=8, temperature=0, stream=True, stream_options={"include_usage": True}):  # fmt: skip
            if chunk.choices:
                text.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage:
                used = chunk.usage.completion_tokens
        results[number] = ("".join(text), finish, used)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert not failures and sorted(results) == list(range(8))
    for text, finish, used in results.values():
        assert text.strip() and finish in ("stop", "length") and 0 < used <= 8
    deadline = time.monotonic() + 1.0  # the last reply's handler ends just after its [DONE]
    while served.service.gate.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.service.gate.active == 0


def test_requests_beyond_the_queue_limit_get_429_with_retry_after(served, model_thread):
    sampling = SamplingSettings(temperature=0.0, repeat_penalty=1.0)
    tight = serve(model_thread, ServeOptions(api_key=KEY, queue_limit=0, sampling=sampling))
    try:
        headers = {"Authorization": f"Bearer {KEY}"}
        body = {"model": tight.model, "messages": [{"role": "user", "content": COUNT}],
                "max_tokens": 400, "stream": True}  # fmt: skip
        with httpx.stream("POST", tight.url + "/chat/completions", json=body, headers=headers,
                          timeout=60) as first:  # fmt: skip
            lines = first.iter_lines()  # kept: dropping it would close the connection
            next(lines)
            refused = httpx.post(tight.url + "/chat/completions", json={**body, "stream": False},
                                 headers=headers)  # fmt: skip
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["type"] == "rate_limit_error"
    finally:
        tight.stop()


def test_hearth_chat_remote_talks_to_hearth_serve(capsys, served):
    code = main(["chat", "--remote", served.root, "--api-key", KEY, "--json", "--max-tokens",
                 "12", "--temperature", "0", "Say hi."])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    stats = json.loads(lines[-1])
    assert "".join(lines[:-1]).strip()
    assert 0 < stats["generated_tokens"] <= 12 and stats["counts_estimated"] is False
    assert stats["context"]["budget"]["n_ctx"] == 2048  # from the server's model list


def test_a_lone_surrogate_is_refused_before_it_reaches_the_model(served):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    for model, content, param in ((served.model, "\ud800 hi", "messages[0].content"),
                                  ("\udfff", "Hi", "model")):  # fmt: skip
        body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 3}
        refused = httpx.post(served.url + "/chat/completions", headers=headers,
                             content=json.dumps(body).encode("ascii"))  # fmt: skip
        assert refused.status_code == 400 and refused.json()["error"]["param"] == param
    assert refused.json()["error"]["message"] == (
        "model holds text that is not valid Unicode (a lone surrogate, \\udfff, at character 0)."
    )


def test_a_body_too_large_is_measured_against_the_served_window(served):
    body = {"model": served.model, "messages": [{"role": "user", "content": "word " * 1_800_000}]}
    too_large = httpx.post(served.url + "/chat/completions", json=body, timeout=30,
                           headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
    message = too_large.json()["error"]["message"]
    assert too_large.status_code == 413 and "the model's 2,048-token window" in message
    assert "131,072" not in message
