"""What the context manager and the summarizer need from a session with a model (local or remote).

Two sessions implement it: `engine.session.ModelSession` (a GGUF model in this process, through
llama.cpp) and `engine.remote.RemoteSession` (a model on an OpenAI-compatible server). The
context manager plans and streams replies against `ChatSession`, so a chat runs the same on
either; `engine.chat.engine.ChatEngine` is the level above (plan a turn, stream it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from engine.cancel import CancelToken
from engine.stats import GenerationStats

Message = dict[str, str]


class ChatSession(Protocol):
    """A chat model that counts tokens and streams replies (call from one thread only).

    Token ids are only compared with ids from the same engine; where `token_counts_exact` is
    False they come from a stand-in tokenizer and only their number means anything.
    """

    @property
    def loaded(self) -> bool:
        """Whether a model is ready to answer."""

    @property
    def n_ctx(self) -> int:
        """The context window in tokens."""

    @property
    def token_counts_exact(self) -> bool:
        """True when counts come from the model's own tokenizer and chat template."""

    @property
    def cached_tokens(self) -> list[int]:
        """Prompt tokens held in a KV cache this process can reuse ([] where there is none)."""

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Tokens of plain text, no chat-template framing."""

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The tokens the model sees for `messages`, through the reply's header."""

    def chat(
        self,
        messages: Sequence[Message],
        sampling: Any = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str | GenerationStats]:
        """Stream the reply: text pieces, then exactly one `GenerationStats`.

        `sampling` is an `engine.session.SamplingSettings` (defaults when None). A reply that
        fails part-way ends with stats whose stop_reason is "error" and whose `error` says why;
        the pieces before it were delivered and stay valid.
        """


if TYPE_CHECKING:  # mypy checks here that both engines implement the protocol

    def _both_engines_conform() -> list[ChatSession]:
        from engine.remote.session import RemoteSession
        from engine.session import ModelSession

        return [ModelSession(), RemoteSession.__new__(RemoteSession)]
