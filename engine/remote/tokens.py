"""Counting tokens for a remote model: with the server's tokenizer where it has one, else locally.

Servers differ in what they offer:

- llama.cpp's llama-server: POST /tokenize and POST /apply-template, so the prompt is rendered
  with the model's own template and counted exactly.
- vLLM: POST /tokenize takes chat messages and counts them exactly.
- llama-cpp-python's server: POST /extras/tokenize counts text exactly; the chat template's
  framing is estimated by rendering the messages with the bundled model's template.
- Others (Ollama, LM Studio, hosted APIs): no tokenizer; the bundled model's tokenizer and
  template stand in, and the counts are marked as an estimate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.remote.errors import RemoteError
from engine.remote.http import RemoteClient

log = logging.getLogger(__name__)

Message = dict[str, str]
PROBE_TEXT = "Hello, world"


@dataclass(frozen=True)
class Tokenizer:
    """How one connection counts tokens.

    Attributes:
        text: Tokens of plain text (no template framing, no BOS).
        prompt: Tokens of chat messages as the model sees them, through the reply's header.
        exact: Whether `prompt` is what the server itself will evaluate.
        source: Where the counts come from, in words (for the context bar's tooltip).
    """

    text: Callable[[str], list[int]]
    prompt: Callable[[Sequence[Message]], list[int]]
    exact: bool
    source: str


def probe_tokenizer(client: RemoteClient, model: str) -> Tokenizer:
    """The best way this server offers to count tokens for `model` (one or two small requests).

    Raises:
        RemoteError: the server cannot be reached or refuses the key.
    """
    llama_server = _llama_server(client)
    if llama_server is not None:
        return llama_server
    vllm = _vllm(client, model)
    if vllm is not None:
        return vllm
    server_text = _extras_tokenize(client, model)
    if server_text is not None:
        return server_text
    local = LocalTokenizer.shared()
    return Tokenizer(local.text, local.prompt, exact=False,
                     source="a local tokenizer (an estimate; the server counts none)")  # fmt: skip


def _llama_server(client: RemoteClient) -> Tokenizer | None:
    def tokenize(content: str, special: bool) -> list[int]:
        body = {"content": content, "add_special": special, "parse_special": special}
        return _ids(client.post_json("/tokenize", body, base="root"))

    probe = client.try_json("POST", "/tokenize", {"content": PROBE_TEXT}, base="root")
    if not _has_ids(probe) or (isinstance(probe, dict) and "count" in probe):
        return None  # vLLM's /tokenize also answers, with a "count"; it is handled below
    template = client.try_json("POST", "/apply-template",
                               {"messages": [{"role": "user", "content": "x"}]}, base="root")  # fmt: skip

    def text(content: str) -> list[int]:
        return tokenize(content, special=False)

    if isinstance(template, dict) and isinstance(template.get("prompt"), str):

        def prompt(messages: Sequence[Message]) -> list[int]:
            body = {"messages": [dict(m) for m in messages]}
            rendered = client.post_json("/apply-template", body, base="root")
            return tokenize(str(rendered.get("prompt", "")), special=True)

        return Tokenizer(text, prompt, exact=True,
                         source="the server's tokenizer and chat template")  # fmt: skip
    return _with_local_framing(text, lambda rendered: tokenize(rendered, special=True))


def _vllm(client: RemoteClient, model: str) -> Tokenizer | None:
    probe = client.try_json("POST", "/tokenize", {"model": model, "prompt": PROBE_TEXT},
                            base="root")  # fmt: skip
    if not (_has_ids(probe) and isinstance(probe, dict) and "count" in probe):
        return None

    def text(content: str) -> list[int]:
        body = {"model": model, "prompt": content, "add_special_tokens": False}
        return _ids(client.post_json("/tokenize", body, base="root"))

    def prompt(messages: Sequence[Message]) -> list[int]:
        body = {"model": model, "messages": [dict(m) for m in messages],
                "add_generation_prompt": True}  # fmt: skip
        return _ids(client.post_json("/tokenize", body, base="root"))

    return Tokenizer(text, prompt, exact=True,
                     source="the server's tokenizer and chat template")  # fmt: skip


def _extras_tokenize(client: RemoteClient, model: str) -> Tokenizer | None:
    """llama-cpp-python's /extras/tokenize: adds the model's BOS, parses special tokens."""

    def raw(content: str) -> list[int]:
        return _ids(client.post_json("/extras/tokenize", {"input": content, "model": model},
                                     base="root"))  # fmt: skip

    probe = client.try_json("POST", "/extras/tokenize", {"input": "", "model": model},
                            base="root")  # fmt: skip
    if not _has_ids(probe):
        return None
    prefix = _ids(probe)  # what an empty text gets: the BOS token, if the model adds one

    def text(content: str) -> list[int]:
        tokens = raw(content)
        return tokens[len(prefix) :] if tokens[: len(prefix)] == prefix else tokens

    return _with_local_framing(text, raw)


def _with_local_framing(text: Callable[[str], list[int]],
                        rendered: Callable[[str], list[int]]) -> Tokenizer:  # fmt: skip
    """Server counts for text; the chat framing from the bundled model's template (an estimate)."""

    def prompt(messages: Sequence[Message]) -> list[int]:
        return rendered(LocalTokenizer.shared().render(messages))

    return Tokenizer(text, prompt, exact=False,
                     source="the server's tokenizer; the chat template's framing is estimated")  # fmt: skip


def _has_ids(data: Any) -> bool:
    try:
        _ids(data)
    except RemoteError:
        return False
    return True


def _ids(data: Any) -> list[int]:
    """Token ids from {"tokens": [...]}: ints, or llama-server's {"id", "piece"} objects."""
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list):
        raise RemoteError("The server's tokenizer gave no tokens.")
    try:
        return [int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens]
    except (KeyError, TypeError, ValueError) as exc:
        raise RemoteError("The server's tokenizer gave tokens Hearth cannot read.") from exc


class LocalTokenizer:
    """The bundled chat model's tokenizer and template, loaded without its weights (~0.1 s).

    One per process: `shared()`. Calls are serialised, since llama.cpp's vocabulary object is
    not documented as safe to use from two threads at once.
    """

    _instance: LocalTokenizer | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        import llama_cpp

        from engine.bundled import default_model_path
        from engine.gguf_info import read_model_info
        from engine.memory.allocation import capture_llama_log
        from engine.prompt_format import PromptFormat

        path = default_model_path()
        with capture_llama_log():  # keep llama.cpp's load messages off the terminal
            self._llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, n_ctx=16,
                                          verbose=False)  # fmt: skip
        self._format = PromptFormat.for_model(self._llama, read_model_info(path))
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> LocalTokenizer:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def text(self, content: str) -> list[int]:
        with self._lock:
            encoded = content.encode("utf-8")
            return list(self._llama.tokenize(encoded, add_bos=False, special=False))

    def render(self, messages: Sequence[Message]) -> str:
        with self._lock:
            return self._format.render(messages)

    def prompt(self, messages: Sequence[Message]) -> list[int]:
        with self._lock:
            return self._format.tokens(messages)
