"""One request's reply: a job on the model thread whose events arrive in the server's event loop.

The job is queued behind whatever the model is doing (the window's replies included) and answers
through `engine.chat.answer.answer`, as the window does. Its events cross to the event loop as
they are written; a client that goes away cancels the job at once, waiting or running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from app.jobs import JobCancelled
from app.model_thread import batched
from app.serve.errors import ApiError
from engine.chat.answer import Question, answer
from engine.chat.engine import NoModelError
from engine.errors import GenerationError, HearthError, InvalidTextError
from engine.settings_schema import SettingError

if TYPE_CHECKING:
    from app.jobs import Task
    from app.model_thread import ModelThread
    from engine.chat.engine import LocalEngine
    from engine.chat.events import AnswerEvent
    from engine.library.answer import Source

log = logging.getLogger(__name__)

# How often a waiting request looks whether its client is still there (seconds).
DISCONNECT_POLL_S = 0.1
_END = object()


class ClientGone(Exception):
    """The client closed its connection; its job was cancelled."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def api_error(exc: BaseException) -> ApiError:
    """The HTTP error for a failure of answering (a context that does not fit is the client's)."""
    from engine.context.manager import ContextFullError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ContextFullError):
        # The proposals speak of the window's choices; a client makes them in the request.
        how = (
            ' A request chooses its own overflow policy with "hearth": {"overflow_policy": '
            '"sliding_window"} (or "summarize", "truncate_middle").'
            if exc.another_policy_helps
            else ""
        )
        return ApiError(400, str(exc) + how, param="messages", code="context_length_exceeded")
    if isinstance(exc, SettingError | GenerationError | InvalidTextError):
        return ApiError(400, str(exc))
    if isinstance(exc, NoModelError):
        return ApiError(503, "No model is loaded yet.", code="model_not_loaded")
    if isinstance(exc, JobCancelled):
        return ApiError(503, "The server is shutting down.", code="shutting_down")
    if isinstance(exc, HearthError):
        return ApiError(500, str(exc))
    log.error("A request failed", exc_info=exc)
    return ApiError(500, f"The server failed: {type(exc).__name__}.")


class ReplyRun:
    """The job answering one request; read its events with `next`.

    Args:
        model_thread: The thread that owns the model.
        question: What to answer.
        sources: Excerpts already retrieved for it (given to the model as the library's).
        is_disconnected: Awaitable check of the client's connection (Starlette's request's).
        interval_s: Text written within this many seconds of the last piece sent is sent
            together with the next one (the first piece goes at once); 0 sends every piece.
    """

    def __init__(self, model_thread: ModelThread, question: Question, sources: Sequence[Source],
                 is_disconnected: Callable[[], Any], interval_s: float = 0.0) -> None:  # fmt: skip
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._question = question
        self._sources = tuple(sources)
        self._is_disconnected = is_disconnected
        self._checked_at = time.monotonic()
        self._interval_s = interval_s
        self.ended = False
        self.job = model_thread.submit(self._work)

    def _put(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._events.put_nowait, item)
        except RuntimeError:  # the server stopped: nobody reads this reply any more
            self.cancel()

    def _work(self, engine: LocalEngine, task: Task) -> None:
        """Runs on the model thread."""
        sources = self._sources
        events = answer(engine, self._question, lambda *_: sources, task.cancel)
        try:
            batched(engine, events, self._put, self._interval_s)  # as the window's replies
        except BaseException as exc:
            self._put(_Failed(exc))
            raise
        self._put(_END)

    def cancel(self) -> None:
        """Stop the job at its next token (or before it starts); safe to call twice."""
        self.job.cancel()

    async def next(self) -> AnswerEvent | None:
        """The next event, or None after the last.

        Raises:
            ClientGone: The client disconnected (the job is cancelled).
            ApiError: Answering failed (a context that does not fit: 400).
        """
        if self.ended:
            return None
        while True:
            try:
                item = await asyncio.wait_for(self._events.get(), DISCONNECT_POLL_S)
            except asyncio.TimeoutError:
                await self._check_client()
                if self.job.done and self._events.empty():
                    await asyncio.sleep(0)  # let events scheduled before the end arrive
                    if self._events.empty():  # skipped at shutdown: it never ran
                        self.ended = True
                        raise api_error(JobCancelled("never ran")) from None
                continue
            if time.monotonic() - self._checked_at > DISCONNECT_POLL_S:
                await self._check_client()
            if item is _END:
                self.ended = True
                return None
            if isinstance(item, _Failed):
                self.ended = True
                raise api_error(item.error) from item.error
            return item  # type: ignore[return-value]

    async def _check_client(self) -> None:
        self._checked_at = time.monotonic()
        if await self._is_disconnected():
            self.cancel()
            raise ClientGone()
