"""Which model runs: the first load at start, the model picker, imports (dialog or drop), and what
the window shows about it. A load that fails leaves the previous model working and says why; a
window too large for this machine is refused before loading, with the CLI's proposals as buttons.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.background import run_in_background
from app.model_worker import ModelClient
from app.paths import app_paths
from app.settings import Settings
from engine.display import display_name
from engine.errors import HearthError
from ui.main_window import MainWindow
from ui.model_picker import ModelPicker, ModelRow

if TYPE_CHECKING:
    from engine.chat.engine import LoadedModel
    from engine.context.fit import FitReport, MachineMemory, Proposal
    from engine.gguf_info import ModelInfo
    from engine.session import LoadSettings

log = logging.getLogger(__name__)

MODEL_KEYS = ("model.threads", "model.gpu_layers", "model.context_size", "model.kv_type",
              "model.flash_attention", "model.draft_model")  # fmt: skip
_COUNT_HINT = "Double-click one to load it."


def load_settings_from(values: Mapping[str, Any], model_path: str) -> LoadSettings:
    """The session's load settings from the app's settings."""
    from engine.session import LoadSettings

    return LoadSettings(
        model_path=model_path,
        n_ctx=values["model.context_size"],
        n_threads=values["model.threads"],
        n_gpu_layers=values["model.gpu_layers"],
        flash_attn=values["model.flash_attention"],
        type_k=values["model.kv_type"],
        type_v=values["model.kv_type"],
        draft_model_path=values["model.draft_model"],
    )


def flash_attn_choice(values: Mapping[str, Any]) -> bool | None:
    """Flash attention as the fit check takes it: on when chosen, else as the cache type needs."""
    return True if values["model.flash_attention"] else None


def fit_words(report: FitReport, info: ModelInfo, n_ctx: int) -> tuple[str, str]:
    """Whether a model fits, for the picker's cell, and the whole story for its tooltip. The
    cell says it in the words and numbers of "Get models" and `hearth models files`
    (`engine.hub.verdict`): the estimate, the need with its margin and the memory kept for the
    rest of the system, and what is free."""
    from engine.context.fit import needed_bytes
    from engine.hub.verdict import DOES_NOT_FIT, placement_words, verdict_words

    free = report.memory.ram_available + report.memory.vram_available
    estimate = report.estimate
    at = f"At {n_ctx:,} tokens, for RAM and VRAM together."
    if report.fits and estimate is not None:
        _, where = placement_words(estimate.n_gpu_layers, info.block_count + 1)
        return verdict_words(where, estimate.total, needed_bytes(estimate), free), at
    detail = report.reason
    if report.proposals:
        detail += "\nTry: " + "; or ".join(p.description for p in report.proposals[:3]) + "."
    if estimate is not None:
        words = verdict_words(DOES_NOT_FIT, estimate.total, needed_bytes(estimate), free)
        return words, f"{at}\n{detail}"
    if info.context_length and n_ctx > info.context_length:
        return f"window larger than trained ({info.context_length:,})", detail
    return f"{DOES_NOT_FIT}: {report.reason}", detail


def withdraw_past_failures(window: MainWindow) -> None:
    """Another model answers now (or the same one again): take away what it ends, an earlier
    failure to load or connect and a reply's failure, which was about the engine answering then
    ("Not sent: Nothing answers at …"). A reply's failure offering an action stays: "Show it"
    brings back a message that was not sent."""
    window.notice.withdraw("model")
    window.notice.withdraw("reply", keep_actions=True)


def model_rows(values: Mapping[str, Any], loaded: LoadedModel | None) -> list[ModelRow]:
    """The picker's rows, each checked with the one fit check (reads GGUF headers and probes
    memory: call off the GUI thread). The loaded model's memory counts as free: loading another
    gives it back first."""
    from engine.catalog import ModelCatalog, origin_words
    from engine.context.fit import MachineMemory

    memory = MachineMemory.probe(freed_ram=loaded.ram_bytes if loaded else 0,
                                 freed_vram=loaded.vram_bytes if loaded else 0)  # fmt: skip
    loaded_path = loaded.path if loaded else ""
    rows = []
    entries = ModelCatalog(app_paths().models_file).entries()
    stems = Counter(entry.path.stem for entry in entries)
    for entry in entries:
        row = ModelRow(str(entry.path), bundled=entry.bundled, problem=entry.problem,
                       loaded=str(entry.path) == loaded_path, owned=entry.owned,
                       origin=origin_words(entry, stems[entry.path.stem] > 1))  # fmt: skip
        if entry.info is not None:
            fits, detail = _fit(values, entry.info, memory)
            info = entry.info
            row = replace(row, name=info.name, parameters=info.parameter_count,
                          file_type=info.file_type, context_length=info.context_length,
                          file_size=info.file_size, fits=fits, fit_detail=detail)  # fmt: skip
        rows.append(row)
    return rows


def _fit(values: Mapping[str, Any], info: ModelInfo, memory: MachineMemory) -> tuple[str, str]:
    from engine.context.fit import check_fit

    settings = load_settings_from(values, str(info.path))
    n_ctx = settings.n_ctx or info.context_length or 4096
    try:
        report = check_fit(settings, memory, info, flash_attn_choice(values))
    except (HearthError, OSError) as exc:
        return f"unknown: {exc}", str(exc)
    return fit_words(report, info, n_ctx)


class ModelController(QObject):
    """Signals: getModelsRequested() (the picker's "Get models" button); pickerCreated(
    ModelPicker), once, when the picker is first shown.

    `extra_rows` gives rows listed after the model files (the added servers); it is called off
    the GUI thread.
    """

    getModelsRequested = Signal()
    pickerCreated = Signal(object)

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
        self.loaded_path = ""
        self.loaded_name = ""
        self.loading_path = ""
        self.picker: ModelPicker | None = None
        self.extra_rows: Callable[[], list[ModelRow]] = list
        self._applying_proposal = False
        model.loadStarted.connect(self.on_load_started)
        model.loaded.connect(self.on_loaded)
        model.loadFailed.connect(self.on_load_failed)
        model.unloaded.connect(self.on_unloaded)
        model.setAside.connect(self.on_set_aside)
        window.modelsRequested.connect(self.show_picker)
        settings.changed.connect(self.on_setting_changed)

    def start(self) -> None:
        """Load the last used model, or the bundled default (saying so when the last one is
        gone)."""
        from engine.bundled import first_model_path

        path = first_model_path(self.settings.get("model.path"))
        if path != self.settings.get("model.path") and self.settings.get("model.path"):
            self.window.notice.show_message(
                f"{display_name(self.settings.get('model.path'))} is no longer where it was "
                f"loaded from; Hearth loaded {display_name(path)} instead.",
                "info",
                timeout_ms=30000,  # read at start-up, while the eye is elsewhere
            )
            log.info("The last model, %s, is gone; loading %s", self.settings.get("model.path"),
                     path)  # fmt: skip
        self.load(path)

    def load(self, path: str) -> None:
        """Load `path` with the current settings, once the fit check passes; a model loaded, or
        being loaded, with these settings is not loaded again."""
        values = self.settings.values()
        if self.model.load(load_settings_from(values, path), flash_attn_choice(values)):
            self.loading_path = path
        elif self.picker is not None and path == self.loaded_path:
            self.picker.set_status(f"{self.loaded_name} is loaded.")

    # Model thread events

    def on_load_started(self, path: str) -> None:
        self.window.model_status.set_loading(Path(path).stem)
        if self.picker is not None:
            self.picker.set_status(f"Loading {Path(path).name}…")

    def _status_name(self, path: str) -> str:
        """The file name people recognise (GGUF names are often training-run labels), with where
        it came from when the picker lists another file of that name (a downloaded copy of the
        bundled model, say)."""
        stem = Path(path).stem
        rows = self.picker.model.rows() if self.picker is not None else []
        same = [row for row in rows if not row.remote and Path(row.path).stem == stem]
        mine = next((row for row in same if row.path == path), None)
        return mine.shown_name if mine is not None and len(same) > 1 else stem

    def on_loaded(self, loaded: LoadedModel) -> None:
        report = loaded.report
        model = report.model
        self.loaded_path = loaded.path
        self.loaded_name = self._status_name(loaded.path)
        detail = (
            f"{model.name} · {model.architecture} · {model.file_type}\n"
            f"Window: {report.n_ctx:,} tokens · loaded in {report.load_seconds:.1f} s"
            + ("" if report.template == "model" else "\nNo chat template: plain transcript")
        )
        self.window.model_status.set_loaded(self.loaded_name, detail)
        self.window.gauges.show_model(loaded)
        withdraw_past_failures(self.window)
        for note in loaded.notes:
            self.window.notice.show_message(note)
        if self.settings.get("model.path") != self.loaded_path:
            try:
                self.settings.set("model.path", self.loaded_path)
            except HearthError as exc:  # a full disk: the model runs, the choice is not kept
                self.window.notice.show_message(str(exc), "error")
        if self.picker is not None:
            self.picker.set_status(f"Loaded {self.loaded_name}.")
            self.refresh_picker()

    def on_load_failed(self, error: HearthError) -> None:
        from engine.context.fit import ContextFitError

        name = Path(self.loading_path).name
        kept = f" Still using {self.loaded_name}." if self.loaded_name else ""
        self.window.model_status.set_failed(self.loaded_name or None)
        if isinstance(error, ContextFitError) and error.report is not None:
            text = f"{name} was not loaded: {error.message}{kept}"
            proposals = error.report.proposals[:3]
            report = error.report
            values = self.settings.values()
            actions = [
                (_button_text(p, values, report), lambda p=p: self.apply_proposal(p, report),
                 "Load with " + p.description)
                for p in proposals
            ]  # fmt: skip
            if not proposals:
                text += f" {error.hint}"
            self.window.notice.show_message(text, "error", actions=actions, topic="model")
        else:
            text = f"Could not load {name}: {error}".strip() + kept
            self.window.notice.show_message(text, "error", topic="model")
        if self.picker is not None:
            self.picker.set_status(text)

    def apply_proposal(self, proposal: Proposal, refused: FitReport) -> None:
        """Keep `proposal`'s window and cache (and its GPU layers, when it changes them) as the
        settings, and load again."""
        changes: dict[str, Any] = {
            "model.context_size": proposal.n_ctx,
            "model.kv_type": proposal.type_k,
            "model.flash_attention": proposal.flash_attn,
        }
        requested_layers = refused.estimate.n_gpu_layers if refused.estimate else None
        if requested_layers is not None and proposal.n_gpu_layers != requested_layers:
            changes["model.gpu_layers"] = proposal.n_gpu_layers
        self._applying_proposal = True
        try:
            self.settings.update(changes)
        except HearthError as exc:
            self.window.notice.show_message(str(exc), "error")
            return
        finally:
            self._applying_proposal = False
        self.load(self.loading_path)

    def on_set_aside(self, _path: str) -> None:
        # Loaded again with the same settings when the benchmark ends (ModelClient.run_aside).
        self.window.model_status.set_paused(self.loaded_name, "paused for a benchmark")

    def on_unloaded(self) -> None:
        self.loaded_path = self.loaded_name = ""
        self.window.model_status.set_unloaded()
        self.window.gauges.show_model(None)
        if self.picker is not None:
            self.refresh_picker()

    def on_setting_changed(self, key: str, _value: object) -> None:
        if key in MODEL_KEYS and self.loaded_path and not self._applying_proposal:
            self.window.notice.show_message(
                "Model settings changed; they apply when the model is loaded again.",
                action="Reload now", callback=lambda: self.load(self.loaded_path),
            )  # fmt: skip

    # Picker and imports

    def show_picker(self) -> None:
        if self.picker is None:
            self.picker = ModelPicker(self.window)
            self.picker.loadRequested.connect(self.load)
            self.picker.unloadRequested.connect(self.model.unload)
            self.picker.importRequested.connect(self.import_model)
            self.picker.getModelsRequested.connect(self.getModelsRequested)
            self.picker.removeRequested.connect(self.remove_model)
            # Closed with the window while a list is still being read: the result is dropped.
            self.picker.destroyed.connect(self._forget_picker)
            self.pickerCreated.emit(self.picker)
        self.picker.set_status("Reading the model files…")
        self.refresh_picker()
        self.picker.show()
        self.picker.raise_()

    def _forget_picker(self, *_args: object) -> None:
        self.picker = None

    def refresh_picker(self, select: str | None = None) -> None:
        """List the models again (off the GUI thread), then select `select` if given."""
        values, loaded, extra = self.settings.values(), self.model.loaded_model, self.extra_rows
        run_in_background(
            lambda: model_rows(values, loaded) + extra(),
            lambda rows: self._on_rows(rows, select, values["model.context_size"]),
            self._on_rows_failed,
        )

    def _on_rows_failed(self, exc: Exception) -> None:
        if self.picker is not None:
            self.picker.set_status(str(exc))

    def _on_rows(self, rows: list[ModelRow], select: str | None = None, n_ctx: int = 0) -> None:
        if self.picker is None:
            return
        if n_ctx:
            self.picker.set_window(n_ctx)
        self.picker.set_models(rows)
        if select:
            self.picker.select_path(select)
        status = self.picker.status.text()
        if status.startswith("Reading"):  # the picker counts its rows itself, beside this
            self.picker.set_status(_COUNT_HINT)

    def import_model(self, path: str, load: bool = False) -> None:
        def work() -> ModelInfo:
            from engine.catalog import ModelCatalog
            from engine.model_probe import ModelGuard

            guard = ModelGuard(app_paths().checked_models_file)  # llama.cpp's verdict, up front
            return ModelCatalog(app_paths().models_file).import_model(path, guard)

        topic = f"import:{path}"  # a later import of the file replaces an earlier failure

        def done(info: ModelInfo) -> None:
            if load:
                self.window.notice.withdraw(topic)
                self.load(str(info.path))
            else:
                self.window.notice.show_message(
                    f"Added {info.name} to your models.", action="Load it",
                    callback=lambda: self.load(str(info.path)), topic=topic,
                )  # fmt: skip
            if self.picker is not None:
                self.refresh_picker(select=str(info.path))

        def failed(exc: Exception) -> None:
            self.window.notice.show_message(f"{exc}", "error", topic=topic)
            if self.picker is not None:
                self.picker.set_status(str(exc))

        run_in_background(work, done, failed)

    def on_model_downloaded(self, path: str) -> None:
        """A download joined the catalog: list it, and offer to load it."""
        self.window.notice.show_message(
            f"Downloaded {Path(path).name}; it is in your models.", action="Load it",
            callback=lambda: self.load(path),
        )  # fmt: skip
        if self.picker is not None:
            self.refresh_picker(select=path)

    def remove_model(self, path: str) -> None:
        """Delete a model Hearth downloaded or made, or forget an imported one (its file stays)."""
        name = Path(path).name
        if path == self.loaded_path:
            if self.picker is not None:
                self.picker.set_status(f"{name} is loaded: unload it (or load another) first.")
            return

        def work() -> str:
            from engine.catalog import ModelCatalog

            return ModelCatalog(app_paths().models_file).remove(path)

        def done(outcome: str) -> None:
            text = (f"Deleted {name}." if outcome == "deleted"
                    else f"Removed {name} from your models; the file was left where it is.")  # fmt: skip
            if self.picker is not None:
                self.picker.set_status(text)
                self.refresh_picker()

        def failed(exc: Exception) -> None:
            if self.picker is not None:
                self.picker.set_status(str(exc))

        run_in_background(work, done, failed)

    def on_model_files_dropped(self, paths: Sequence[str]) -> None:
        for path in paths:
            self.import_model(path)


def _button_text(proposal: Proposal, values: Mapping[str, Any], refused: FitReport) -> str:
    """A proposal as a short button, naming only what it changes: "Use 8,192 tokens, q8_0 cache"."""
    changes = []
    if proposal.n_ctx != values["model.context_size"]:
        changes.append(f"{proposal.n_ctx:,} tokens")
    if proposal.type_k != values["model.kv_type"]:
        changes.append(f"{proposal.type_k} cache")
    if refused.estimate is not None and proposal.n_gpu_layers != refused.estimate.n_gpu_layers:
        changes.append(f"{proposal.n_gpu_layers} GPU layers")
    return "Use " + ", ".join(changes or [proposal.description])
