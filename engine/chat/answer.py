"""Answer one question in a conversation: retrieve excerpts, plan the context window, stream.

    for event in answer(engine, Question("What is GGUF?", history=...), retrieve, cancel):
        ...   # SourcesFound, ContextUsed, QuestionRead, TextArrived..., EvidenceFound, ReplyEnded
              # (see engine.chat.events)

A plain generator: the window runs it on its model thread, a server on the same thread through
the same queue, a test with a fake engine and no thread at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cancel import CancelToken
from engine.chat.engine import ChatEngine, NoModelError
from engine.chat.events import (
    AnswerEvent,
    ContextUsed,
    EvidenceFound,
    QuestionRead,
    ReplyEnded,
    SourcesFound,
    TextArrived,
)
from engine.context.budget import Message
from engine.context.turn import Document, TurnRequest
from engine.errors import HearthError
from engine.stats import GenerationStats

if TYPE_CHECKING:
    from engine.library.answer import Source
    from engine.library.types import Evidence
    from engine.session import SamplingSettings

# (library name, question, k, cancel) -> the numbered excerpts that bear on the question; a
# search that takes long (a rerank) stops early once the reply's cancel token is set.
Retrieve = Callable[[str, str, int, CancelToken], Sequence["Source"]]

SOURCES_INSTRUCTION = (
    "Excerpts from the person's documents are below, numbered. Answer the question from them and "
    "cite the excerpts you use by number in square brackets, like [1]. If they do not contain "
    "the answer, say that it was not found in the documents."
)

# What the context gauge says of a conversation longer than the window, by overflow policy.
OVER_WINDOW = "The chat is longer than the context window: the next question makes room for itself"
OVER_WINDOW_STOP = (
    "The chat is longer than the context window: the next question will be refused "
    "(overflow policy 'stop')"
)


@dataclass(frozen=True)
class WholeDocument:
    """A document whose whole text goes into every prompt of its conversation."""

    path: str
    text: str

    def as_prompt(self) -> Document:
        """As the context manager takes it, titled by file name."""
        return Document(self.text, Path(self.path).name)


def _default_sampling() -> SamplingSettings:
    from engine.session import SamplingSettings

    return SamplingSettings()


@dataclass(frozen=True)
class Question:
    """One reply to write.

    Attributes:
        text: The new user message.
        system_prompt: Instructions for the model.
        history: Earlier messages of the conversation, oldest first (no system prompt).
        pinned: Documents in the prompt whole, in every turn of the conversation.
        sampling: How to pick tokens; its max_tokens is the reply's reserve in the window.
        library: The conversation's document library to search, or "" for none.
        sources_k: How many excerpts to retrieve at most.
        overflow_policy: What to do when the turn does not fit (see engine.context.turn).
        conversation: Which conversation this is (what the engine remembers is kept per one).
    """

    text: str
    system_prompt: str = ""
    history: tuple[Message, ...] = ()
    pinned: tuple[WholeDocument, ...] = ()
    sampling: SamplingSettings = field(default_factory=_default_sampling)
    library: str = ""
    sources_k: int = 4
    overflow_policy: str = "sliding_window"
    conversation: object = None


def _prompt_text(question: str, source: Source) -> str:
    from engine.library.answer import source_prompt_excerpt

    return source_prompt_excerpt(question, source)


def _evidence(question: str, sources: Sequence[Source], reply: str) -> tuple[Evidence, ...]:
    from engine.library.answer import sources_evidence

    return tuple(sources_evidence(question, sources, reply))


def answer(
    engine: ChatEngine,
    question: Question,
    retrieve: Retrieve | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[AnswerEvent]:
    """Write the reply to `question`, event by event; it always ends with `ReplyEnded`. When
    sources were found, `QuestionRead` (the question with its excerpts, for the history of
    later turns) follows the plan, and `EvidenceFound` (the sentences that support what the
    reply says) comes just before the end.

    Stopped before or while the context is planned (a summary being written) or while its
    documents are searched, it ends with stats whose stop reason is "cancelled".

    Raises:
        NoModelError: The engine has no model.
        ContextFullError: The turn cannot fit the window (the message says what would).
        HearthError: Retrieval failed (the library process stopped, for example).
    """
    cancel = cancel or CancelToken()
    if cancel.cancelled:
        yield ReplyEnded(GenerationStats.ended("cancelled"))
        return
    if not engine.ready:
        raise NoModelError("No model is loaded.", "Pick one with the model button.")
    sources: Sequence[Source] = ()
    if question.library and retrieve is not None:
        # A message too long for the window (a pasted book) is refused before it is searched.
        engine.refuse_if_too_long(_turn(question, ()), question.sampling.max_tokens,
                                  question.overflow_policy)  # fmt: skip
        sources = tuple(retrieve(question.library, question.text, question.sources_k, cancel))
        if cancel.cancelled:  # stopped while the documents were searched
            yield ReplyEnded(GenerationStats.ended("cancelled"))
            return
        yield SourcesFound(sources)
    turn = _turn(question, sources)
    try:
        plan = engine.plan(turn, question.sampling.max_tokens, question.overflow_policy,
                           question.conversation, cancel)  # fmt: skip
    except HearthError:
        if cancel.cancelled:  # stopped while the model summarized older turns
            yield ReplyEnded(GenerationStats.ended("cancelled"))
            return
        raise
    yield ContextUsed(plan.budget, plan.notice)
    read = plan.messages[-1]["content"]  # the new user message comes last
    if read != question.text:
        yield QuestionRead(read)
    reply: list[str] = []
    for item in engine.stream(plan, question.sampling, cancel):
        if isinstance(item, GenerationStats):
            yield ContextUsed(engine.budget, plan.notice)
            if sources:
                yield EvidenceFound(_evidence(question.text, sources, "".join(reply)))
            yield ReplyEnded(item)
            return
        reply.append(item)
        yield TextArrived(item)
    raise HearthError("The reply ended without its statistics.")


def context_in_use(engine: ChatEngine, question: Question) -> ContextUsed | None:
    """How `question`'s conversation fills the context window before it is asked: the system
    prompt, the whole documents and the history as the next turn sends them, and the reply's
    reserve. It is counted with the model's tokenizer, which takes a while for a long chat: not
    a job for a GUI thread. None when no model is loaded.

    When the conversation no longer fits whole, the notice says what the next question does.
    """
    if not engine.ready:
        return None
    plan = engine.measure(_turn(question, ()), question.sampling.max_tokens,
                          question.overflow_policy, question.conversation)  # fmt: skip
    notes = [plan.notice] if plan.notice else []
    budget = plan.budget
    if budget.prompt + budget.reply_reserve > budget.n_ctx:
        notes.append(OVER_WINDOW_STOP if question.overflow_policy == "stop" else OVER_WINDOW)
    return ContextUsed(budget, "; ".join(notes))


def _turn(question: Question, sources: Sequence[Source]) -> TurnRequest:
    """`question` as the context manager takes it, with the excerpts of `sources`."""
    return TurnRequest(
        system_prompt=question.system_prompt,
        message=question.text,
        history=question.history,
        pinned=[document.as_prompt() for document in question.pinned],
        # The part of each source that bears on the question (the person sees it whole).
        excerpts=[
            Document(_prompt_text(question.text, source), source.label) for source in sources
        ],
        excerpt_intro=SOURCES_INSTRUCTION,
    )
