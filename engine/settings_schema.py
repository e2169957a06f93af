"""What can be set in Hearth: each option's type, default, bounds and description, in one table.

The settings dialog is built from this table and every value read from disk is checked against it.
The same table checks values that arrive with a request: the CLI's numeric options and the fields
of an API request (`hearth serve`) name their schema key and are checked by `validate_fields`, so a
value means the same and has the same range wherever it comes from. `REQUEST_OPTIONS` holds the few values a
request may carry that are not saved settings (or that a request may set to a special value, such
as a context window of 0 for the model's trained length).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.errors import HearthError

SCHEMA_VERSION = 2

OVERFLOW_POLICIES = ("sliding_window", "summarize", "truncate_middle", "stop")
KV_TYPES = ("f16", "q8_0", "q4_0")
THEMES = ("system", "light", "dark")
# Most tokens a prompt-lookup draft may have: adaptive drafting starts shorter and grows to this
# only while the reply quotes its prompt (see engine/lookup.py).
LOOKUP_DRAFT_TOKENS = 16
# Most tokens one decode step may verify after the sampled one (prompt lookup or a draft model);
# a loaded model reserves logits for 1 + this many tokens of a batch (engine/llama_load.py).
MAX_DRAFT_TOKENS = 32


class SettingError(HearthError, ValueError):
    """A value that the schema does not accept; the message says what would be accepted."""


@dataclass(frozen=True)
class Option:
    """One setting.

    Attributes:
        key: Dotted name, grouped by its first part ("sampling.temperature").
        kind: "int", "float", "bool", "str", "choice", "text" (multi-line) or "gpu_layers".
        default: Value used when unset or invalid.
        label: Short name shown in the settings dialog.
        description: One sentence shown as its tooltip.
        minimum, maximum: Bounds for numbers.
        choices: Allowed values for "choice".
        hidden: Kept in the file but not shown in the dialog (window layout, last model).
        special: Values accepted outside the bounds, each with what it means
            ((0, "the model's trained length"),).
    """

    key: str
    kind: str
    default: Any
    label: str = ""
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    hidden: bool = False
    special: tuple[tuple[Any, str], ...] = ()

    @property
    def group(self) -> str:
        return self.key.split(".", 1)[0]

    def validate(self, value: Any, name: str = "") -> Any:
        """Return `value` converted to this option's type.

        Args:
            value: From the settings file, the dialog, a command line (text) or a request.
            name: What the person called it ("--ctx", "max_tokens"); the label by default.

        Raises:
            SettingError: The value has the wrong type or is out of bounds; the message names it.
        """
        check = _CHECKS[self.kind]
        return check(replace(self, label=name) if name else self, value)


def format_number(number: float) -> str:
    """Numbers as Hearth writes them in messages: 131,072; 0.5; 2."""
    if float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:g}"


def _number(option: Option, value: Any, cast: Callable[[Any], Any]) -> Any:
    name = option.label or option.key
    whole = " whole" if cast is int else ""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SettingError(f"{name} must be a{whole} number.")
    try:
        number = cast(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SettingError(f"{name} must be a{whole} number, not '{value}'.") from exc
    if cast is int and isinstance(value, float) and value != int(value):
        raise SettingError(f"{name} must be a whole number.")
    if cast is float and number != number:  # NaN passes every comparison
        raise SettingError(f"{name} must be a number, not '{value}'.")
    if any(number == special for special, _ in option.special):
        return number
    low, high = option.minimum, option.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = _bounds_words(low, high)
        specials = " or ".join(f"{format_number(v)} ({meaning})" for v, meaning in option.special)
        raise SettingError(f"{name} must be {specials + ' or ' if specials else ''}{bounds}.")
    return number


def _bounds_words(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {format_number(low)} and {format_number(high)}"
    if low is not None:
        return f"at least {format_number(low)}"
    return f"at most {format_number(high or 0)}"


def _bool(option: Option, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError(f"{option.label or option.key} must be on or off.")
    return value


def _str(option: Option, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingError(f"{option.label or option.key} must be text.")
    return value


def _choice(option: Option, value: Any) -> str:
    if value not in option.choices:
        allowed = ", ".join(option.choices)
        raise SettingError(f"{option.label or option.key} must be one of: {allowed}.")
    return str(value)


def _gpu_layers(option: Option, value: Any) -> Any:
    if value == "auto":
        return "auto"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        name = option.label or "GPU layers"
        raise SettingError(f"{name} must be 'auto' or a whole number of layers (0 = CPU only).")
    return value


_CHECKS: dict[str, Callable[[Option, Any], Any]] = {
    "int": lambda o, v: _number(o, v, int),
    "float": lambda o, v: _number(o, v, float),
    "bool": _bool,
    "str": _str,
    "text": _str,
    "choice": _choice,
    "gpu_layers": _gpu_layers,
}

DEFAULT_SYSTEM_PROMPT = (
    "You are Hearth, a helpful assistant running privately on this computer. "
    "Answer clearly and concisely."
)

OPTIONS: tuple[Option, ...] = (
    # Model and memory
    Option("model.path", "str", "", hidden=True, description="Last loaded model; empty = bundled."),
    Option(
        "model.threads", "int", 0, "CPU threads", "Threads for generation; 0 picks for you.", 0, 256
    ),
    Option(
        "model.gpu_layers",
        "gpu_layers",
        "auto",
        "GPU layers",
        "Layers offloaded to the GPU: 'auto' fits as many as free VRAM allows, 0 = CPU only.",
    ),
    Option(
        "model.context_size",
        "int",
        4096,
        "Context window (tokens)",
        "How much text the model sees at once; larger needs more memory.",
        512,
        131072,
    ),
    Option(
        "model.kv_type",
        "choice",
        "f16",
        "K/V cache type",
        "Smaller types (q8_0, q4_0) fit larger windows in the same memory.",
        choices=KV_TYPES,
    ),
    Option(
        "model.flash_attention",
        # On: where the backend has it (llama.cpp's "auto"), it prefilled 1.06-1.22x and decoded
        # 1.03-1.13x faster with compute buffers 1.7-5x smaller (bench/context.py, 2-core CPU).
        "bool",
        True,
        "Flash attention",
        "Faster attention and smaller buffers where the backend has it; needed for a quantized "
        "V cache.",
    ),
    Option(
        "model.lookup_decoding",
        # On: adaptive lookup sped a quoting reply up 1.58x and left a plain one at 1.06x (it
        # drafted nothing there) on 2 cores, bench/engine.py --only lookup --rounds 7; drafts are
        # verified, so replies are unchanged.
        "bool",
        True,
        "Prompt-lookup decoding",
        "Drafts tokens from the prompt; faster when answers quote documents, and it backs off "
        "by itself when they do not.",
    ),
    Option(
        "model.lookup_draft_tokens",
        "int",
        LOOKUP_DRAFT_TOKENS,
        "Lookup draft tokens",
        "Most tokens drafted per step by prompt-lookup decoding.",
        1,
        MAX_DRAFT_TOKENS,
    ),
    Option(
        "model.draft_model",
        "str",
        "",
        "Draft model",
        "A smaller model of the same family (same vocabulary) that drafts tokens for the loaded "
        "one; the reply stays the same. A GGUF file, 'auto' for the smallest one of the same "
        "family beside the model or bundled with Hearth, or empty for none.",
    ),
    # Context
    Option(
        "context.overflow_policy",
        "choice",
        "sliding_window",
        "When the window is full",
        "Drop oldest turns, summarize them, shorten long excerpts, or stop with a message.",
        choices=OVERFLOW_POLICIES,
    ),
    # Sampling
    Option(
        "sampling.temperature",
        "float",
        0.7,
        "Temperature",
        "Higher is more varied, lower more focused.",
        0.0,
        2.0,
    ),
    Option("sampling.top_p", "float", 0.95, "Top P", "Nucleus sampling cut-off.", 0.0, 1.0),
    Option(
        "sampling.top_k",
        "int",
        40,
        "Top K",
        "Sample among the K likeliest tokens; 0 = all.",
        0,
        1000,
    ),
    Option(
        "sampling.min_p",
        "float",
        0.05,
        "Min P",
        "Drop tokens less likely than this fraction of the best one.",
        0.0,
        1.0,
    ),
    Option(
        "sampling.repeat_penalty",
        "float",
        1.1,
        "Repeat penalty",
        "Above 1 discourages repeating the same words.",
        0.5,
        2.0,
    ),
    Option(
        "sampling.max_tokens",
        "int",
        512,
        "Max reply tokens",
        "Longest reply; also reserved in the context window.",
        1,
        32768,
    ),
    Option(
        "sampling.seed",
        "int",
        -1,
        "Seed",
        "Fixed seed for repeatable replies; -1 = random.",
        -1,
        2**31 - 1,
    ),
    # Chat
    Option(
        "chat.system_prompt",
        "text",
        DEFAULT_SYSTEM_PROMPT,
        "System prompt",
        "Instructions the model reads before every conversation.",
    ),
    Option(
        "chat.sources_k",
        "int",
        4,
        "Excerpts per question",
        "How many document excerpts are given to the model per question.",
        1,
        20,
    ),
    Option(
        "chat.rerank_sources",
        # Off: on the held-out questions of bench/eval it put the right page first for 0.67 of
        # questions instead of 0.48, at about 3 s more per question on 2 cores
        # (bench/retrieval.py --rerank); worth it on a GPU or for careful questions.
        "bool",
        False,
        "Rerank excerpts",
        "Before answering, a small language model (the bundled Gemma 3 270M) reads the 10 best "
        "matches and puts those that fit the question first: the right page comes first more "
        "often; each question takes a few seconds longer on a CPU, and the model holds about "
        "0.4 GB of memory once used.",
    ),
    # Model downloads (the access token for gated models lives in the system keyring)
    Option(
        "hub.endpoint",
        "str",
        "",
        "Hub address",
        "Where models are searched and downloaded: empty uses HF_ENDPOINT or huggingface.co; "
        "a mirror's address works too.",
    ),
    # The local API server (`hearth serve`, and the window's server when turned on)
    Option(
        "server.enabled",
        "bool",
        False,
        "Serve the model",
        "Serve the loaded model to other programs through an OpenAI-compatible API.",
    ),
    Option(
        "server.host",
        "str",
        "127.0.0.1",
        "Address",
        "Where the server listens: 127.0.0.1 is this computer only; any other address needs "
        "an API key.",
    ),
    Option("server.port", "int", 8080, "Port", "The server's TCP port.", 1, 65535),
    Option(
        "server.queue_limit",
        "int",
        16,
        "Queued requests",
        "Requests that may wait for the model behind the one it is answering; more are "
        "refused with HTTP 429 until one ends.",
        0,
        1024,
    ),
    # Appearance and layout
    Option(
        "appearance.theme",
        "choice",
        "system",
        "Appearance",
        "Light, dark, or follow the system.",
        choices=THEMES,
    ),
    Option("window.geometry", "str", "", hidden=True),
    Option("window.state", "str", "", hidden=True),
    Option("window.splitter", "str", "", hidden=True),
    Option("window.documents_visible", "bool", False, hidden=True),
)

_SETTINGS_BY_KEY = {option.key: option for option in OPTIONS}

# Values a request may carry that are not saved settings, or may set to a special value.
REQUEST_OPTIONS: tuple[Option, ...] = (
    replace(
        _SETTINGS_BY_KEY["model.context_size"],
        key="request.context_size",
        special=((0, "the model's trained length"),),
        hidden=True,
    ),
    replace(
        _SETTINGS_BY_KEY["model.lookup_draft_tokens"],
        key="request.lookup_draft_tokens",
        default=LOOKUP_DRAFT_TOKENS,
        special=((0, "off"),),
        hidden=True,
    ),
    replace(
        _SETTINGS_BY_KEY["server.port"],
        key="request.port",
        special=((0, "any free port"),),
        hidden=True,
    ),
    Option(
        "request.search_k",
        "int",
        5,
        "Results",
        "How many passages a search returns.",
        1,
        100,
        hidden=True,
    ),  # fmt: skip
)

OPTIONS_BY_KEY: dict[str, Option] = {option.key: option for option in OPTIONS}
ALL_OPTIONS: dict[str, Option] = {**OPTIONS_BY_KEY,
                                  **{option.key: option for option in REQUEST_OPTIONS}}  # fmt: skip

# The fields of a chat request (as the OpenAI-compatible API names them) and their schema keys.
CHAT_REQUEST_FIELDS: dict[str, str] = {
    "max_tokens": "sampling.max_tokens",
    "temperature": "sampling.temperature",
    "top_p": "sampling.top_p",
    "top_k": "sampling.top_k",
    "min_p": "sampling.min_p",
    "repeat_penalty": "sampling.repeat_penalty",
    "seed": "sampling.seed",
}


def validate_field(value: Any, key: str, name: str = "") -> Any:
    """`value` checked and converted by the option `key` (a setting or a request option).

    Raises:
        SettingError: naming `name` (or the option's label) and what it accepts.
        KeyError: `key` is not in the schema (a mistake in the caller).
    """
    return ALL_OPTIONS[key].validate(value, name)


def validate_fields(values: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """The fields of a request that the schema knows, checked; others are left out.

    Args:
        values: Field name to value, as the request carries them (e.g. a JSON body).
        fields: Field name to schema key (e.g. CHAT_REQUEST_FIELDS).

    Raises:
        SettingError: the first field out of range, named as the request names it.
    """
    return {name: validate_field(values[name], key, name)
            for name, key in fields.items() if name in values}  # fmt: skip


GROUP_TITLES = {
    "model": "Model and memory",
    "context": "Context window",
    "sampling": "Sampling",
    "chat": "Chat",
    "hub": "Model downloads",
    "server": "Local API server",
    "appearance": "Appearance",
}


def defaults() -> dict[str, Any]:
    return {option.key: option.default for option in OPTIONS}


def _migrate_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept sampling values at the top level and called the window 'n_ctx'."""
    renamed = {
        "temperature": "sampling.temperature",
        "top_p": "sampling.top_p",
        "top_k": "sampling.top_k",
        "max_tokens": "sampling.max_tokens",
        "n_ctx": "model.context_size",
        "system_prompt": "chat.system_prompt",
        "theme": "appearance.theme",
    }
    return {renamed.get(key, key): value for key, value in data.items()}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_1_to_2}


def migrate(values: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring values written by an older Hearth up to SCHEMA_VERSION, one step at a time."""
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is not None:
            values = step(values)
        version += 1
    return values


def read_settings_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The values a settings file holds, migrated to `SCHEMA_VERSION` and checked over the
    defaults; the window and the CLI read the file through this one function.

    Returns:
        (every option's value: the stored one, else the default; one sentence per stored value
        that was refused, whose default was used instead). Unknown keys are ignored.

    Raises:
        OSError: The file cannot be read (a missing file is not an error: all defaults).
        ValueError: It is not a JSON object.
    """
    values = defaults()
    if not path.exists():
        return values, []
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version", 1)
    stored = data.get("values", data) if version >= 2 else data
    if not isinstance(stored, dict):
        raise ValueError("no object of values")
    problems = []
    for key, value in migrate(
        {k: v for k, v in stored.items() if k != "version"}, int(version)
    ).items():
        option = OPTIONS_BY_KEY.get(key)
        if option is None:
            continue
        try:
            values[key] = option.validate(value)
        except SettingError as exc:
            problems.append(f"{exc} The default was restored.")
    return values, problems
