"""The API's requests and replies as pydantic models, in OpenAI's shapes.

Requests ignore fields they do not know (clients send `user`, `parallel_tool_calls` and the like),
but read those a reply could not honour (`tools`, `response_format`, `logprobs`), which
app/serve/requests.py refuses; the numbers that bound sampling are checked again by the settings
schema (engine/settings_schema.py), so `temperature: 5` is refused in the same words as
`--temperature 5`.
Hearth's own additions travel in a `hearth` object on the request and on the reply.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# -- requests ------------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Request):
    """One part of a message's content; only text parts are read."""

    type: str
    text: str | None = None


class ChatMessage(_Request):
    """One message: role "system", "developer", "user" or "assistant"."""

    role: str
    content: str | list[ContentPart] | None = None


class StreamOptions(_Request):
    """`include_usage`: end the stream with a chunk that carries the token counts."""

    include_usage: bool = False


class HearthOptions(_Request):
    """Hearth's extra request fields (a name it does not know is refused: a typo would
    otherwise go unnoticed).

    Attributes:
        library: A document library to answer from ("" for none); the reply then carries the
            excerpts it was given in `hearth.sources`.
        sources_k: How many excerpts at most (the `chat.sources_k` setting when None).
        overflow_policy: What to do when the conversation does not fit the window (the server's
            policy when None): "sliding_window", "summarize", "truncate_middle" or "stop".
    """

    model_config = ConfigDict(extra="forbid")

    library: str = ""
    sources_k: int | None = None
    overflow_policy: str | None = None


class ChatCompletionRequest(_Request):
    """POST /v1/chat/completions. Sampling fields left out take the server's defaults."""

    model: str
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = None
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    hearth: HearthOptions | None = None


class EmbeddingRequest(_Request):
    """POST /v1/embeddings: one text or a list of texts (token arrays are not taken)."""

    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


# -- replies -------------------------------------------------------------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelEntry(_Reply):
    """One entry of GET /v1/models; `context_length` is the serving window in tokens."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "hearth"
    context_length: int = 0
    hearth: dict[str, Any] = Field(default_factory=dict)


class ModelList(_Reply):
    """GET /v1/models: the loaded model (none while no model is loaded)."""

    object: Literal["list"] = "list"
    data: list[ModelEntry]


class Usage(_Reply):
    """Tokens of the prompt as the model saw it and of the reply it wrote."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, int] | None = None


class AssistantMessage(_Reply):
    """The reply's text, as the assistant's message."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(_Reply):
    """The one choice of a whole reply; `finish_reason` is "stop" or "length"."""

    index: int = 0
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class ChatCompletion(_Reply):
    """A whole reply (a request without `stream`)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    hearth: dict[str, Any] | None = None


class Delta(_Reply):
    """What one streamed chunk adds: the role (first chunk) or text."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(_Reply):
    """The one choice of a streamed chunk; the last has the finish reason."""

    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(_Reply):
    """One event of a streamed reply; the last (with `include_usage`) has no choices."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    hearth: dict[str, Any] | None = None


class Embedding(_Reply):
    """One text's vector: floats, or their little-endian float32 bytes in base64."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(_Reply):
    """Word pieces the embedding model read."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingList(_Reply):
    """POST /v1/embeddings' reply: one vector per text, in the request's order."""

    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class ErrorDetail(_Reply):
    """OpenAI's error object: a message in words, its type, the field at fault, a code."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(_Reply):
    """Every HTTP error's body: `{"error": {...}}`."""

    error: ErrorDetail
