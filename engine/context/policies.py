"""What to do when a turn does not fit: the overflow policies and the steps they are made of.

Each policy is a chain of steps that shrink a `Draft` of the prompt until it fits:

- summarize: older turns are replaced by a running summary written by the model, then
  excerpts and pinned documents lose their middle if that is still not enough;
- sliding_window: the oldest turns are dropped (the first exchange stays), then documents shrink;
- truncate_middle: excerpts and then pinned documents lose their middle, then old turns go;
- stop: nothing changes; the turn is refused with a clear message.

In the first three, before anything else, earlier questions that were read with excerpts lose
them, oldest first: the words asked and answered stay, and this turn's excerpts matter more.

The system prompt and the new user message are never dropped or shortened. Steps that rewrite
the start of the prompt (history, pinned material) cut down to a low-water mark rather than just
enough, so the next few turns fit without another rewrite and the KV cache prefix is reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.context.budget import TYPED, ContextBudget, Message, TokenCounter
from engine.context.turn import ContextChange, Document, TurnRequest

PINNED_HEADER = "Pinned material:"
SUMMARY_HEADER = (
    "Summary of the earlier conversation (written by the assistant; it stands in for {count} "
    "older message{plural}):"
)
TRUNCATION_MARK = "\n[... {count} tokens of the middle left out to fit the context window ...]\n"


def fingerprint(messages: Sequence[Message]) -> str:
    """A short hash of messages, to notice when a conversation's history was changed."""
    digest = hashlib.sha1()
    for message in messages:
        digest.update(message["role"].encode())
        digest.update(b"\0")
        digest.update(message["content"].encode("utf-8", errors="replace"))
        digest.update(b"\1")
    return digest.hexdigest()


def document_key(document: Document) -> str:
    return fingerprint([{"role": document.title, "content": document.text}])


def truncate_middle(text: str, keep_tokens: int, counter: TokenCounter) -> str:
    """`text` with its middle replaced by a marker, about `keep_tokens` tokens long in all.

    Deterministic for the same text and budget, so a document cut once is cut the same way in
    later turns and the prompt prefix stays identical.
    """
    total = counter.text(text)
    if total <= keep_tokens:
        return text
    share = keep_tokens / total
    for _ in range(6):
        half = max(1, int(len(text) * share / 2))
        cut = text[:half] + TRUNCATION_MARK.format(count=max(1, total - keep_tokens)) + text[-half:]
        if counter.text(cut) <= keep_tokens or half <= 1:
            return cut
        share *= 0.85
    return cut


