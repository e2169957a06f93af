"""POST /v1/chat/completions: a whole reply, or one streamed as server-sent events.

Both go through `ReplyRun`: the request queues for the model (or gets 429), the reply is cut at
the first stop string (the job is then cancelled, so the model is free at once), and `usage`
counts the tokens of the prompt as fitted and of the reply as written. A request that names a
library gets its excerpts first and carries them back in `hearth.sources`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from app.serve.documents import Retrieved
from app.serve.errors import ApiError
from app.serve.reply import ClientGone, ReplyRun
from app.serve.requests import (
    policy_for,
    refuse_unsupported,
    sampling_for,
    sources_k_for,
    split_messages,
    stops_for,
)
from app.serve.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Usage,
)
from app.serve.stops import StopScanner
from engine.chat.answer import Question
from engine.chat.events import ContextUsed, ReplyEnded, SourcesFound, TextArrived

if TYPE_CHECKING:
    from starlette.requests import Request

    from app.serve.service import Service
    from engine.stats import GenerationStats


@dataclass
class _Reply:
    """What one request has written so far."""

    id: str
    model: str
    retrieved: Retrieved
    scanner: StopScanner
    library: str = ""
    created: int = field(default_factory=lambda: int(time.time()))
    text: list[str] = field(default_factory=list)
    notice: str = ""
    stats: GenerationStats | None = None

    def hearth(self, final: bool) -> dict[str, Any] | None:
        """The reply's `hearth` field: sources (and, at the end, evidence and context notice)."""
        extra: dict[str, Any] = {}
        if self.library:
            extra["sources"] = self.retrieved.sources_json()
            if final:
                extra["evidence"] = self.retrieved.evidence_json("".join(self.text))
        if final and self.notice:
            extra["context_notice"] = self.notice
        return extra or None

    def finish_reason(self) -> str:
        if self.scanner.stopped or self.stats is None:
            return "stop"
        return "length" if self.stats.stop_reason == "length" else "stop"

    def usage(self) -> Usage:
        stats = self.stats
        prompt = stats.prompt_tokens if stats else 0
        written = stats.generated_tokens if stats else 0
        return Usage(prompt_tokens=prompt, completion_tokens=written, total_tokens=prompt + written,
                     prompt_tokens_details={"cached_tokens": stats.cached_tokens if stats else 0})  # fmt: skip


async def start_reply(service: Service, body: ChatCompletionRequest,
                      request: Request) -> tuple[_Reply, ReplyRun]:  # fmt: skip
    """Read the request, retrieve its excerpts and queue it; returns once the model has fitted
    the prompt into its window (so a prompt that cannot fit is a 400, streamed or not).

    Raises:
        ApiError: 400 for a bad request or a prompt that does not fit, 404 for an unknown model
            or library.
        ClientGone: The client went away while the request waited.
    """
    refuse_unsupported(body)  # the request's own faults first: they hold whatever the model
    system, history, text = split_messages(body.messages)
    model = service.check_model(body.model)
    options = service.options
    sampling = sampling_for(body, options.sampling)
    stops = stops_for(body)
    policy = policy_for(body, options)
    library = body.hearth.library if body.hearth else ""
    retrieved = Retrieved()
    if library:
        if service.search is None:
            raise ApiError(400, "This server has no document libraries.", param="hearth.library")
        k = sources_k_for(body, options)
        retrieved = await run_in_threadpool(service.search, library, text, k)
    request_id = "chatcmpl-" + uuid.uuid4().hex
    question = Question(text=text, system_prompt=system or options.system_prompt,
                        history=tuple(history), sampling=sampling, library=library,
                        overflow_policy=policy, conversation=request_id)  # fmt: skip
    reply = _Reply(request_id, model, retrieved, StopScanner(stops), library)
    run = ReplyRun(service.model_thread, question, retrieved.sources, request.is_disconnected,
                   options.stream_interval_s)  # fmt: skip
    try:
        while True:  # up to the context plan: after it, only text and the stats follow
            event = await run.next()
            if event is None or isinstance(event, ContextUsed | ReplyEnded):
                _take(reply, run, event)
                return reply, run
    except BaseException:
        run.cancel()
        raise


def _take(reply: _Reply, run: ReplyRun, event: object) -> str:
    """Record one event; returns the text it releases to the client."""
    if isinstance(event, TextArrived):
        released = reply.scanner.feed(event.text)
        if reply.scanner.stopped:
            run.cancel()  # the rest would be thrown away: free the model now
        if released:
            reply.text.append(released)
        return released
    if isinstance(event, ContextUsed):
        reply.notice = event.notice or reply.notice
    elif isinstance(event, ReplyEnded):
        reply.stats = event.stats
        tail = reply.scanner.flush()
        if tail:
            reply.text.append(tail)
        return tail
    elif isinstance(event, SourcesFound):
        pass
    return ""


def _check_ended(reply: _Reply) -> None:
    stats = reply.stats
    if stats is not None and stats.stop_reason == "error":
        raise ApiError(500, stats.error or "The reply broke off.")


async def whole_reply(reply: _Reply, run: ReplyRun) -> ChatCompletion:
    """Wait for the rest of the reply and return it whole.

    Raises:
        ApiError: 500 when the model failed part-way.
        ClientGone: The client went away (the job is cancelled).
    """
    try:
        while (event := await run.next()) is not None:
            _take(reply, run, event)
    finally:
        run.cancel()
    _check_ended(reply)
    message = AssistantMessage(content="".join(reply.text))
    return ChatCompletion(id=reply.id, created=reply.created, model=reply.model,
                          choices=[Choice(message=message, finish_reason=reply.finish_reason())],
                          usage=reply.usage(), hearth=reply.hearth(final=True))  # fmt: skip


async def streamed_reply(reply: _Reply, run: ReplyRun, include_usage: bool,
                         admitted: ExitStack) -> AsyncIterator[str]:  # fmt: skip
    """The reply as `data:` payloads: a first chunk with the role (and sources), text chunks, a
    last chunk with the finish reason, then usage when asked for, then "[DONE]". A failure
    part-way ends the stream with an error object. Leaving early cancels the job.
    """

    def chunk(delta: Delta, finish: str | None = None, **extra: Any) -> str:
        choice = ChunkChoice(delta=delta, finish_reason=finish)
        data = ChatCompletionChunk(id=reply.id, created=reply.created, model=reply.model,
                                   choices=[choice], **extra)  # fmt: skip
        return data.model_dump_json(exclude_none=True)

    with admitted:
        try:
            yield chunk(Delta(role="assistant", content=""), hearth=reply.hearth(final=False))
            while (event := await run.next()) is not None:
                text = _take(reply, run, event)
                if text:
                    yield chunk(Delta(content=text))
            _check_ended(reply)
            yield chunk(Delta(), reply.finish_reason(), hearth=reply.hearth(final=True))
            if include_usage:
                last = ChatCompletionChunk(id=reply.id, created=reply.created, model=reply.model,
                                           choices=[], usage=reply.usage())  # fmt: skip
                yield last.model_dump_json(exclude_none=True)
            yield "[DONE]"
        except ApiError as exc:
            yield json.dumps(exc.body().model_dump())
        except ClientGone:
            return
        finally:
            run.cancel()
