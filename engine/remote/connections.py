"""Remembered remote engines: address, model and limits in a small JSON file, keys in the keyring.

The file sits beside the model catalog (`remotes.json` in the data folder) and is written
atomically. An API key is stored in the system keyring under the server's address, so the
model picker can list connections without ever reading a key.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.atomic_io import write_json_atomic
from engine.remote.address import ServerAddress
from engine.remote.errors import RemoteAddressError
from engine.secrets import delete_secret, get_secret, set_secret

log = logging.getLogger(__name__)

# Seconds a reply may take to start: a long prompt may take the server minutes to read.
DEFAULT_REPLY_TIMEOUT_S = 300.0

WHAT = "the API key"

# The window to assume when the server does not say and the connection sets none.
DEFAULT_CONTEXT_WINDOW = 4096


@dataclass(frozen=True)
class RemoteConnection:
    """A model on an OpenAI-compatible server, as the person added it.

    Attributes:
        url: The server's address, normalized (see `ServerAddress.parse`); the constructor
            accepts any form a person types and raises `RemoteAddressError` for a bad one.
        model: The model's name on the server; "" means the server's only model.
        context_window: Tokens, used when the server does not report its window (0: 4096).
        timeout_s: Longest wait for the server's next bytes, the first token included.
        has_key: Whether an API key for this server is in the keyring.
    """

    url: str
    model: str = ""
    context_window: int = 0
    timeout_s: float = DEFAULT_REPLY_TIMEOUT_S
    has_key: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", ServerAddress.parse(self.url).root)
        object.__setattr__(self, "model", self.model.strip())

    @property
    def address(self) -> ServerAddress:
        return ServerAddress.parse(self.url)

    @property
    def id(self) -> str:
        """Stable identity for the picker and the chat store: address and model."""
        return f"{self.url}#{self.model}"

    @property
    def label(self) -> str:
        """The backend badge's text: "Remote: gpu-box:8080 · qwen2.5-7b"."""
        return remote_label(self.address.host, self.model)

    @property
    def key_name(self) -> str:
        """The keyring entry holding this server's API key (one key per server)."""
        return key_name(self.url)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemoteConnection:
        return cls(
            url=str(data["url"]),
            model=str(data.get("model", "")),
            context_window=int(data.get("context_window", 0)),
            timeout_s=float(data.get("timeout_s", DEFAULT_REPLY_TIMEOUT_S)),
            has_key=bool(data.get("has_key", False)),
        )


def key_name(url: str) -> str:
    return f"remote:{ServerAddress.parse(url).root}"


def remote_label(host: str, model: str) -> str:
    """The backend badge's text, "Remote: host · model"; a model file's path becomes its name."""
    if not model:
        return f"Remote: {host}"
    name = model.rstrip("/\\")
    if name.lower().endswith(".gguf"):  # llama.cpp servers name a model by its file path
        name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return f"Remote: {host} · {name}"


class ConnectionStore:
    """The remembered connections; `path` is the JSON file (usually the data folder's remotes.json)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def connections(self) -> list[RemoteConnection]:
        """All remembered connections, in the order they were added; [] for a missing file.

        An unreadable file or entry is logged and skipped, never raised: the picker still opens.
        """
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable connection list %s: %s", self.path, exc)
            return []
        result = []
        items = data.get("connections", []) if isinstance(data, dict) else []
        for item in items if isinstance(items, list) else []:
            try:
                result.append(RemoteConnection.from_dict(item))
            except (KeyError, TypeError, ValueError, RemoteAddressError) as exc:
                log.warning("Ignoring a connection in %s: %s", self.path, exc)
        return result

    def find(self, url: str, model: str | None = None) -> RemoteConnection | None:
        """The remembered connection to `url` (and `model`, when given), or None.

        Raises:
            RemoteAddressError: `url` is not an address.
        """
        root = ServerAddress.parse(url).root
        for connection in self.connections():
            if connection.url == root and (model is None or connection.model == model.strip()):
                return connection
        return None

    def save(self, connection: RemoteConnection, api_key: str | None = None) -> RemoteConnection:
        """Remember `connection` (replacing one with the same address and model).

        Args:
            api_key: A key to store in the keyring for this server; "" forgets the stored
                key; None leaves the key as it is.

        Returns:
            The connection as stored (`has_key` set).

        Raises:
            SecretStoreError: the key could not be stored; nothing was saved.
            HearthError: the file could not be written.
        """
        others = [c for c in self.connections() if c.id != connection.id]
        same_server = [c for c in others if c.url == connection.url]
        if api_key:
            set_secret(connection.key_name, api_key, WHAT)
            has_key = True
        elif api_key == "":
            delete_secret(connection.key_name, WHAT)
            has_key = False
        else:
            has_key = connection.has_key or any(c.has_key for c in same_server)
        # One key per server: every connection to it now has the key or has none.
        others = [replace(c, has_key=has_key) if c.url == connection.url else c for c in others]
        stored = replace(connection, has_key=has_key)
        self._write([*others, stored])
        return stored

    def remove(self, connection: RemoteConnection) -> None:
        """Forget `connection`; its server's key goes too when no other connection uses it.

        Raises:
            SecretStoreError: the key could not be removed (the connection is forgotten).
        """
        rest = [c for c in self.connections() if c.id != connection.id]
        self._write(rest)
        if connection.has_key and not any(c.url == connection.url for c in rest):
            delete_secret(connection.key_name, WHAT)

    def api_key(self, connection: RemoteConnection, instead: str = "") -> str | None:
        """The stored key for `connection`'s server, or None.

        Args:
            instead: Another way to give the key, for the hint when the keyring fails.

        Raises:
            SecretStoreError: the connection has a key but the keyring cannot be read.
        """
        if not connection.has_key:
            return None
        return get_secret(connection.key_name, WHAT, instead)

    def _write(self, connections: list[RemoteConnection]) -> None:
        write_json_atomic(self.path, {"version": 1,
                                      "connections": [c.to_dict() for c in connections]})  # fmt: skip


# Where the window came from when the server does not report it.
WINDOW_SET_HERE = "the connection's setting (the server does not say)"
WINDOW_ASSUMED = "an assumption: the server does not say"


@dataclass(frozen=True)
class RemoteInfo:
    """What `connect` found, for `hearth chat --json`, the backend badge and the context bar.

    Attributes:
        url: The server's address (normalized).
        host: "host:port" as shown to people.
        model: The model in use.
        models: Every model the server offers.
        server: "llama.cpp", "vLLM", "llama-cpp-python", "Hearth" or "OpenAI-compatible".
        n_ctx: The context window in tokens.
        n_ctx_source: Where `n_ctx` came from, in words.
        token_counts_exact: Whether prompts are counted with the model's own tokenizer and
            template; False means the context bar shows an estimate.
        tokenizer: Where token counts come from, in words.
        connect_seconds: How long connecting and probing took.
    """

    url: str
    host: str
    model: str
    models: tuple[str, ...]
    server: str
    n_ctx: int
    n_ctx_source: str
    token_counts_exact: bool
    tokenizer: str
    connect_seconds: float

    @property
    def window_assumed(self) -> bool:
        """Whether `n_ctx` is a guess: the server does not say and the connection sets none."""
        return self.n_ctx_source == WINDOW_ASSUMED

    @property
    def label(self) -> str:
        """The backend badge's text, "Remote: host · model"."""
        return remote_label(self.host, self.model)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}
