"""Render chat messages into the exact tokens a model expects.

The chat template comes from the model's own GGUF metadata. A model without one (a base model)
gets a plain "User:/Assistant:" transcript and stop strings that end the reply at the next turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.gguf_info import ModelInfo

FALLBACK_STOPS = ("\nUser:", "\nuser:", "\n\n\n")


@dataclass
class PromptFormat:
    kind: str  # "model" (the GGUF's template) or "fallback"
    stop_strings: tuple[str, ...]
    _llama: Any
    _formatter: Any = None
    _bos_text: str = ""

    @classmethod
    def for_model(cls, llama: Any, info: ModelInfo) -> PromptFormat:
        if info.chat_template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            model = llama._model
            bos = _token_text(model, model.token_bos())
            eos = _token_text(model, model.token_eos())
            formatter = Jinja2ChatFormatter(
                template=info.chat_template, eos_token=eos, bos_token=bos
            )
            return cls("model", (), llama, formatter, bos)
        return cls("fallback", FALLBACK_STOPS, llama)

    def render(self, messages: Sequence[dict[str, str]]) -> str:
        if self._formatter is not None:
            return str(self._formatter(messages=[dict(m) for m in messages]).prompt)
        return render_fallback(messages)

    def tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        text = self.render(messages)
        if self._formatter is None:
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=False))
        # Templates that write the BOS text themselves must not get a second one.
        add_bos = bool(self._llama._model.add_bos_token()) and not (
            self._bos_text and text.startswith(self._bos_text)
        )
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))


def render_fallback(messages: Sequence[dict[str, str]]) -> str:
    """A transcript any base model continues sensibly, ending with the assistant's cue."""
    parts = []
    for message in messages:
        role, content = message["role"], message["content"].strip()
        if role == "system":
            parts.append(f"{content}\n\n")
        elif role == "user":
            parts.append(f"User: {content}\n")
        else:
            parts.append(f"Assistant: {content}\n")
    parts.append("Assistant:")
    return "".join(parts)


def _token_text(model: Any, token: int) -> str:
    if token < 0:
        return ""
    try:
        return str(model.token_get_text(token))
    except (UnicodeDecodeError, ValueError):
        return ""