@dataclass
class Draft:
    """The prompt being fitted: which history is kept, which documents are cut, the summary."""

    request: TurnRequest
    counter: TokenCounter
    head: int = 0
    cut: int = 0
    bare: int = 0  # history messages before this index go as typed, without their excerpts
    summary_text: str = ""
    summary_covers: int = 0
    pinned: list[str] = field(default_factory=list)
    excerpts: list[str] = field(default_factory=list)
    changes: list[ContextChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.pinned:
            self.pinned = [document.text for document in self.request.pinned]
        if not self.excerpts:
            self.excerpts = [document.text for document in self.request.excerpts]

    # -- the pieces of the prompt -----------------------------------------------------------

    def pinned_block(self) -> str:
        if not self.pinned:
            return ""
        sections = [
            f"### {document.title}\n{text}" if document.title else text
            for document, text in zip(self.request.pinned, self.pinned, strict=True)
        ]
        return PINNED_HEADER + "\n\n" + "\n\n".join(sections)

    def summary_block(self) -> str:
        if not self.summary_text:
            return ""
        count = self.summary_covers
        header = SUMMARY_HEADER.format(count=count, plural="s" if count != 1 else "")
        return f"{header}\n{self.summary_text}"

    def excerpt_block(self) -> str:
        if not self.excerpts:
            return ""
        lines = [
            f"[{number}] ({document.title})\n{text}" if document.title else f"[{number}]\n{text}"
            for number, (document, text) in enumerate(
                zip(self.request.excerpts, self.excerpts, strict=True), start=1
            )
        ]
        return self.request.excerpt_intro + "\n\n" + "\n\n".join(lines)

    def system_content(self) -> str:
        # Stable parts first: system prompt, pinned material, then the summary.
        blocks = [self.request.system_prompt.strip(), self.pinned_block(), self.summary_block()]
        return "\n\n".join(block for block in blocks if block)

    def user_content(self) -> str:
        excerpts = self.excerpt_block()
        if not excerpts:
            return self.request.message
        return f"{excerpts}\n\nQuestion: {self.request.message}"

    def kept(self) -> list[int]:
        """Indices of the history messages in the prompt."""
        history = self.request.history
        return [
            *range(min(self.head, len(history))),
            *range(max(self.cut, self.head), len(history)),
        ]

    def left_out(self) -> tuple[int, ...]:
        return tuple(range(self.head, max(self.cut, self.head)))

    def history_message(self, index: int) -> Message:
        """History message `index` as it goes into the prompt (role and content only): before
        `bare`, a question read with excerpts goes as typed."""
        message = self.request.history[index]
        if index < self.bare and TYPED in message:
            return {"role": message["role"], "content": message[TYPED]}
        return {"role": message["role"], "content": message["content"]}

    def messages(self) -> list[Message]:
        system = self.system_content()
        messages = [{"role": "system", "content": system}] if system else []
        messages += [self.history_message(i) for i in self.kept()]
        messages.append({"role": "user", "content": self.user_content()})
        return messages

    # -- counting ----------------------------------------------------------------------------

    def parts(self) -> dict[str, int]:
        """Estimated tokens per budget part (framing counted with system and message)."""
        counter = self.counter
        framing = counter.framing
        return {
            "system": counter.text(self.request.system_prompt.strip()) + framing,
            "pinned": counter.text(self.pinned_block()),
            "summary": counter.text(self.summary_block()),
            "history": sum(counter.message(self.history_message(i)) for i in self.kept()),
            "documents": counter.text(self.excerpt_block()),
            "message": counter.text(self.request.message) + framing,
        }

    def estimate(self) -> int:
        return sum(self.parts().values())

    def budget(self, exact_total: int, n_ctx: int, reserve: int) -> ContextBudget:
        """The budget with the exact prompt length; the template's extra goes to `system`."""
        parts = self.parts()
        parts["system"] = max(0, parts["system"] + exact_total - sum(parts.values()))
        return ContextBudget(n_ctx=n_ctx, reply_reserve=reserve, **parts)


Step = Callable[[Draft, int], bool]


def next_exchange(history: Sequence[Message], index: int) -> int:
    """The index after the exchange starting at `index` (a user message and the replies to it)."""
    index += 1
    while index < len(history) and history[index]["role"] != "user":
        index += 1
    return index


def advance_cut(draft: Draft, target: int) -> tuple[int, int]:
    """Move the cut forward by whole exchanges until the draft is at most `target` tokens.

    Returns (old cut, new cut). The newest exchange goes last, only when nothing else is left.
    """
    history = draft.request.history
    start = cut = max(draft.cut, draft.head)
    while cut < len(history) and draft.estimate() > target:
        cut = next_exchange(history, cut)
        draft.cut = cut
    return start, cut


def drop_oldest(draft: Draft, target: int, keep_first: bool = True) -> bool:
    """Drop whole exchanges from the oldest on until the draft is at most `target` tokens.

    The first exchange stays when `keep_first` (sliding window). Returns whether anything changed.
    """
    history = draft.request.history
    if keep_first and draft.head == 0 and draft.cut == 0 and history:
        draft.head = draft.cut = next_exchange(history, 0) if history[0]["role"] == "user" else 0
    start, cut = advance_cut(draft, target)
    if cut == start:
        return False
    count = cut - start
    tokens = sum(draft.counter.message(draft.history_message(i)) for i in range(start, cut))
    draft.changes.append(
        ContextChange(
            kind="dropped",
            part="history",
            tokens=tokens,
            messages=tuple(range(start, cut)),
            description=f"{count} older message{'s' if count != 1 else ''} dropped to fit "
            "the context window",
        )
    )
    return True


def bare_old_questions(draft: Draft, target: int) -> bool:
    """Send the oldest questions that were read with excerpts as typed, exchange by exchange,
    until the draft is at most `target` tokens: a conversation keeps its turns longer when only
    the excerpts of its earlier questions leave. Moves forward only, like the cut.

    Returns whether any question lost its excerpts.
    """
    history = draft.request.history
    start = draft.bare
    before = draft.estimate()
    while draft.bare < len(history) and draft.estimate() > target:
        draft.bare = next_exchange(history, draft.bare)
    kept = set(draft.kept())
    bared = [i for i in range(start, draft.bare) if TYPED in history[i] and i in kept]
    if not bared:
        return False
    # The notice counts every question without its excerpts now, not just this turn's.
    count = sum(1 for i in range(draft.bare) if TYPED in history[i] and i in kept)
    draft.changes.append(
        ContextChange(
            kind="truncated",
            part="history",
            tokens=before - draft.estimate(),
            messages=tuple(bared),
            description=f"the excerpts read with {count} earlier question{'s' if count != 1 else ''}"
            " left out to fit the context window",
        )
    )
    return True


def shorten_documents(draft: Draft, target: int, part: str, minimum: int,
                      keep: dict[str, int] | None = None) -> bool:  # fmt: skip
    """Cut the middle out of the longest documents of `part` until the draft fits `target`.

    Documents keep at least `minimum` tokens. `keep` remembers, per pinned document, how many
    tokens it was cut to, so later turns cut it the same way (and can only cut it further).
    """
    documents = draft.request.pinned if part == "pinned" else draft.request.excerpts
    texts = draft.pinned if part == "pinned" else draft.excerpts
    changed = False
    done: set[int] = set()  # documents that cannot get shorter
    while draft.estimate() > target:
        excess = draft.estimate() - target
        sizes = [draft.counter.text(text) for text in texts]
        candidates = [i for i, size in enumerate(sizes) if size > minimum and i not in done]
        if not candidates:
            break
        index = max(candidates, key=lambda i: sizes[i])
        new_size = max(minimum, sizes[index] - excess)
        original = draft.counter.text(documents[index].text)
        shorter = truncate_middle(documents[index].text, new_size, draft.counter)
        if new_size == minimum or draft.counter.text(shorter) >= sizes[index]:
            done.add(index)
        if draft.counter.text(shorter) >= sizes[index]:
            continue
        texts[index] = shorter
        if keep is not None:
            keep[document_key(documents[index])] = new_size
        removed = original - draft.counter.text(texts[index])
        title = documents[index].title or ("pinned material" if part == "pinned" else "excerpt")
        draft.changes = [c for c in draft.changes if not (c.part == part and c.title == title)]
        draft.changes.append(
            ContextChange(
                kind="truncated",
                part=part,
                tokens=removed,
                title=title,
                description=f"the middle of {title} ({removed:,} tokens) left out to fit",
            )
        )
        changed = True
    return changed
