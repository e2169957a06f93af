"""`RemoteSession`: a model on an OpenAI-compatible server, used the way a local model is.

It implements `engine.chat_session.ChatSession`, so the context manager, the summarizer and the
answer flow run on it unchanged: retrieval and context fitting stay on this computer, only the
final messages are sent. Like `ModelSession`, one thread drives it; `CancelToken.cancel()` may
come from any thread and ends a reply at once.

Typical use::

    session = RemoteSession()
    info = session.connect(RemoteConnection("http://gpu-box:8080"), api_key)
    for item in session.chat(messages, SamplingSettings(max_tokens=256), cancel):
        ...   # text pieces, then GenerationStats
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from engine.cancel import CancelToken
from engine.errors import GenerationError, HearthError
from engine.remote.connections import (
    DEFAULT_CONTEXT_WINDOW,
    WINDOW_ASSUMED,
    WINDOW_SET_HERE,
    RemoteConnection,
    RemoteInfo,
)
from engine.remote.http import RemoteClient
from engine.remote.probe import context_window, list_models
from engine.remote.stream import RemoteGeneration
from engine.remote.tokens import Tokenizer, probe_tokenizer
from engine.stats import GenerationStats

log = logging.getLogger(__name__)

Message = dict[str, str]

# Sampling parameters beyond OpenAI's that each server family understands, by our names.
_EXTRA_SAMPLING = {
    "llama.cpp": {"top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty"},
    "llama-cpp-python": {"top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty"},
    "vLLM": {"top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repetition_penalty"},
    "Hearth": {"top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty"},
}


def available_models(connection: RemoteConnection, api_key: str | None = None,
                     key_where: str = "") -> tuple[str, ...]:  # fmt: skip
    """The models a server offers, in its order ("Add a server" lists them to choose from).

    Raises:
        RemoteError: as `RemoteSession.connect`; () when the server does not list its models.
    """
    client = RemoteClient(connection.address, api_key, connection.timeout_s, key_where)
    try:
        return list_models(client).ids
    finally:
        client.close()


class RemoteSession:
    """A connection to one model on one server; see the module docstring."""

    def __init__(self) -> None:
        self._client: RemoteClient | None = None
        self._tokenizer: Tokenizer | None = None
        self.info: RemoteInfo | None = None
        # The last prompts counted: the reply to a just-planned turn needs no second request.
        self._prompt_counts: OrderedDict[str, list[int]] = OrderedDict()

    # -- connecting ----------------------------------------------------------------------------

    def connect(self, connection: RemoteConnection, api_key: str | None = None,
                key_where: str = "") -> RemoteInfo:  # fmt: skip
        """Reach the server, choose the model, learn its window and how to count its tokens.

        The previous connection, if any, is closed only once the new one works. `key_where`
        says where the person gives the key, for the hint when the server refuses (here and
        in every later request); see `RemoteClient`.

        Raises:
            RemoteUnavailableError: nothing answers at the address.
            RemoteTimeoutError: the server did not answer in time.
            RemoteAuthError: a key is needed, or the key was refused.
            RemoteModelError: the model is not offered, or several are and none was named.
            RemoteProtocolError: the address is not an OpenAI-compatible API.
        """
        started = time.perf_counter()
        address = connection.address
        client = RemoteClient(address, api_key, connection.timeout_s, key_where)
        try:
            models = list_models(client)
            model = models.choose(connection.model, address.host)
            window, source = context_window(client, models, model)
            if not window and connection.context_window:
                window, source = connection.context_window, WINDOW_SET_HERE
            elif not window:
                window, source = DEFAULT_CONTEXT_WINDOW, WINDOW_ASSUMED
            tokenizer = probe_tokenizer(client, model)
        except BaseException:
            client.close()
            raise
        self.unload()
        self._client, self._tokenizer = client, tokenizer
        self.info = RemoteInfo(
            url=address.root,
            host=address.host,
            model=model,
            models=models.ids,
            server=models.kind,
            n_ctx=window,
            n_ctx_source=source,
            token_counts_exact=tokenizer.exact,
            tokenizer=tokenizer.source,
            connect_seconds=time.perf_counter() - started,
        )
        log.info("Connected to %s: %s", address.root, self.info.to_dict())
        return self.info

    def unload(self) -> None:
        """Close the connection (the server keeps its model loaded)."""
        if self._client is not None:
            self._client.close()
        self._client = self._tokenizer = self.info = None
        self._prompt_counts.clear()

    # -- what the context manager reads --------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._client is not None

    @property
    def n_ctx(self) -> int:
        return self._require()[2].n_ctx

    @property
    def token_counts_exact(self) -> bool:
        return self._require()[1].exact

    @property
    def cached_tokens(self) -> list[int]:
        """Always []: the server's KV cache is not this computer's to reuse or measure."""
        return []

    @property
    def template_kind(self) -> str:
        return "model"  # the server applies the model's own template

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Tokens of `text` (never with a BOS: the server adds its own when it renders).

        Raises:
            RemoteError: the server's tokenizer failed or cannot be reached.
        """
        del add_bos
        return self._require()[1].text(text) if text else []

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The prompt's tokens as the server will see them (an estimate unless counts are exact)."""
        key = _prompt_key(messages)
        tokens = self._prompt_counts.get(key)
        if tokens is None:
            tokens = self._require()[1].prompt(messages)
            self._prompt_counts[key] = tokens
            if len(self._prompt_counts) > 8:
                self._prompt_counts.popitem(last=False)
        return list(tokens)

    # -- generation ----------------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Message],
        sampling: Any = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str | GenerationStats]:
        """Stream the reply to `messages`: text pieces, then one `GenerationStats`.

        A reply cut part-way (server stopped, connection lost, timeout) ends with stats whose
        stop_reason is "error" and whose `error` is one line; the pieces before it stand.
        `sampling.lookup_draft_tokens` does not apply: speculative decoding is the server's.

        Raises:
            GenerationError: there are no messages.
            RemoteError: the server refused or could not take the request (raised on the
                first iteration, before any text).
        """
        from engine.session import SamplingSettings

        client, _, info = self._require()
        if not messages:
            raise GenerationError("There is nothing to answer: the prompt is empty.")
        body = request_body(info, list(messages), sampling or SamplingSettings())

        def count_prompt(may_ask: bool) -> int:
            known = self._prompt_counts.get(_prompt_key(messages))
            if known is not None or not may_ask:
                return len(known or ())
            return len(self.prompt_tokens(messages))

        return RemoteGeneration(client, body, cancel or CancelToken(), count_prompt).run()

    def _require(self) -> tuple[RemoteClient, Tokenizer, RemoteInfo]:
        if self._client is None or self._tokenizer is None or self.info is None:
            raise HearthError("No remote engine is connected yet.", "Connect to a server first.")
        return self._client, self._tokenizer, self.info


def _prompt_key(messages: Sequence[Message]) -> str:
    return json.dumps([dict(m) for m in messages], sort_keys=True)


def request_body(info: RemoteInfo, messages: list[Message], sampling: Any) -> dict[str, Any]:
    """The /v1/chat/completions request for `sampling` (an `engine.session.SamplingSettings`).

    OpenAI's own parameters go to every server; top_k, min_p and the repeat penalty only to the
    server families known to take them (an OpenAI-strict server rejects unknown fields).
    """
    body: dict[str, Any] = {
        "model": info.model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": max(0.0, float(sampling.temperature)),
        "top_p": float(sampling.top_p),
        "max_tokens": int(sampling.max_tokens),  # always >= 1 (engine/settings_schema.py)
    }
    if sampling.seed >= 0:
        body["seed"] = int(sampling.seed)
    for ours, theirs in _EXTRA_SAMPLING.get(info.server, {}).items():
        body[theirs] = getattr(sampling, ours)
    return body
