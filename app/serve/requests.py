"""A chat completion request, read into the `Question` the window's model thread answers.

System (and developer) messages become the system prompt, the last message is the question, and
the messages between are the conversation's history, fitted to the window by the same context
manager as in the window.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.serve.errors import ApiError
from app.serve.stops import MAX_STOPS
from engine.settings_schema import (
    CHAT_REQUEST_FIELDS,
    OVERFLOW_POLICIES,
    SettingError,
    validate_field,
)

if TYPE_CHECKING:
    from app.serve.options import ServeOptions
    from app.serve.schemas import ChatCompletionRequest, ChatMessage
    from engine.session import SamplingSettings

_SYSTEM_ROLES = ("system", "developer")
_TURN_ROLES = ("user", "assistant")


def message_text(message: ChatMessage, index: int) -> str:
    """The text of a message: its content, or its text parts joined.

    Raises:
        ApiError: 400 for a part that is not text (images, audio).
    """
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise ApiError(400, f"Message {index} has a '{part.type}' part; this model reads "
                           "text only.", param=f"messages[{index}].content")  # fmt: skip
        texts.append(part.text)
    return "\n".join(texts)


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]], str]:
    """(system prompt, history, question) from a request's messages.

    Raises:
        ApiError: 400 when there are no messages, a role is unknown, or the last message is not
            the user's.
    """
    if not messages:
        raise ApiError(400, "The request has no messages.", param="messages")
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        text = message_text(message, index)
        if message.role in _SYSTEM_ROLES:
            system.append(text)
        elif message.role in _TURN_ROLES:
            turns.append({"role": message.role, "content": text})
        else:
            raise ApiError(400, f"Message {index} has the role '{message.role}'; this server takes "
                           "system, developer, user and assistant messages.",
                           param=f"messages[{index}].role")  # fmt: skip
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "The last message must be the user's: it is the one to answer.",
                       param="messages")  # fmt: skip
    if not turns[-1]["content"].strip():  # as `hearth chat` and the window refuse one
        raise ApiError(400, "The last message is empty: there is nothing to answer.",
                       param=f"messages[{len(messages) - 1}].content")  # fmt: skip
    return "\n\n".join(part for part in system if part), turns[:-1], turns[-1]["content"]


def sampling_for(request: ChatCompletionRequest, defaults: SamplingSettings) -> SamplingSettings:
    """The request's sampling fields over the server's defaults, each checked by the schema.

    Raises:
        ApiError: 400 naming the first field out of its range.
    """
    given: dict[str, Any] = {}
    values = request.model_dump(include=set(CHAT_REQUEST_FIELDS) | {"max_completion_tokens"})
    if values.get("max_completion_tokens") is not None:
        values["max_tokens"] = values["max_completion_tokens"]
    for name, key in CHAT_REQUEST_FIELDS.items():
        if values.get(name) is None:
            continue
        try:
            given[name] = validate_field(values[name], key, name)
        except SettingError as exc:
            raise ApiError(400, exc.message, param=name) from exc
    return replace(defaults, **given)


def stops_for(request: ChatCompletionRequest) -> tuple[str, ...]:
    """The request's stop strings.

    Raises:
        ApiError: 400 for more than four.
    """
    stop = request.stop
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    if len(stops) > MAX_STOPS:
        raise ApiError(400, f"At most {MAX_STOPS} stop strings are taken, not {len(stops)}.",
                       param="stop")  # fmt: skip
    return stops


def policy_for(request: ChatCompletionRequest, options: ServeOptions) -> str:
    """The overflow policy: the request's `hearth.overflow_policy`, else the server's.

    Raises:
        ApiError: 400 for a policy that does not exist.
    """
    policy = request.hearth.overflow_policy if request.hearth else None
    if policy is None:
        return options.overflow_policy
    if policy not in OVERFLOW_POLICIES:
        raise ApiError(400, f"hearth.overflow_policy must be one of: {', '.join(OVERFLOW_POLICIES)}.",
                       param="hearth.overflow_policy")  # fmt: skip
    return policy


def sources_k_for(request: ChatCompletionRequest, options: ServeOptions) -> int:
    """How many excerpts to retrieve: `hearth.sources_k`, else the server's.

    Raises:
        ApiError: 400 outside the `chat.sources_k` setting's range.
    """
    k = request.hearth.sources_k if request.hearth else None
    if k is None:
        return options.sources_k
    try:
        return int(validate_field(k, "chat.sources_k", "hearth.sources_k"))
    except SettingError as exc:
        raise ApiError(400, exc.message, param="hearth.sources_k") from exc


def refuse_unsupported(request: ChatCompletionRequest) -> None:
    """Refuse what this server cannot do rather than ignore it, which would mislead the client:
    more than one choice (one model writes one), tools (it does not call them), a reply held to
    JSON or a schema, and log probabilities.

    Raises:
        ApiError: 400 naming the field.
    """
    if request.n is not None and request.n != 1:
        raise ApiError(400, "This server writes one choice per request (n = 1).", param="n")
    if request.tools:
        raise ApiError(400, "This server does not call tools: send the request without them.",
                       param="tools")  # fmt: skip
    kind = (request.response_format or {"type": "text"}).get("type")
    if kind != "text":
        named = f' of type "{kind}"' if isinstance(kind, str) else ""
        raise ApiError(400, f"This server writes plain text only and cannot hold its reply to a "
                       f"response_format{named}: send the request without it (ask for JSON in the "
                       "message instead).", param="response_format")  # fmt: skip
    for field in ("logprobs", "top_logprobs"):
        if getattr(request, field):
            raise ApiError(400, "This server does not give log probabilities: send the request "
                           f"without {field}.", param=field)  # fmt: skip
