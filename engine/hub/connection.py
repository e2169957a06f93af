"""The connection to a Hugging Face Hub that the person started: address, token, timeouts, errors.

Hearth runs with HF_HUB_OFFLINE=1 so that nothing else ever reaches the network. Requests made
inside `HubConnection.online()` are let through anyway; every other huggingface_hub request in the
process stays offline. The override is a context variable read by a request hook on
huggingface_hub's shared HTTP client, so it holds for the calling thread alone.

Inside that scope a refused connection, a timeout or a 5xx answer fails at once with a plain
message instead of huggingface_hub's retries (five, 23 s of back-off), so an offline machine hears
so within seconds. Downloads have their own retry policy (see `engine.hub.download`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from engine.errors import HearthError

DEFAULT_ENDPOINT = "https://huggingface.co"
# Seconds: a Hub that does not accept a connection in this time is taken as unreachable.
CONNECT_TIMEOUT = 5.0
# Seconds without a byte from an open connection before the request fails.
READ_TIMEOUT = 20.0

_PERSON_ASKED: ContextVar[bool] = ContextVar("hearth_hub_person_asked", default=False)
_install_lock = threading.Lock()
_installed = False


class HubError(HearthError):
    """Searching or downloading failed; the message says why in one line, the hint what to do."""


class _Unreachable(Exception):
    """Raised by the transport inside `online()`; not one of the errors huggingface_hub retries."""


class _ServerTrouble(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def resolve_endpoint(setting: str = "") -> str:
    """The Hub address: the setting when given, else HF_ENDPOINT, else huggingface.co.

    Raises:
        HubError: the address is not an http(s) URL.
    """
    endpoint = (setting or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).strip().rstrip("/")
    problem = endpoint_problem(endpoint)
    if problem:
        raise HubError(problem, ENDPOINT_HINT)
    return endpoint


ENDPOINT_HINT = "Use one like https://huggingface.co (or a mirror's address)."


def endpoint_problem(address: str) -> str:
    """Why `address` cannot be the Hub's address, in one sentence; "" when it can. Empty is
    fine: it means HF_ENDPOINT or huggingface.co."""
    address = address.strip()
    if not address:
        return ""
    start = f"'{address}' is not a web address for the Hub:"
    try:
        parts = urlsplit(address)
        host = parts.hostname
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return f"{start} it cannot be read as one."
    if parts.scheme not in ("http", "https"):
        return f"{start} it must start with https:// (or http://)."
    if not host or any(c.isspace() for c in address):
        return f"{start} the server's name is missing or has spaces in it."
    return ""


@dataclass(frozen=True)
class HubConnection:
    """Where the Hub is and how to authenticate; cheap to create, safe to share between threads.

    Args:
        endpoint: The Hub's base address (see `resolve_endpoint`).
        token: An access token for gated or private models, or "" for none. A token stored by
            other tools (HF_TOKEN, ~/.cache/huggingface) is never sent.
    """

    endpoint: str = DEFAULT_ENDPOINT
    token: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).netloc

    def unreachable_hint(self) -> str:
        """What to check when the Hub cannot be reached: a server on this computer or the local
        network is not "the internet"."""
        import ipaddress

        name = urlsplit(self.endpoint).hostname or ""
        try:
            local = name == "localhost" or ipaddress.ip_address(name).is_private
        except ValueError:
            local = name.endswith((".local", ".lan", ".home.arpa"))
        if local:
            return (
                f"Check that the server at {self.host} is running, or the Hub address in Settings."
            )
        return "Check the internet connection, or the Hub address in Settings."

    def api(self) -> Any:
        """A `huggingface_hub.HfApi` for this Hub; call it inside `online()`."""
        from huggingface_hub import HfApi

        _install_client_factory()
        return HfApi(endpoint=self.endpoint, token=self.token or False, library_name="hearth")

    @contextlib.contextmanager
    def online(self, what: str) -> Iterator[None]:
        """Let this thread's huggingface_hub requests through; turn failures into `HubError`.

        Args:
            what: What is being done, for messages ("search the Hub", "list the files of x/y").
        """
        _install_client_factory()
        reset = _PERSON_ASKED.set(True)
        try:
            yield
        except HubError:
            raise
        except Exception as exc:
            raise self.explain(exc, what) from exc
        finally:
            _PERSON_ASKED.reset(reset)

    def resolve_url(self, repo_id: str, revision: str, path: str) -> str:
        """The download address of `path` in `repo_id` at `revision` (the Hub's `resolve` route)."""
        return (
            f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path, safe='/')}"
        )

    def http_client(self) -> Any:
        """An `httpx.Client` for file transfers (downloads, header reads) from this Hub: the
        token goes only to the Hub itself (httpx drops it on a redirect to another host)."""
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=True,
            verify=tls_context(),
        )

    def explain(self, exc: BaseException, what: str) -> HubError:
        """One line for a failure while doing `what` (any HTTP client's or huggingface_hub's)."""
        from huggingface_hub import errors as hf

        name = type(exc).__name__
        if isinstance(exc, _Unreachable):
            return HubError(
                f"Could not {what}: {self.host} cannot be reached ({exc}).",
                self.unreachable_hint(),
            )
        if isinstance(exc, _ServerTrouble) or (
            isinstance(exc, hf.HfHubHTTPError) and _status(exc) >= 500
        ):
            status = getattr(exc, "status", 0) or _status(exc)
            return HubError(
                f"Could not {what}: the Hub had a problem (HTTP {status}).",
                "Try again in a moment.",
            )
        if isinstance(exc, hf.GatedRepoError):
            hint = (
                "Your access token has no access to it yet: accept its conditions on its Hub page."
                if self.token
                else "Accept its conditions on its Hub page, then add an access token in Settings "
                "(or `hearth models token`)."
            )
            return HubError(f"Could not {what}: this model is gated.", hint)
        if isinstance(exc, hf.RepositoryNotFoundError):
            return HubError(
                f"Could not {what}: there is no such model on the Hub, or it is private.",
                "Check the name (owner/model).",
            )
        if isinstance(exc, hf.RevisionNotFoundError | hf.RemoteEntryNotFoundError):
            return HubError(f"Could not {what}: the file is not in that model.")
        if isinstance(exc, hf.HfHubHTTPError) and _status(exc) in (401, 403):
            return HubError(
                f"Could not {what}: the Hub refused access (HTTP {_status(exc)}).",
                "Check the access token in Settings.",
            )
        if isinstance(exc, hf.HfHubHTTPError):
            return HubError(f"Could not {what}: the Hub answered HTTP {_status(exc)}.")
        if isinstance(exc, hf.OfflineModeIsEnabled):
            return HubError(f"Could not {what}: network access is turned off in this process.")
        if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException") or (
            isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError)
        ):
            return HubError(
                f"Could not {what}: {self.host} cannot be reached ({reason(exc)}).",
                self.unreachable_hint(),
            )
        if isinstance(exc, ValueError | KeyError | TypeError):
            return HubError(f"Could not {what}: the Hub's answer could not be read ({exc}).")
        return HubError(f"Could not {what}: {name}: {exc}")


