"""Server addresses as people type them ("gpu-box:8080", "http://10.0.0.5:11434/v1"), made exact."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from engine.remote.errors import RemoteAddressError

EXAMPLE = "http://192.168.1.20:8080"


@dataclass(frozen=True)
class ServerAddress:
    """Where an OpenAI-compatible server listens.

    Attributes:
        root: Scheme, host, port and any path prefix, without the API's "/v1"
            ("http://gpu-box:8080"); llama.cpp's /props and /tokenize live here.
        api: The OpenAI API's base ("http://gpu-box:8080/v1"); /models and /chat/completions
            live here.
    """

    root: str
    api: str

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        """Normalize a typed address: a missing scheme means http, a missing "/v1" is added.

        Raises:
            RemoteAddressError: not an http(s) address with a host.
        """
        raw = text.strip()
        if not raw:
            raise RemoteAddressError("No server address was given.", f"Example: {EXAMPLE}")
        if "://" not in raw:
            raw = "http://" + raw
        try:
            parts = urlsplit(raw)
            _ = parts.port  # raises ValueError for a port that is not a number
        except ValueError as exc:
            raise RemoteAddressError(
                f"'{text.strip()}' is not a server address.", f"Example: {EXAMPLE}"
            ) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteAddressError(
                f"'{text.strip()}' is not an http or https server address.", f"Example: {EXAMPLE}"
            )
        if parts.username or parts.password:
            # A key in the address would end up in the settings file; keys go to the keyring.
            raise RemoteAddressError(
                "The address holds a user name or password.",
                "Give the server's key as its API key instead; it is kept in the system keyring.",
            )
        path = parts.path.rstrip("/")
        if path.endswith("/v1"):
            path = path[: -len("/v1")]
        root = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        return cls(root=root, api=root + "/v1")

    @property
    def host(self) -> str:
        """Host and, when it is not the scheme's default, port: "gpu-box:8080"."""
        parts = urlsplit(self.root)
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        default = 443 if parts.scheme == "https" else 80
        return host if parts.port in (None, default) else f"{host}:{parts.port}"

    def __str__(self) -> str:
        return self.root
