"""The local API server inside the window: `hearth serve`'s API on the window's own model thread,
so a question typed in the window and an API request take turns on the one model.

Turned on and off in Settings → Local API server; its key lives in the system keyring, never in
the settings file. Starting and stopping run on a thread of their own (binding, uvicorn's start,
letting open replies end), never on the GUI thread; quitting stops it before the model thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from app.model_worker import ModelClient
from app.settings import Settings
from app.worker import SerialWorker
from engine.errors import HearthError
from engine.secrets import SecretStoreError, delete_secret, get_secret, set_secret
from ui.main_window import MainWindow
from ui.server_panel import ServerPanel
from ui.settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from app.serve.server import ApiServer
    from app.serve.service import Service

log = logging.getLogger(__name__)

SERVER_KEYS = ("server.enabled", "server.host", "server.port", "server.queue_limit")
KEY_NAME = "server:api-key"
WHAT = "the API server's key"
TICK_MS = 1000
# Host settings that listen on every address of this computer.
ALL_ADDRESSES = ("0.0.0.0", "::", "[::]")
# The notice bar's topic for the server's start-up: a later start clears an earlier failure.
TOPIC = "api-server"


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the server listens (the settings and the key together)."""

    host: str
    port: int
    queue_limit: int
    api_key: str


@dataclass(frozen=True)
class ServerState:
    """The server as the settings page shows it.

    Attributes:
        state: "off", "starting", "stopping", "serving" or "failed".
        url: The API's base URL clients use (".../v1") while serving; on all addresses, the one
            to try on this computer.
        served: Requests that ran to their end.
        problem: Why it could not start, in one line (state "failed").
        host: The address it listens on, as set ("0.0.0.0" and "::" are all of them).
    """

    state: str
    url: str = ""
    served: int = 0
    problem: str = ""
    host: str = ""

    def where(self) -> str:
        """Where it listens, truly: "http://127.0.0.1:8080", or "all addresses, port 8080 (on
        this computer: http://127.0.0.1:8080)"."""
        root = self.url.removesuffix("/v1")
        if self.host in ALL_ADDRESSES:
            port = root.rsplit(":", 1)[-1]
            return f"all addresses, port {port} (on this computer: {root})"
        return root

    def text(self, has_model: bool = True) -> str:
        """One line: "Serving on http://127.0.0.1:8080 · 12 requests served", or why not."""
        if self.state == "serving":
            line = (
                f"Serving on {self.where()} · {self.served} "
                f"request{'' if self.served == 1 else 's'} served"
            )
            if not has_model:
                line += " · no local model is loaded, so requests are refused until one is"
            return line
        if self.state == "failed":
            return self.problem
        return {"off": "Off", "starting": "Starting…", "stopping": "Stopping…"}[self.state]