@functools.lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's certificates), made once: loading the
    certificates takes a few hundred milliseconds, which every new client would pay again."""
    import httpx

    return httpx.create_ssl_context()


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    return int(getattr(response, "status_code", 0) or 0)


def reason(exc: BaseException) -> str:
    """The innermost cause in a few words ("Connection refused", "timed out")."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).rstrip(".")


def _install_client_factory() -> None:
    """Give huggingface_hub's shared client the scoped offline override and the fail-fast rules."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from huggingface_hub import set_client_factory

        set_client_factory(_client_factory)
        _installed = True


def _client_factory() -> Any:
    import httpx2
    from huggingface_hub.utils._http import hf_request_event_hook

    timeout = httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT).as_dict()

    def on_request(request: Any) -> None:
        if _PERSON_ASKED.get():
            request.extensions["timeout"] = timeout
            return
        hf_request_event_hook(request)  # refuses the request when HF_HUB_OFFLINE is set

    class FailFast(httpx2.BaseTransport):
        def __init__(self) -> None:
            self._inner = httpx2.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            if not _PERSON_ASKED.get():
                return self._inner.handle_request(request)
            try:
                response = self._inner.handle_request(request)
            except (httpx2.TransportError, OSError) as exc:
                raise _Unreachable(reason(exc)) from exc
            if response.status_code >= 500 or response.status_code == 429:
                response.close()
                raise _ServerTrouble(response.status_code)
            return response

        def close(self) -> None:
            self._inner.close()

    return httpx2.Client(
        event_hooks={"request": [on_request]},
        follow_redirects=True,
        timeout=None,
        transport=FailFast(),
    )
