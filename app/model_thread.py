"""The model thread: the one thread that owns the model. Load, answer, place and unload run there
and nowhere else; the window, the API server and the lab take turns on it through one queue.

No Qt here, so a server's request thread can use it directly:

    job = model_thread.ask(Question("Hi"), retrieve)
    for event in job.events():      # SourcesFound, ContextUsed, TextArrived..., ReplyEnded
        ...
    job.cancel()                    # a client that went away

The window's side (`app.model_worker.ModelClient`) submits to the same queue and receives the
same events on the GUI thread, text batched to ~30 updates a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from app.jobs import SHUTDOWN_TIMEOUT_S, Job, SerialQueue, Task
from app.throttle import TOKEN_INTERVAL_S, Throttle
from engine.chat.answer import Question, Retrieve, answer
from engine.chat.events import AnswerEvent, ContextUsed, TextArrived

if TYPE_CHECKING:
    from engine.chat.engine import LocalEngine

R = TypeVar("R")


class ModelThread:
    """The model's thread and its queue. Thread-safe: any thread may submit.

    Args:
        engine: The engine the jobs run on; a new `LocalEngine` when None.
    """

    def __init__(self, engine: LocalEngine | None = None) -> None:
        from engine.chat.engine import LocalEngine

        self.engine = engine or LocalEngine()
        self.queue = SerialQueue("model")

    def submit(
        self,
        work: Callable[[LocalEngine, Task], R],
        *,
        on_event: Callable[[Any], None] | None = None,
        on_done: Callable[[R], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        stream: bool = False,
    ) -> Job[R]:
        """Queue `work(engine, task)` behind what is already waiting (see app.jobs.SerialQueue)."""
        engine = self.engine
        return self.queue.submit(lambda task: work(engine, task), on_event=on_event,
                                 on_done=on_done, on_error=on_error, stream=stream)  # fmt: skip

    def ask(self, question: Question, retrieve: Retrieve | None = None) -> Job[None]:
        """Answer `question`; iterate `job.events()` for every event as the model writes it."""

        def work(engine: LocalEngine, task: Task) -> None:
            for event in answer(engine, question, retrieve, task.cancel):
                task.emit(event)

        return self.submit(work, stream=True)

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
        """Stop the reply being written, free the model on its own thread, and stop the thread."""
        return self.queue.shutdown(timeout_s, last=self.engine.unload)


def batched(engine: LocalEngine, events: Iterator[AnswerEvent], emit: Callable[[Any], None],
            interval_s: float = TOKEN_INTERVAL_S) -> None:  # fmt: skip
    """Pass `events` to `emit`, text batched to one `TextArrived` per `interval_s`, each batch
    followed by the context budget as it is then (the window's gauge fills as the reply grows)."""
    notice = ""

    def send_text(batch: TextArrived) -> None:
        emit(batch)
        emit(ContextUsed(engine.budget, notice))

    text = Throttle(send_text, interval_s, TextArrived.joined)
    for event in events:
        if isinstance(event, TextArrived):
            text(event)
            continue
        text.flush()
        if isinstance(event, ContextUsed):
            notice = event.notice
        emit(event)
    text.flush()
