"""Remote engines in the window: "Add a server" (test, save, key in the keyring), the saved
servers listed in the model picker, choosing one (chats then run there), and what the window
shows about it: the model button, the backend badge, the context bar's window.

Every request to a server and every keyring call runs off the GUI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject

from app.model_controller import ModelController, withdraw_past_failures
from app.model_worker import ModelClient
from app.worker import SerialWorker
from engine.errors import HearthError
from engine.remote import ConnectionStore, RemoteConnection, RemoteInfo
from engine.secrets import SecretStoreError
from ui.gauges.backend_badge import window_words
from ui.main_window import MainWindow
from ui.model_picker import ModelPicker, ModelRow
from ui.remote_dialog import RemoteDialog, ServerEntry

log = logging.getLogger(__name__)

# A test connection waits this long for the server at most (seconds); chats wait longer.
TEST_TIMEOUT_S = 10.0

# Where the window asks for a server's key, for the hint when a server refuses.
KEY_IN_DIALOG = "in the API key field"
KEY_IN_ENTRY = "in the server's entry: Models → select it → Edit server…"
# The notice bar's topic for which model answers: a later success replaces an earlier failure.
TOPIC = "model"


@dataclass(frozen=True)
class ServerCheck:
    """What a test connection found.

    Attributes:
        server: The kind of server ("llama.cpp", "vLLM", "Hearth", ...).
        models: Every model it offers.
        model: The model the connection would use ("" when several are offered and none named).
        n_ctx: That model's window in tokens (0 when no model was chosen).
        n_ctx_source: Where the window came from, in words.
        exact: Whether token counts come from the server's tokenizer.
        window_assumed: Whether `n_ctx` is only assumed (the server does not say, none was set).
    """

    server: str
    models: tuple[str, ...]
    model: str = ""
    n_ctx: int = 0
    n_ctx_source: str = ""
    exact: bool = False
    window_assumed: bool = False

    def summary(self) -> str:
        """One line: "llama.cpp server · 1 model · window 8,192 tokens · prompts measured exactly"."""
        count = len(self.models)
        parts = [f"{self.server} server", f"{count} model{'' if count == 1 else 's'}"]
        if not self.model:
            return "Found a " + " · ".join(parts) + ": choose one."
        if self.window_assumed:
            parts.append(f"window unknown: the server does not say, so {self.n_ctx:,} tokens are "
                         "assumed (set Context window if you know it)")  # fmt: skip
        elif self.n_ctx_source.startswith("the connection's setting"):
            parts.append(f"window {self.n_ctx:,} tokens (as set here: the server does not say)")
        else:
            parts.append(f"window {self.n_ctx:,} tokens")
        parts.append(
            "prompts measured exactly" if self.exact else "prompt sizes estimated before sending"
        )
        return "Found a " + " · ".join(parts) + "."


def check_server(entry: ServerEntry) -> ServerCheck:
    """Ask the server in `entry` what it offers (call off the GUI thread).

    Raises:
        RemoteError: The address, the key or the model is wrong, or the server does not answer.
    """
    from engine.remote import RemoteSession
    from engine.remote.http import RemoteClient
    from engine.remote.probe import list_models

    connection = RemoteConnection(entry.url, entry.model, entry.context_window,
                                  timeout_s=TEST_TIMEOUT_S)  # fmt: skip
    client = RemoteClient(connection.address, entry.api_key or None, connection.timeout_s,
                          KEY_IN_DIALOG)  # fmt: skip
    try:
        listed = list_models(client)
    finally:
        client.close()
    if not entry.model and len(listed.ids) > 1:
        return ServerCheck(listed.kind, listed.ids)
    session = RemoteSession()
    try:
        info = session.connect(connection, entry.api_key or None, KEY_IN_DIALOG)
    finally:
        session.unload()
    return ServerCheck(info.server, info.models, info.model, info.n_ctx, info.n_ctx_source,
                       info.token_counts_exact, info.window_assumed)  # fmt: skip


def connection_row(connection: RemoteConnection, active: bool) -> ModelRow:
    """A saved server as the model picker lists it."""
    host = connection.address.host
    name = connection.label.removeprefix("Remote: ").removeprefix(f"{host} · ")
    if name == connection.label.removeprefix("Remote: "):
        name = "the server's model"
    return ModelRow(
        path=connection.id,
        name=f"{name}  ({host})",
        file_type="server",
        context_length=connection.context_window,
        fits=f"runs on {host}",
        fit_detail=f"Chats run on the server at {connection.url}; documents stay here.",
        loaded=active,
        remote=connection.id,
    )


def short_name(info: RemoteInfo) -> str:
    """The model button's text for a remote model: "model on host"."""
    name = info.label.removeprefix("Remote: ").removeprefix(f"{info.host} · ")
    if name.lower().endswith(".gguf"):  # as local models are named: by file, without ".gguf"
        name = name[: -len(".gguf")]
    return f"{name} on {info.host}"