class ServerController(QObject):
    """Runs the window's API server as the settings say. Signals: stateChanged(ServerState)."""

    stateChanged = Signal(object)

    def __init__(
        self,
        window: MainWindow,
        model: ModelClient,
        settings: Settings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.model = model
        self.settings = settings
        self.state = ServerState("off")
        self.panel: ServerPanel | None = None
        self._key: str | None = None  # None until read from the keyring
        self._service: Service | None = None
        self._server: ApiServer | None = None  # touched on the worker's thread only
        self._running: ServerConfig | None = None  # likewise
        self._apply_pending = False
        self._announce = False  # say "no model" once the person turned it on, not at start-up
        self._shut_down = False
        self._worker = SerialWorker("api-server", self)
        self._tick = QTimer(self, interval=TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        settings.changed.connect(self.on_setting_changed)
        for signal in (model.loaded, model.unloaded, model.connected):
            signal.connect(lambda *_args: self._set_state(self.state))

    # Settings

    def start(self) -> None:
        """Serve if the settings say so (at start-up)."""
        if self.settings.get("server.enabled"):
            self.apply()

    def on_setting_changed(self, key: str, _value: object) -> None:
        if key in SERVER_KEYS:
            self._announce = True
            self.apply()

    def apply(self) -> None:
        """Bring the server in line with the settings and the key, once, after a burst of
        changes (a Save that changes several values restarts it once)."""
        if self._apply_pending or self._shut_down:
            return
        self._apply_pending = True
        QTimer.singleShot(0, self._apply_now)

    def _apply_now(self) -> None:
        self._apply_pending = False
        values = self.settings.values()
        enabled = bool(values["server.enabled"])
        if not enabled and self.state.state in ("off", "failed"):
            self._set_state(ServerState("off"))
            return
        self._set_state(ServerState("starting" if enabled else "stopping"))
        host, port, limit = (
            values["server.host"],
            values["server.port"],
            values["server.queue_limit"],
        )
        known_key = self._key

        def work(_task: object) -> tuple[ServerState, str, Service | None]:
            key = known_key if known_key is not None else self._read_key()
            wanted = ServerConfig(host, port, limit, key) if enabled else None
            return self._reconcile(wanted), key, self._current_service

        self._worker.run(work, on_done=self._on_applied, on_error=self._on_apply_error)

    def _on_applied(self, result: tuple[ServerState, str, Service | None]) -> None:
        state, key, service = result
        if self._key is None:
            self._key = key
        self._service = service
        self._set_state(state)
        announce, self._announce = self._announce, False
        if state.state == "failed":  # Settings may be closed by now: the window says it
            self.window.notice.show_message(
                f"The local API server is not running: {state.problem}", "error", topic=TOPIC
            )
        elif state.state in ("serving", "off"):
            self.window.notice.withdraw(TOPIC)
        if announce and state.state == "serving" and not self.model.has_model:
            self.window.notice.show_message(
                "The API server is on, but no local model is loaded: requests are refused "
                "until one is."
            )

    def _on_apply_error(self, exc: Exception) -> None:
        log.exception("The API server failed", exc_info=exc)
        problem = f"The API server failed: {exc}"
        self._set_state(ServerState("failed", problem=problem))
        self.window.notice.show_message(problem, "error", topic=TOPIC)

    # On the worker's thread

    _current_service: Service | None = None

    def _read_key(self) -> str:
        try:
            return get_secret(KEY_NAME, WHAT) or ""
        except SecretStoreError as exc:
            log.warning("%s", exc)
            return ""

    def _reconcile(self, wanted: ServerConfig | None) -> ServerState:
        """Stop what runs unless it is `wanted`, then start `wanted` (None: stay off)."""
        if self._server is not None and self._running == wanted and self._server.running:
            return self._serving_state()
        self._stop_server()
        if wanted is None:
            return ServerState("off")
        return self._start_server(wanted)

    def _start_server(self, config: ServerConfig) -> ServerState:
        from app.serve.app import build_app
        from app.serve.auth import check_bind
        from app.serve.options import ServeOptions
        from app.serve.server import ApiServer, bind
        from app.serve.service import Service

        try:
            check_bind(config.host, config.api_key)
        except HearthError as exc:
            return ServerState("failed", problem=f"{exc.message} Set an API key, or use 127.0.0.1.")
        try:
            sock = bind(config.host, config.port)
        except HearthError as exc:
            return ServerState("failed", problem=f"{exc.message} Choose another address or port.")
        options = ServeOptions(api_key=config.api_key, queue_limit=config.queue_limit)
        service = Service(self.model.model_thread, options)
        try:
            server = ApiServer(build_app(service), config.host, sock=sock)
            server.start()
        except HearthError as exc:
            sock.close()
            return ServerState("failed", problem=str(exc))
        self._server, self._running, self._current_service = server, config, service
        state = self._serving_state()
        log.info("The API server listens on %s", state.where())
        return state

    def _serving_state(self) -> ServerState:
        assert self._server is not None and self._current_service is not None
        host = self._running.host if self._running is not None else ""
        return ServerState("serving", url=self._server.url,
                           served=self._current_service.gate.served, host=host)  # fmt: skip

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.stop()
            log.info("The API server stopped")
        self._server = self._running = self._current_service = None

    # The key

    def set_key(self, key: str) -> None:
        """Keep `key` in the keyring ("" forgets it) and restart the server with it if it runs.

        Without a usable keyring the key still serves until Hearth closes; the window says so.
        """
        self._key = key

        def work(_task: object) -> None:
            if key:
                set_secret(KEY_NAME, key, WHAT)
            else:
                delete_secret(KEY_NAME, WHAT)

        def failed(exc: Exception) -> None:
            self.window.notice.show_message(
                f"{exc} The key is used until Hearth closes.".strip(), "error"
            )

        self._worker.run(work, on_error=failed)
        self.apply()

    def attach(self, dialog: SettingsDialog) -> ServerPanel:
        """Add the key and the status line to the settings dialog's server page."""
        panel = ServerPanel(self._key or "", dialog)
        dialog.add_rows("server", panel.rows())
        panel.generateRequested.connect(self._on_generate)
        dialog.applied.connect(lambda _changes: self._on_dialog_saved(panel))
        self.panel = panel
        panel.show_status(self.state.text(self.model.has_model), self.state.state)
        return panel

    def _on_generate(self) -> None:
        from app.serve.auth import new_key

        if self.panel is not None:
            self.panel.set_key(new_key())

    def _on_dialog_saved(self, panel: ServerPanel) -> None:
        if panel.key() != panel.initial_key:
            self.set_key(panel.key())

    # Status

    def _set_state(self, state: ServerState) -> None:
        self.state = state
        if state.state == "serving":
            self._tick.start()
        else:
            self._tick.stop()
        if self.panel is not None:
            try:
                self.panel.show_status(state.text(self.model.has_model), state.state)
            except RuntimeError:  # the dialog was closed and deleted
                self.panel = None
        self.stateChanged.emit(state)

    def _on_tick(self) -> None:
        service = self._service
        if service is None or self.state.state != "serving":
            return
        if service.gate.served != self.state.served:
            self._set_state(replace(self.state, served=service.gate.served))

    def shutdown(self, timeout_s: float = 8.0) -> None:
        """Stop serving (open replies get a moment to end) and stop the thread."""
        self._shut_down = True
        self._tick.stop()
        self._worker.shutdown(timeout_s, last=self._stop_server)
