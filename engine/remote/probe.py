"""What a server offers: its models, which kind of server it is, and the model's context window.

The window comes from the first of these that the server gives: the model's entry in /v1/models
(vLLM's `max_model_len`, llama-server's `meta.n_ctx`, `context_length` and the like), then
llama.cpp's GET /props (`default_generation_settings.n_ctx`); else the connection's setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.remote.errors import RemoteError, RemoteModelError, RemoteProtocolError
from engine.remote.http import RemoteClient

# Keys servers use for a model's serving window in a /v1/models entry, most specific first:
# vLLM, LM Studio (loaded, then maximum), OpenRouter and others, Groq.
_WINDOW_KEYS = ("max_model_len", "loaded_context_length", "context_length", "context_window",
                "max_context_length")  # fmt: skip

# /v1/models' `owned_by` as each server writes it.
_OWNERS = {"llamacpp": "llama.cpp", "vllm": "vLLM", "me": "llama-cpp-python", "hearth": "Hearth"}


@dataclass(frozen=True)
class ServerModels:
    """The answer of GET /v1/models.

    Attributes:
        ids: Model names, in the server's order ([] when the server does not list models).
        entries: The raw entry per name, for metadata such as the context window.
        kind: "llama.cpp", "vLLM", "llama-cpp-python", "Hearth" or "OpenAI-compatible".
    """

    ids: tuple[str, ...]
    entries: dict[str, dict[str, Any]]
    kind: str
    listed: bool = True  # False: the server has no /v1/models at all (HTTP 404 or 405)

    def choose(self, wanted: str, host: str) -> str:
        """The model to use: `wanted` if the server has it, else the only one there is.

        Raises:
            RemoteModelError: `wanted` is not offered, or several are and none was named.
        """
        if not self.ids:
            if not wanted and not self.listed:
                raise RemoteModelError(
                    f"The server at {host} has no /v1/models (HTTP 404): it is probably not an "
                    "OpenAI-compatible API.",
                    "Check the address and port of the llama-server, vLLM, Ollama or other "
                    "OpenAI-compatible server to use.",
                )
            if not wanted:
                raise RemoteModelError(
                    f"The server at {host} lists no models.", "Name the model to use."
                )
            return wanted  # a server that does not list models may still serve this one
        if wanted:
            if wanted in self.ids:
                return wanted
            raise RemoteModelError(
                f"The server at {host} has no model '{wanted}'; it offers {_names(self.ids)}."
            )
        if len(self.ids) == 1:
            return self.ids[0]
        raise RemoteModelError(
            f"The server at {host} offers {len(self.ids)} models: {_names(self.ids)}.",
            "Name the one to use (--remote-model on the command line).",
        )


def list_models(client: RemoteClient) -> ServerModels:
    """GET /v1/models. A server without that endpoint gives an empty list.

    Raises:
        RemoteError: unreachable, wrong key, or not an OpenAI-compatible server.
    """
    try:
        data = client.get_json("/models")
    except RemoteError as exc:
        if exc.status not in (404, 405):
            raise
        return ServerModels((), {}, "OpenAI-compatible", listed=False)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RemoteProtocolError(
            f"The server at {client.address.host} answers /v1/models without a model list.",
            "Check the address: it should point at an OpenAI-compatible API.",
        )
    entries = {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}
    owners = {str(item.get("owned_by", "")).lower() for item in entries.values()}
    kind = next((_OWNERS[o] for o in owners if o in _OWNERS), "OpenAI-compatible")
    return ServerModels(tuple(entries), entries, kind)


def window_in_entry(entry: dict[str, Any]) -> int:
    """The serving context window a /v1/models entry states, or 0 when it states none."""
    for key in _WINDOW_KEYS:
        value = _positive(entry.get(key))
        if value:
            return value
    meta = entry.get("meta")
    if isinstance(meta, dict):  # llama-server: n_ctx per slot; n_ctx_train is not what it serves
        return _positive(meta.get("n_ctx"))
    return 0


def window_in_props(props: Any) -> int:
    """llama.cpp's GET /props: the window of one slot (a request gets one slot)."""
    if not isinstance(props, dict):
        return 0
    settings = props.get("default_generation_settings")
    if isinstance(settings, dict) and _positive(settings.get("n_ctx")):
        return _positive(settings.get("n_ctx"))
    return _positive(props.get("n_ctx"))


def context_window(client: RemoteClient, models: ServerModels, model: str) -> tuple[int, str]:
    """(window in tokens, where it came from), or (0, "") when the server does not say."""
    window = window_in_entry(models.entries.get(model, {}))
    if window:
        return window, "the server's model list"
    if models.kind in ("llama.cpp", "OpenAI-compatible"):
        window = window_in_props(client.try_json("GET", "/props", base="root"))
        if window:
            return window, "the server's /props"
    return 0, ""


def _positive(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if number > 0 else 0


def _names(ids: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(f"'{name}'" for name in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
