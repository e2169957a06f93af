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