class RemoteController(QObject):
    """Add, list, choose and remove servers; see the module docstring.

    Args:
        store: The saved connections (`remotes.json`, keys in the keyring).
    """

    def __init__(
        self,
        window: MainWindow,
        model: ModelClient,
        models: ModelController,
        store: ConnectionStore,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.model = model
        self.models = models
        self.store = store
        self.dialog: RemoteDialog | None = None
        # The saved server the dialog edits (None: it adds one).
        self.editing: RemoteConnection | None = None
        # Keys the keyring could not keep, by server address: used until Hearth closes.
        self._session_keys: dict[str, str] = {}
        self._worker = SerialWorker("remote", self)
        models.extra_rows = self.rows
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.models.pickerCreated.connect(self.attach_picker)
        self.model.connectStarted.connect(self.on_connect_started)
        self.model.connected.connect(self.on_connected)
        self.model.connectFailed.connect(self.on_connect_failed)
        self.model.loadFailed.connect(self.on_local_load_failed)

    def attach_picker(self, picker: ModelPicker) -> None:
        picker.addServerRequested.connect(self.show_add_dialog)
        picker.remoteRequested.connect(self.choose)
        picker.removeServerRequested.connect(self.remove)
        picker.editServerRequested.connect(self.show_edit_dialog)

    def rows(self) -> list[ModelRow]:
        """The saved servers as picker rows (reads remotes.json, never a key: any thread)."""
        active = self.model.remote_connection
        return [connection_row(c, active is not None and c.id == active.id)
                for c in self.store.connections()]  # fmt: skip

    # Add a server

    def show_add_dialog(self) -> None:
        dialog = self._dialog()
        if not dialog.isVisible() or self.editing is not None:
            self.editing = None
            dialog.reset()
        dialog.show()
        dialog.raise_()

    def show_edit_dialog(self, connection_id: str) -> None:
        """The dialog, filled with a saved server's settings: change its key, model or window."""
        connection = self._find(connection_id)
        if connection is None:
            return
        dialog = self._dialog()
        self.editing = connection
        has_key = connection.has_key or connection.url in self._session_keys
        dialog.edit(connection.url, connection.model, connection.context_window, has_key)
        dialog.show()
        dialog.raise_()

    def _dialog(self) -> RemoteDialog:
        if self.dialog is None:
            parent = self.models.picker or self.window
            self.dialog = RemoteDialog(parent)
            self.dialog.testRequested.connect(self.test)
            self.dialog.addRequested.connect(self.add)
        return self.dialog

    def test(self, entry: ServerEntry) -> None:
        dialog = self.dialog
        if dialog is None:
            return
        dialog.set_busy(f"Asking {entry.url}…")
        editing, store = self.editing, self.store
        if not entry.api_key and editing is not None:  # the saved key, unless a new one is typed
            entry = replace(entry, api_key=self._session_keys.get(editing.url, ""))

        def work(_task: object) -> ServerCheck:
            if not entry.api_key and editing is not None and editing.url == entry.url:
                key = store.api_key(editing, "type it in the API key field")
                return check_server(replace(entry, api_key=key or ""))
            return check_server(entry)

        def shown(check: ServerCheck) -> None:
            dialog.show_result(check.summary(), check.models, check.model)
            dialog.show_window_assumed(check.n_ctx if check.window_assumed else 0)

        self._worker.run(work, on_done=shown,
                         on_error=lambda exc: dialog.show_test_error(_one_line(exc)))  # fmt: skip

    def add(self, entry: ServerEntry) -> None:
        """Save the server (its key in the keyring) and select it in the picker. Without a usable
        keyring the key is kept in memory until Hearth closes, and the notice says so."""
        dialog = self.dialog
        if dialog is None:
            return
        try:
            connection = RemoteConnection(entry.url, entry.model, entry.context_window)
        except HearthError as exc:
            dialog.show_error(_one_line(exc))
            return
        dialog.set_busy("Saving…")
        store, editing, unreachable = self.store, self.editing, dialog.test_failed

        def save(_task: object) -> tuple[RemoteConnection, str]:
            # A key left empty keeps the one saved for this server before, if any.
            try:
                stored, problem = store.save(connection, entry.api_key or None), ""
            except SecretStoreError as exc:
                stored, problem = store.save(connection), exc.message
            if editing is not None and editing.id != stored.id:
                store.remove(editing)
            return stored, problem

        def saved(result: tuple[RemoteConnection, str]) -> None:
            stored, problem = result
            if entry.api_key and problem:
                self._session_keys[stored.url] = entry.api_key
            elif entry.api_key:
                self._session_keys.pop(stored.url, None)
            dialog.accept()
            self.editing = None
            name = stored.label.removeprefix("Remote: ")
            lines = [f"{'Saved' if editing is not None else 'Added'} {name}."]
            if problem:
                lines.append(f"{problem} Hearth uses the key until it closes; give it again "
                             "next time (Models → Edit server…).")  # fmt: skip
            if unreachable:
                lines.append(f"It did not answer the test connection: {unreachable}")
            active = self.model.remote_connection
            if active is not None and editing is not None and active.id == editing.id:
                self.choose(stored.id)  # the chats there go on with the new settings
            self.window.notice.show_message(
                " ".join(lines), "warning" if problem or unreachable else "info",
                action="Use it", callback=lambda: self.choose(stored.id), topic=TOPIC,
            )  # fmt: skip
            self.models.refresh_picker(select=stored.id)
            if self.models.picker is not None:
                self.models.picker.set_status(lines[0])

        self._worker.run(save, on_done=saved,
                         on_error=lambda exc: dialog.show_error(_one_line(exc)))  # fmt: skip

    # Choose and remove

    def _find(self, connection_id: str) -> RemoteConnection | None:
        return next((c for c in self.store.connections() if c.id == connection_id), None)

    def choose(self, connection_id: str) -> None:
        """Run chats on the saved server `connection_id` from now on (once it answers)."""
        connection = self._find(connection_id)
        if connection is None:
            return
        store, kept = self.store, self._session_keys.get(connection.url)

        def api_key() -> str | None:
            return kept or store.api_key(connection, "give it again in Models → Edit server…")

        self.model.use_remote(connection, api_key, KEY_IN_ENTRY)

    def remove(self, connection_id: str) -> None:
        """Forget a saved server (and its key, when no other saved model uses it). Chats
        running on it go on until another model is chosen."""
        connection = self._find(connection_id)
        if connection is None:
            return
        store = self.store

        def removed(_result: None) -> None:
            if not any(c.url == connection.url for c in store.connections()):
                self._session_keys.pop(connection.url, None)
            text = f"Removed {connection.label.removeprefix('Remote: ')}."
            self.window.notice.show_message(text, topic=TOPIC)  # its failures no longer matter
            if self.models.picker is not None:
                self.models.picker.set_status(text)
            self.models.refresh_picker()

        self._worker.run(lambda _task: store.remove(connection), on_done=removed,
                         on_error=self._show_error)  # fmt: skip

    # What the window shows

    def on_connect_started(self, connection: RemoteConnection) -> None:
        self.window.model_status.set_loading(connection.address.host, verb="Connecting to")
        if self.models.picker is not None:
            self.models.picker.set_status(f"Connecting to {connection.url}…")

    def on_connected(self, info: RemoteInfo) -> None:
        withdraw_past_failures(self.window)  # this server answers now
        self._show_connected(info)
        if self.models.picker is not None:
            self.models.picker.set_status(f"Chats now run on {info.host}.")
            self.models.refresh_picker()

    def _show_connected(self, info: RemoteInfo) -> None:
        detail = (
            f"{info.model} on the {info.server} server at {info.url}\n"
            f"Window: {window_words(info)} · token counts: {info.tokenizer}\n"
            "Documents and their search stay on this computer."
        )
        self.window.model_status.set_loaded(short_name(info), detail)
        self.window.gauges.show_remote(info)

    def on_connect_failed(self, connection: RemoteConnection, error: HearthError) -> None:
        self._restore_status()
        text = _one_line(error)
        self.window.notice.show_message(text, "error", topic=TOPIC)
        if self.models.picker is not None:
            self.models.picker.set_status(text)

    def on_local_load_failed(self, _error: HearthError) -> None:
        self._restore_status()  # the remote model is still the one answering

    def _restore_status(self) -> None:
        # The notices stay: the failure just shown, and what is still true of this server.
        info = self.model.remote_info
        if info is not None:
            self._show_connected(info)
        else:  # the local model, if any, still answers
            self.window.model_status.set_failed(self.models.loaded_name or None)

    def _show_error(self, exc: Exception) -> None:
        self.window.notice.show_message(_one_line(exc), "error")

    def shutdown(self) -> None:
        self._worker.shutdown(timeout_s=2.0)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
