"""What a server is set up with: its key, its queue, and the defaults a request may override."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.settings_schema import OPTIONS_BY_KEY

# How often a reply's text is sent at most (seconds): 0 sends every token as it is written, as
# OpenAI and llama.cpp's server do; a client that parses each chunk slowly can be given fewer.
STREAM_INTERVAL_S = 0.0

if TYPE_CHECKING:
    from engine.session import SamplingSettings


def _default_sampling() -> SamplingSettings:
    from engine.session import SamplingSettings
    from engine.settings_schema import LOOKUP_DRAFT_TOKENS

    # Prompt-lookup decoding is on, as in the window and `hearth chat` (see model.lookup_decoding).
    return SamplingSettings(lookup_draft_tokens=LOOKUP_DRAFT_TOKENS)


@dataclass(frozen=True)
class ServeOptions:
    """How the API answers.

    Attributes:
        api_key: The key every request must carry as `Authorization: Bearer <key>`; "" for none
            (then only requests addressed to a loopback host are taken).
        queue_limit: Requests that may wait behind the one being answered; more get HTTP 429.
        overflow_policy: What to do with a conversation longer than the window, unless the
            request says (`hearth.overflow_policy`); "stop" refuses it with HTTP 400.
        sampling: Defaults for the sampling fields a request leaves out.
        sources_k: Excerpts per question from a library, unless the request says.
        system_prompt: Instructions for a request that brings none ("" for none).
        libraries_dir: Where the document libraries are (requests with `hearth.library`).
        stream_interval_s: Streamed text is sent at most this often (seconds), what the model
            wrote in between in one chunk; the first piece goes at once. 0 sends every token.
    """

    api_key: str = ""
    queue_limit: int = OPTIONS_BY_KEY["server.queue_limit"].default
    overflow_policy: str = OPTIONS_BY_KEY["context.overflow_policy"].default
    sampling: SamplingSettings = field(default_factory=_default_sampling)
    sources_k: int = OPTIONS_BY_KEY["chat.sources_k"].default
    system_prompt: str = ""
    libraries_dir: Path | None = None
    stream_interval_s: float = STREAM_INTERVAL_S
