"""How the context window is used: tokens per part of the prompt, the reply, free room, KV bytes.

`ContextBudget` is an immutable snapshot. The manager replaces its snapshot as a turn is planned
and as each reply token arrives, so the context gauge may read it at any moment from any thread.
`TokenCounter` counts with the model's own tokenizer and chat template (model thread only).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# A chat message: "role" and "content". A question read with the excerpts found for it may
# also carry TYPED, its words as typed: what it becomes once its excerpts must leave the window
# (engine.context.policies.bare_old_questions).
Message = dict[str, str]
TYPED = "typed"

# Parts of the prompt, in the order they appear in it.
PROMPT_PARTS = ("system", "pinned", "summary", "history", "documents", "message")
# Characters counted at a time when a text may be too long for the window (`TokenCounter.beyond`):
# about 13,000 tokens of English (tokenized in ~30 ms), so a window of 8K tokens or less is judged
# after one block; a shorter text is counted whole.
LONG_TEXT_BLOCK = 65_536


@dataclass(frozen=True)
class ContextBudget:
    """Tokens per part of one turn, in a window of `n_ctx` tokens.

    Attributes:
        system: The system prompt and the chat template's framing of the whole prompt.
        pinned: Pinned material (documents kept in every turn).
        summary: The running summary of older turns, when the summarize policy wrote one.
        history: The earlier messages kept in the prompt.
        documents: Retrieved document excerpts for this question.
        message: The new user message.
        reply_reserve: Tokens kept free for the reply (the reply's max tokens).
        generated: Reply tokens written so far (during and after generation).
        kv_tokens: Tokens whose keys and values are in the KV cache.
        kv_bytes_in_use: Bytes of KV cache those tokens occupy.
        kv_bytes_total: Bytes of KV cache allocated for the whole window.
    """

    n_ctx: int
    system: int = 0
    pinned: int = 0
    summary: int = 0
    history: int = 0
    documents: int = 0
    message: int = 0
    reply_reserve: int = 0
    generated: int = 0
    kv_tokens: int = 0
    kv_bytes_in_use: int = 0
    kv_bytes_total: int = 0

    @property
    def prompt(self) -> int:
        return sum(getattr(self, part) for part in PROMPT_PARTS)

    @property
    def reserved(self) -> int:
        """What is still held back for the reply."""
        return max(0, self.reply_reserve - self.generated)

    @property
    def used(self) -> int:
        return self.prompt + self.generated

    @property
    def free(self) -> int:
        return max(0, self.n_ctx - self.used - self.reserved)

    @property
    def fill(self) -> float:
        """Share of the window taken by the prompt and the reply so far (0..1)."""
        return self.used / self.n_ctx if self.n_ctx else 0.0

    def parts(self) -> dict[str, int]:
        """Tokens per gauge segment; they add up to `n_ctx`."""
        parts = {part: getattr(self, part) for part in PROMPT_PARTS}
        parts.update(reply=self.generated, reserved=self.reserved, free=self.free)
        return parts

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(prompt=self.prompt, used=self.used, free=self.free, reserved=self.reserved,
                    parts=self.parts())  # fmt: skip
        return data


class TokenCounter:
    """Token counts from the loaded model's tokenizer and chat template, cached by text.

    Counting a whole long conversation through the template for every trial cut would be slow,
    so single messages are counted once (content tokens plus the template's framing per message)
    and sums serve as the running estimate; `exact` renders the real prompt for the final check.
    """

    def __init__(self, session: Any, cache_size: int = 4096) -> None:
        self._session = session
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size
        self._framing: int | None = None

    def text(self, text: str) -> int:
        """Tokens of plain text (no template framing)."""
        if not text:
            return 0
        count = self._cache.get(text)
        if count is None:
            count = len(self._session.tokenize(text))
            self._cache[text] = count
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(text)
        return count

    def beyond(self, text: str, limit: int) -> int:
        """Whether `text` is surely longer than `limit` tokens, counting only as much of it as
        it takes to tell: a pasted book is refused after one block, not after its millions of
        characters went through the tokenizer (seconds, several times over).

        Returns:
            0 when `text` may fit in `limit` tokens, or is short enough to count whole (at most
            `LONG_TEXT_BLOCK` characters); else about how many tokens it holds (its counted
            blocks' tokens per character, times its length), more than `limit`.
        """
        if len(text) <= LONG_TEXT_BLOCK or len(text.encode("utf-8", "surrogatepass")) <= limit:
            return 0  # quick to count exactly; or fits, as no token is shorter than a byte
        counted = blocks = start = 0
        while start < len(text):
            end = min(len(text), start + LONG_TEXT_BLOCK)
            if end < len(text):  # cut at a line break or a space, where tokens part anyway
                cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
                end = cut if cut > start else end
            counted += len(self._session.tokenize(text[start:end]))
            blocks += 1
            start = end
            # Each cut may cost a token the whole text would not have (a tokenizer's leading
            # space per block): only a count that passes `limit` by that much is sure.
            if counted - blocks > limit:
                return max(counted, round(counted * len(text) / start))
        return 0

    def message(self, message: Message) -> int:
        """Tokens of one message inside the prompt, framing included."""
        return self.text(message["content"]) + self.framing

    @property
    def framing(self) -> int:
        """Tokens the chat template adds around each message (measured once per model)."""
        if self._framing is None:
            self._framing = self._measure_framing()
        return self._framing

    def exact(self, messages: Sequence[Message]) -> list[int]:
        """The exact prompt tokens, as `ModelSession.prompt_tokens` renders them."""
        return list(self._session.prompt_tokens(messages))

    def _measure_framing(self) -> int:
        one = [{"role": "system", "content": "x"}, {"role": "user", "content": "x"}]
        three = [*one, {"role": "assistant", "content": "x"}, {"role": "user", "content": "x"}]
        try:
            extra = len(self.exact(three)) - len(self.exact(one))
        except Exception:  # a template that rejects this shape: assume a typical framing
            return 6
        return max(0, round(extra / 2) - self.text("x"))
