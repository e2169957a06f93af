"""Request bodies read into the schemas: UTF-8 JSON text, valid Unicode, and pydantic's
complaints said in words, naming the field as OpenAI does (`messages[0].content`).

    body = await read_body(request, ChatCompletionRequest)   # or ApiError (400)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from app.serve.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)

# Half of a UTF-16 pair, alone: JSON's "\ud800" escape decodes to one, which no UTF-8 can hold.
_SURROGATE = re.compile("[\ud800-\udfff]")
# UTF-8 cannot encode a surrogate, so a body holds one only through a JSON escape (\ud800 ..
# \udfff); a body without such an escape skips the walk over its strings.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

# What a value must be, by pydantic's error type.
_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
# A union's members by pydantic's name for them ("str", "list[ContentPart]"): one, and many.
_MEMBERS = {
    "str": ("a string", "strings"),
    "int": ("a whole number", "whole numbers"),
    "float": ("a number", "numbers"),
    "bool": ("true or false", "true or false values"),
    "ContentPart": ("a text part", "text parts"),
}


async def read_body(request: Request, model: type[Model]) -> Model:
    """The request's body as `model`.

    Raises:
        ApiError: 400 for a body that is missing, not UTF-8 JSON, not an object, holds text that
            is not valid Unicode, or does not fit `model` (naming the first field at fault).
    """
    raw = await request.body()
    data = _json_object(raw, request.headers.get("content-type"))
    if _SURROGATE_ESCAPE.search(raw):
        _check_unicode(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc.errors(), data) from None


def _json_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    if not raw:
        raise ApiError(400, "The request has no body: send a JSON object.")
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    if kind != "application/json" and not re.fullmatch(r"application/[^/]+\+json", kind):
        raise ApiError(
            400, "The request body must be a JSON object, sent with Content-Type: application/json."
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        bad = f"byte {exc.start} (0x{raw[exc.start]:02x}) is not part of a UTF-8 character"
        raise ApiError(400, f"The request body is not valid UTF-8 JSON: {bad}.") from None
    except json.JSONDecodeError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    except RecursionError:
        raise ApiError(400, "The request body is nested too deeply to read: send JSON nested "
                       "at most a few hundred levels.") from None  # fmt: skip
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data


def _check_unicode(data: Any) -> None:
    """Raises ApiError (400) naming the first string or field name, in the body's order, that
    holds a lone surrogate (the tokenizers, and the reply's own JSON, cannot encode one)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:  # not recursive: the body may be nested as deeply as json.loads allows
        path, value = stack.pop()
        if isinstance(value, str):
            _refuse_surrogate(value, path, "holds text")
        elif isinstance(value, dict):
            for key in value:
                _refuse_surrogate(key, path, "has a field name")
            stack.extend((path + (key,), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((path + (index,), value[index]) for index in reversed(range(len(value))))


def _refuse_surrogate(text: str, path: Sequence[str | int], what: str) -> None:
    found = _SURROGATE.search(text)
    if found is None:
        return
    param = param_name(path) or None
    raise ApiError(400, f"{param or 'The request body'} {what} that is not valid Unicode (a lone "
                   f"surrogate, \\u{ord(found.group()):04x}, at character {found.start()}).",
                   param=param)  # fmt: skip


def param_name(path: Sequence[str | int]) -> str:
    """A field's place in the request as OpenAI names it: ("messages", 0, "content") is
    "messages[0].content"."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else part
    return name


def invalid(errors: Sequence[Any], data: Any) -> ApiError:
    """A 400 naming, in words, the first field that pydantic found wrong in `data`.

    Args:
        errors: pydantic's errors (`ValidationError.errors()`), in its order.
        data: The body they are about (to tell the fields in a location from the names
            pydantic gives a union's members).
    """
    first = errors[0]
    path, member_at = _place(first["loc"], data, first["type"])
    param = param_name(path) or None
    where = param or "The request body"
    if member_at is not None:  # one error per member of a union: it is none of them
        members = [_member(e["loc"][member_at]) for e in errors if e["loc"][:member_at] == path]
        return ApiError(400, f"{where} must be {_one_of(members)}.", param=param)
    kind = first["type"]
    if kind == "missing":
        return ApiError(400, f"{where} is required.", param=param)
    if kind == "extra_forbidden":
        return ApiError(400, f"{where} is not a field this server knows.", param=param)
    if kind == "literal_error":
        return ApiError(400, f"{where} must be {first['ctx']['expected']}.", param=param)
    if kind in _EXPECTED:
        return ApiError(400, f"{where} must be {_EXPECTED[kind]}.", param=param)
    return ApiError(400, f"{where} is not valid: {first['msg']}.", param=param)


def _place(
    loc: Sequence[str | int], data: Any, kind: str
) -> tuple[tuple[str | int, ...], int | None]:
    """The part of `loc` that is a path into `data`, and the index in `loc` of the union member's
    name that ends it (None when the path is all of `loc`)."""
    value = data
    for at, part in enumerate(loc):
        if _holds(value, part):
            value = value[part]
        elif kind == "missing" and at == len(loc) - 1:  # the field that is not there
            break
        else:
            return tuple(loc[:at]), at
    return tuple(loc), None


def _holds(value: Any, part: str | int) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def _member(name: str, many: bool = False) -> str:
    """A union member in words: "list[ContentPart]" is "a list of text parts"."""
    if name.startswith("list[") and name.endswith("]"):
        return ("lists of " if many else "a list of ") + _member(name[5:-1], many=True)
    one, several = _MEMBERS.get(name, ("an object", "objects"))
    return several if many else one


def _one_of(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
