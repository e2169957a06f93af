"""One streamed reply from a server: text pieces as they arrive, then a `GenerationStats`.

The HTTP stream is read on a thread of its own and handed over through a queue, so Stop ends
the reply at once even while the server is still reading a long prompt and has sent nothing;
the connection is then shut down, which tells the server to stop generating.
Times are measured here on the client (time to first token, tokens per second); token counts
come from the server's `usage` (asked for with `stream_options.include_usage`) where it sends
one, else from the pieces received and the prompt as counted before, marked as estimates.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from engine.cancel import CancelToken
from engine.remote.errors import RemoteError
from engine.remote.http import RemoteClient, reason_in
from engine.stats import GenerationStats, StopReason

log = logging.getLogger(__name__)

# How often the reply loop looks at the cancel flag while no data arrives (seconds).
CANCEL_POLL_S = 0.05


class StreamReader(threading.Thread):
    """Reads one reply's event stream into `events`: ("opened"|"event"|"end"|"failed"|"broken", value).

    "failed" carries a `RemoteError` raised before any data (bad status, unreachable);
    "broken" the exception that cut an open stream.
    """

    def __init__(self, client: RemoteClient, body: dict[str, Any]) -> None:
        super().__init__(name="remote-reply", daemon=True)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._client = client
        self._body = body
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._response: httpx.Response | None = None

    def run(self) -> None:
        try:
            response = self._client.open_stream("/chat/completions", self._body)
        except RemoteError as exc:
            self.events.put(("failed", exc))
            return
        except Exception as exc:  # a fault of our own must still end the reply, not hang it
            log.exception("Opening the reply stream failed")
            self.events.put(("failed", RemoteError(f"The request failed: {exc}")))
            return
        with self._lock:
            self._response = response
        try:
            if self._stopped.is_set():  # stopped while the server had not answered yet
                return
            self.events.put(("opened", None))
            for event in EventSource(response).iter_sse():
                if self._stopped.is_set():
                    return
                self.events.put(("event", event.data))
            self.events.put(("end", None))
        except Exception as exc:  # httpx.HTTPError, SSEError, a bad encoding...
            if not isinstance(exc, httpx.HTTPError | SSEError | OSError):
                log.exception("Reading the reply stream failed")
            if not self._stopped.is_set():
                self.events.put(("broken", exc))
        finally:
            response.close()

    def stop(self) -> None:
        """Stop reading and shut the connection down now (safe from any thread)."""
        self._stopped.set()
        with self._lock:
            response = self._response
        if response is not None:
            _shutdown(response)


def _shutdown(response: httpx.Response) -> None:
    """Shut the socket under `response`, waking a read blocked in another thread.

    Closing alone does not wake a blocked recv() on Linux; shutdown() does, and the server sees
    the disconnect at once. httpx exposes the socket through its "network_stream" extension.
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


class RemoteGeneration:
    """The reply loop; see the module docstring.

    Args:
        client: The server's client.
        body: The /chat/completions request, with "stream": true.
        cancel: Stop flag, set from any thread.
        count_prompt: Prompt tokens for a server that sends no usage; called with False after a
            stop or a failure, when it must answer from what was counted before (0 if nothing)
            rather than ask a server that may be gone.
    """

    def __init__(self, client: RemoteClient, body: dict[str, Any], cancel: CancelToken,
                 count_prompt: Callable[[bool], int]) -> None:  # fmt: skip
        self.client = client
        self.body = body
        self.cancel = cancel
        self.count_prompt = count_prompt
        self.pieces = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.timings: dict[str, Any] = {}

    def run(self) -> Iterator[str | GenerationStats]:
        """Text pieces, then one stats record.

        Raises:
            RemoteError: the request failed before the server began a reply (nothing is lost).
        """
        started = time.perf_counter()
        reader = StreamReader(self.client, self.body)
        reader.start()
        reason: StopReason | None = None
        error = ""
        try:
            while reason is None:
                try:
                    kind, value = reader.events.get(timeout=CANCEL_POLL_S)
                except queue.Empty:
                    kind, value = "waiting", None
                if self.cancel.cancelled:
                    reason = "cancelled"
                elif kind == "failed":
                    raise value
                elif kind in ("broken", "end"):
                    if self.finish is None:
                        reason, error = "error", self._cut(value)
                    else:  # finished; only the trailer (usage, [DONE]) was lost or not sent
                        reason = "length" if self.finish == "length" else "stop"
                elif kind == "event":
                    if value.strip() == "[DONE]":
                        reason = "length" if self.finish == "length" else "stop"
                        continue
                    try:
                        piece = self._take(value)
                    except RemoteError as exc:
                        reason, error = "error", exc.message
                        continue
                    if piece:
                        now = time.perf_counter() - started
                        self.first_at = self.first_at or now
                        self.last_at = now
                        self.pieces += 1
                        yield piece
        finally:
            reader.stop()
        yield self._stats(reason, error)

    def _take(self, data: str) -> str:
        """Read one event: returns its text, remembers finish reason, usage and timings."""
        if not data.strip():  # a keep-alive
            return ""
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise RemoteError(
                f"The server at {self.client.address.host} sent a reply Hearth cannot read."
            ) from exc
        if not isinstance(chunk, dict):
            return ""
        if "error" in chunk:  # some servers report a failure inside the stream
            reason = " ".join(reason_in(chunk).split())[:200] or "no reason given"
            raise RemoteError(
                f"The server at {self.client.address.host} failed mid-reply: {reason}."
            )
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):  # llama-server
            self.timings = chunk["timings"]
        text = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text.append(content)
            if choice.get("finish_reason"):
                self.finish = str(choice["finish_reason"])
        return "".join(text)

    def _cut(self, exc: BaseException | None) -> str:
        host = self.client.address.host
        got = f"after {self.pieces} pieces of text" if self.pieces else "before any text"
        if isinstance(exc, httpx.TimeoutException):
            why = f"sent nothing for {self.client.reply_timeout_s:g} s"
        else:
            why = "closed the connection" if exc is not None else "ended the stream"
        log.info("Reply from %s cut %s: %r", host, got, exc)  # the stats carry it to the person
        return f"The server at {host} {why} {got}; the reply is incomplete."

    def _stats(self, reason: StopReason, error: str) -> GenerationStats:
        usage = self.usage or {}
        details = usage.get("prompt_tokens_details") or {}
        generated = _count(usage.get("completion_tokens"), self.pieces)
        prompt = _count(usage.get("prompt_tokens"), -1)
        if prompt < 0:
            try:
                prompt = self.count_prompt(reason in ("stop", "length"))
            except RemoteError:
                prompt = 0  # the server is gone: no count to be had
        cached = _count(details.get("cached_tokens") if isinstance(details, dict) else None,
                        _count(self.timings.get("cache_n"), 0))  # fmt: skip
        decode_s = self.last_at - self.first_at
        return GenerationStats(
            prompt_tokens=prompt,
            cached_tokens=min(cached, prompt),
            generated_tokens=generated,
            ttft_s=self.first_at,
            # Measured here, so it includes the network: what a person waits for.
            prompt_tokens_per_s=(prompt - cached) / self.first_at if self.first_at > 0 else 0.0,
            generation_tokens_per_s=(generated - 1) / decode_s
            if decode_s > 0 and generated > 1
            else 0.0,
            stop_reason=reason,
            template="model",
            error=error,
            counts_estimated=self.usage is None,
        )


def _count(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default
