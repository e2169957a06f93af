"""Which model runs: the first load at start, the model picker, imports (dialog or drop), and what
the window shows about it. A load that fails leaves the previous model working and says why."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject

from app.background import run_in_background
from app.model_worker import ModelClient
from app.paths import app_paths
from app.settings import Settings
from ui.main_window import MainWindow
from ui.model_picker import ModelPicker

log = logging.getLogger(__name__)

_MODEL_KEYS = ("model.threads", "model.gpu_layers", "model.context_size", "model.kv_type",
               "model.flash_attention")  # fmt: skip
_KV_BYTES = {"f16": 2.0, "q8_0": 1.0625, "q4_0": 0.5625}
_COUNT_HINT = "Double-click one to load it."


def load_settings_from(values: dict, model_path: str):
    from engine.session import LoadSettings

    return LoadSettings(
        model_path=model_path,
        n_ctx=values["model.context_size"],
        n_threads=values["model.threads"],
        n_gpu_layers=values["model.gpu_layers"],
        flash_attn=values["model.flash_attention"],
        type_k=values["model.kv_type"],
        type_v=values["model.kv_type"],
    )


def fit_text(info, n_ctx: int, kv_type: str, available: int) -> str:
    """Whether the weights plus the K/V cache at `n_ctx` fit in `available` bytes, in words."""
    if n_ctx > info.context_length > 0:
        return f"window larger than trained ({info.context_length:,})"
    per_token = info.head_count_kv * (info.key_length + info.value_length) * _KV_BYTES[kv_type]
    need = info.file_size + info.block_count * n_ctx * per_token + 256 * 2**20
    if need <= available:
        return f"yes, ~{need / 2**30:.1f} GB at {n_ctx:,} tokens"
    return f"no: needs ~{need / 2**30:.1f} GB, {available / 2**30:.1f} GB free"


def catalog_entries(values: dict, loaded_path: str) -> list[dict]:
    """The picker's rows (reads GGUF headers; call off the GUI thread)."""
    from engine.catalog import ModelCatalog
    from engine.memory import probe_memory

    memory = probe_memory()
    available = memory.ram_available + max((g.free for g in memory.gpus), default=0)
    rows = []
    for entry in ModelCatalog(app_paths().models_file).entries():
        row = {"path": str(entry.path), "bundled": entry.bundled, "problem": entry.problem,
               "loaded": str(entry.path) == loaded_path}  # fmt: skip
        if entry.info is not None:
            info = entry.info
            row.update(
                name=info.name,
                parameters=info.parameter_count,
                file_type=info.file_type,
                context_length=info.context_length,
                file_size=info.file_size,
                fits=fit_text(info, values["model.context_size"], values["model.kv_type"],
                              available),
            )  # fmt: skip
        rows.append(row)
    return rows


class ModelController(QObject):
    def __init__(
        self, window: MainWindow, model: ModelClient, settings: Settings, parent=None
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.model = model
        self.settings = settings
        self.loaded_path = ""
        self.loaded_name = ""
        self.loading_path = ""
        self.picker: ModelPicker | None = None
        worker = model.worker
        worker.loadStarted.connect(self.on_load_started)
        worker.loaded.connect(self.on_loaded)
        worker.loadFailed.connect(self.on_load_failed)
        worker.unloaded.connect(self.on_unloaded)
        worker.contextUsage.connect(window.gauges.context.set_usage)
        window.modelsRequested.connect(self.show_picker)
        settings.changed.connect(self.on_setting_changed)

    def start(self) -> None:
        """Load the last used model, or the bundled default."""
        path = self.settings.get("model.path")
        if not path or not Path(path).is_file():
            from engine.bundled import default_model_path

            path = str(default_model_path())
        self.load(path)

    def load(self, path: str) -> None:
        self.loading_path = path
        self.model.load(load_settings_from(self.settings.values(), path))

    # Worker events

    def on_load_started(self, path: str) -> None:
        self.window.model_status.set_loading(Path(path).stem)
        if self.picker is not None:
            self.picker.set_status(f"Loading {Path(path).name}…")

    def on_loaded(self, info: dict) -> None:
        model = info["model"]
        self.loaded_path = model["path"]
        # The file name is what people recognise; GGUF names are often training-run labels.
        self.loaded_name = Path(self.loaded_path).stem
        detail = (
            f"{model['name']} · {model['architecture']} · {model['file_type']}\n"
            f"Window: {info['n_ctx']:,} tokens · loaded in {info['load_seconds']:.1f} s"
            + ("" if info.get("template") == "model" else "\nNo chat template: plain transcript")
        )
        self.window.model_status.set_loaded(self.loaded_name, detail)
        self.window.gauges.backend.set_backend(info["backend"])
        self.window.gauges.memory.set_model_size(int(model["file_size"]))
        self.window.gauges.context.set_usage({"n_ctx": info["n_ctx"], "parts": {}})
        for note in info.get("notes", []):
            self.window.notice.show_message(note)
        if self.settings.get("model.path") != self.loaded_path:
            self.settings.set("model.path", self.loaded_path)
        if self.picker is not None:
            self.picker.set_status(f"Loaded {self.loaded_name}.")
            self.refresh_picker()

    def on_load_failed(self, message: str, hint: str) -> None:
        name = Path(self.loading_path).name
        kept = f" Still using {self.loaded_name}." if self.loaded_name else ""
        text = f"Could not load {name}: {message} {hint}".strip() + kept
        self.window.model_status.set_failed(self.loaded_name or None)
        self.window.notice.show_message(text, "error")
        if self.picker is not None:
            self.picker.set_status(text)

    def on_unloaded(self) -> None:
        self.loaded_path = self.loaded_name = ""
        self.window.model_status.set_unloaded()
        self.window.gauges.backend.clear_backend()
        self.window.gauges.memory.set_model_size(0)
        if self.picker is not None:
            self.refresh_picker()

    def on_setting_changed(self, key: str, _value) -> None:
        if key in _MODEL_KEYS and self.loaded_path:
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
        self.picker.set_status("Reading the model files…")
        self.refresh_picker()
        self.picker.show()
        self.picker.raise_()

    def refresh_picker(self) -> None:
        values, loaded = self.settings.values(), self.loaded_path
        run_in_background(
            lambda: catalog_entries(values, loaded),
            self._on_entries,
            lambda exc: self.picker and self.picker.set_status(str(exc)),
        )

    def _on_entries(self, rows: list[dict]) -> None:
        if self.picker is None:
            return
        self.picker.set_models(rows)
        status = self.picker.status.text()
        if status.startswith("Reading") or status.endswith(_COUNT_HINT):  # keep the count current
            count = f"{len(rows)} model{'' if len(rows) == 1 else 's'}"
            self.picker.set_status(f"{count}. {_COUNT_HINT}")

    def import_model(self, path: str, load: bool = False) -> None:
        def work():
            from engine.catalog import ModelCatalog
            from engine.model_probe import ModelGuard

            guard = ModelGuard(app_paths().checked_models_file)  # llama.cpp's verdict, up front
            return ModelCatalog(app_paths().models_file).import_model(path, guard)

        def done(info) -> None:
            if load:
                self.load(info.path)
            else:
                self.window.notice.show_message(
                    f"Added {info.name} to your models.", action="Load it",
                    callback=lambda: self.load(info.path),
                )  # fmt: skip
            if self.picker is not None:
                self.refresh_picker()
                self.picker.select_path(info.path)

        def failed(exc: Exception) -> None:
            self.window.notice.show_message(f"{exc}", "error")
            if self.picker is not None:
                self.picker.set_status(str(exc))

        run_in_background(work, done, failed)

    def on_model_files_dropped(self, paths: list[str]) -> None:
        for path in paths:
            self.import_model(path)
