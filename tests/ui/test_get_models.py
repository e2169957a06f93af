"""The "Get models" view against a local Hub on 127.0.0.1 serving real GGUF files: search, files
with verdicts, downloads (pause, resume, cancel, after a restart), faults in one line, removing a
model from the picker, and the access token kept in the keyring."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from engine.hub.progress import DownloadState
from engine.storage import size_text
from tests.engine.context.tiny_gguf import write_tiny_model
from tests.hub_server import HubServer
from tests.memory_keyring import use_memory_keyring

SMOL_REPO = "local/SmolLM2-135M-Instruct.Q4_1"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_REPO = "local/tiny-GGUF"


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory, default_model_path):
    folder = tmp_path_factory.mktemp("hub-files")
    tiny = write_tiny_model(folder / "tiny.gguf")
    (folder / "split").mkdir()
    first = write_tiny_model(folder / "split" / "tiny.gguf", split_max_tensors=8)
    broken = folder / "broken.gguf"
    broken.write_bytes(b"not a model at all" * 1000)
    server = HubServer()
    server.add_repo(SMOL_REPO, {SMOL_FILE: default_model_path}, downloads=5000, likes=50)
    server.add_repo(TINY_REPO, {"tiny-Q8_0.gguf": tiny, "tiny-Q4_K_M.gguf": tiny,
                                "tiny-F16.gguf": tiny, "mmproj-tiny-F16.gguf": tiny},
                    license="mit")  # fmt: skip
    server.add_repo("local/tiny-split-GGUF",
                    {f"Q4_K_M/{p.name.replace('tiny-', 'tiny-Q4_K_M-')}": p
                     for p in sorted(first.parent.glob("tiny-*.gguf"))})  # fmt: skip
    server.add_repo("local/broken-GGUF", {"broken-Q4_0.gguf": broken})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub(hub_server):
    hub_server.faults.errors.clear()
    hub_server.faults.bytes_per_s = 0
    hub_server.faults.cut_after = 0
    hub_server.faults.corrupt.clear()
    hub_server.log.clear()
    return hub_server


@pytest.fixture(autouse=True)
def keyring_in_memory():
    with use_memory_keyring() as backend:
        yield backend


def open_view(app, endpoint, qtbot=None):
    """Point the settings at `endpoint` and open "Get models" as the model picker's button does
    (given `qtbot`: by clicking it, once the picker has read the model files)."""
    app.controller.settings.set("hub.endpoint", endpoint)
    if qtbot is None:
        app.controller.models.getModelsRequested.emit()
    else:
        app.window.modelsRequested.emit()
        picker = app.controller.models.picker
        qtbot.wait_until(lambda: picker.model.rowCount() >= 2, timeout=30000)
        picker.get_button.click()
    hub = app.controller.hub
    assert hub.dialog is not None and hub.dialog.isVisible()
    return hub.view


def search(qtbot, view, words):
    view.query.setText(words)
    view.search_button.click()
    qtbot.wait_until(lambda: not view.status.is_busy, timeout=15000)


def choose(qtbot, view, repo_id):
    view.select_repo(repo_id)
    qtbot.wait_until(lambda: view.files.rowCount() > 0 and not view.status.is_busy, timeout=15000)


def row_of(view, job_state=None):
    rows = list(view.downloads.rows.values())
    assert rows, "no download row"
    return rows[-1]


def wait_state(qtbot, view, state, timeout=30000):
    qtbot.wait_until(lambda: bool(view.downloads.rows) and row_of(view).progress.state == state,
                     timeout=timeout)  # fmt: skip


def test_opening_sends_nothing_and_a_search_shows_results(fake_app, hub, qtbot):
    view = open_view(fake_app, hub.url, qtbot)
    qtbot.wait(300)
    assert hub.requests() == [], "opening the view contacts no one"
    assert view.query.hasFocus()
    search(qtbot, view, "smol")
    assert not view.status.is_error, view.status.text.text()
    cells = [row.cells() for row in view.results.rows()]
    assert cells == [(SMOL_REPO, "local", "5.0K", "50", "2025-01-15", "apache-2.0", "yes")]
    assert "1 model with GGUF files" in view.status.text.text()
    search(qtbot, view, "nothing-like-this")
    assert view.results.rowCount() == 0 and "No models" in view.status.text.text()


def test_a_search_can_be_cancelled_while_the_hub_says_nothing(fake_app, qtbot):
    silent = socket.socket()  # accepts connections (backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        view = open_view(fake_app, f"http://127.0.0.1:{silent.getsockname()[1]}")
        view.query.setText("qwen")
        view.search_button.click()
        assert view.status.is_busy and view.cancel_button.isEnabled()
        assert "Searching 127.0.0.1" in view.status.text.text()
        view.cancel_button.click()
        assert not view.status.is_busy and view.status.text.text() == "Cancelled."
        assert not view.cancel_button.isEnabled()
    finally:
        silent.close()


def test_choosing_a_repo_lists_its_files_with_verdicts(fake_app, hub, qtbot):
    view = open_view(fake_app, hub.url)
    search(qtbot, view, "tiny")
    choose(qtbot, view, TINY_REPO)
    rows = view.files.rows()
    assert [r.quant for r in rows] == ["F16", "Q8_0", "Q4_K_M"], "projector left out"
    assert all(r.verdict.startswith(("fits in RAM, needs ~", "fits fully on the GPU, needs ~"))
               for r in rows)  # fmt: skip
    recommended = [r for r in rows if r.recommended]
    assert [r.quant for r in recommended] == ["Q8_0"], "the best quantized file that fits"
    assert view.selected_file() == "tiny-Q8_0.gguf", "the recommended file is selected"
    assert view.files.index(1, 0).data().startswith("★ ")
    assert "Recommended here: tiny-Q8_0.gguf" in view.files_note.text()
    assert "Licence: mit" in view.files_note.text()
    assert "at 2,048 tokens" in rows[0].detail
    assert [r.cells()[2] for r in rows] == [size_text(r.size) for r in rows], "decimal units"
    assert view.download_button.isEnabled()
    # Another window is judged from the headers already read: nothing more is fetched.
    before = len(hub.requests())
    view.window_size.setValue(8192)
    qtbot.wait_until(lambda: "8,192 tokens" in view.files.rows()[0].detail, timeout=10000)
    assert len(hub.requests()) == before
    assert view.selected_file() == "tiny-Q8_0.gguf", "the choice stays"
    choose(qtbot, view, "local/tiny-split-GGUF")  # needs a search that lists it
    assert view.files.rows()[0].cells()[3] == "3 parts"


def test_a_file_whose_header_cannot_be_read_is_judged_by_size(fake_app, hub, qtbot):
    view = open_view(fake_app, hub.url)
    search(qtbot, view, "broken")
    choose(qtbot, view, "local/broken-GGUF")
    (row,) = view.files.rows()
    assert row.by_size and row.verdict.startswith("fits in RAM (estimated from its size), needs ~")
    assert "could not be read" in view.files_note.text()


def test_connection_refused_and_server_trouble_say_so_in_one_line(fake_app, hub, qtbot):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    view = open_view(fake_app, f"http://127.0.0.1:{port}")
    started = time.monotonic()
    search(qtbot, view, "smol")
    assert time.monotonic() - started < 5
    text = view.status.text.text()
    assert view.status.is_error and "cannot be reached" in text and "\n" not in text
    assert "Traceback" not in text
    fake_app.controller.settings.set("hub.endpoint", hub.url)
    hub.faults.fail_next(1, 500)
    started = time.monotonic()
    search(qtbot, view, "smol")
    assert time.monotonic() - started < 5
    assert view.status.is_error and "HTTP 500" in view.status.text.text()
    search(qtbot, view, "smol")
    assert not view.status.is_error and view.results.rowCount() == 1, "works again"
    hub.faults.fail_next(1, 500)
    search(qtbot, view, "qwen")
    assert view.status.is_error and view.results.rowCount() == 0, "no old results under 'qwen'"


def test_pause_resume_and_cancel_leave_no_file(fake_app, hub, qtbot, hearth_home):
    from app.paths import app_paths

    view = open_view(fake_app, hub.url)
    search(qtbot, view, "smol")
    choose(qtbot, view, SMOL_REPO)
    hub.faults.bytes_per_s = 15e6
    view.download_button.click()
    qtbot.wait_until(lambda: bool(view.downloads.rows) and row_of(view).progress.done_bytes > 5e6,
                     timeout=30000)  # fmt: skip
    row = row_of(view)
    assert row.progress.state == DownloadState.DOWNLOADING
    assert " of " in row.detail.text() and "/s" in row.detail.text() and "left" in row.detail.text()
    assert f" of {size_text(row.progress.total_bytes)}" in row.detail.text(), "decimal units"
    row.pause_button.click()
    wait_state(qtbot, view, DownloadState.PAUSED)
    assert row.pause_button.text() == "Resume" and row.detail.text().startswith("Paused at")
    parts = list(app_paths().downloads_dir.glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size > 5e6
    kept = parts[0].stat().st_size
    row.pause_button.click()  # Resume
    qtbot.wait_until(lambda: row.progress.state == DownloadState.DOWNLOADING
                     and row.progress.done_bytes > kept, timeout=30000)  # fmt: skip
    assert any(r["range"] == f"bytes={kept}-" for r in hub.requests("/cdn/"))
    row.cancel_button.click()
    wait_state(qtbot, view, DownloadState.CANCELLED)
    assert list(app_paths().downloads_dir.glob("*")) == []
    assert not list(app_paths().models_dir.rglob("*.gguf"))
    assert row.detail.text().startswith("Cancelled")
    assert row.bar.value() == 0, "the partial file is gone: so is its progress"
    assert row.pause_button.isHidden() and row.reason.isHidden()


def test_a_download_resumes_after_the_app_was_restarted(qtbot, hub):
    from tests.conftest import FakeApp
    from tests.fakes import FakeEngine, FakeLibraryClient

    def start():
        app = FakeApp(qtbot, FakeEngine(ready=False), FakeLibraryClient())
        app.controller.start()
        qtbot.wait_until(lambda: app.window.model_status.state == "loaded", timeout=60000)
        return app

    app = start()
    view = open_view(app, hub.url)
    search(qtbot, view, "smol")
    choose(qtbot, view, SMOL_REPO)
    hub.faults.bytes_per_s = 15e6
    view.download_button.click()
    qtbot.wait_until(lambda: bool(view.downloads.rows) and row_of(view).progress.done_bytes > 5e6,
                     timeout=30000)  # fmt: skip
    app.stop()  # the running download is paused, its part kept
    hub.faults.bytes_per_s = 0
    hub.log.clear()
    app = start()
    try:
        view = open_view(app, hub.url)
        wait_state(qtbot, view, DownloadState.PAUSED, timeout=10000)
        row = row_of(view)
        kept = row.progress.done_bytes
        assert kept > 5e6 and hub.requests() == [], "listed from the disk, nothing sent"
        row.pause_button.click()  # Resume
        wait_state(qtbot, view, DownloadState.DONE)
        assert row.progress.resumed_from == kept
        assert hub.requests("/cdn/")[0]["range"] == f"bytes={kept}-"
        assert row.load_button.isVisible()
    finally:
        app.stop()


def test_a_damaged_download_and_a_full_disk_say_so_in_one_line(fake_app, hub, qtbot,
                                                               monkeypatch):  # fmt: skip

    view = open_view(fake_app, hub.url)
    search(qtbot, view, "tiny")
    choose(qtbot, view, TINY_REPO)
    hub.faults.corrupt.add(hub.repos[TINY_REPO].files["tiny-Q8_0.gguf"].sha256)
    view.download_button.click()
    wait_state(qtbot, view, DownloadState.FAILED)
    row = row_of(view)
    # How far it got (all of it, then the checksum failed), and the whole reason, wrapped.
    total = row.progress.total_bytes
    assert row.progress.done_bytes == total > 0 and row.bar.value() == 1000
    assert row.detail.text() == f"Failed at {size_text(total)} of {size_text(total)}"
    reason = row.reason.text()
    assert "did not match the Hub's checksum" in reason and reason.endswith("Download it again.")
    assert "\n" not in reason and row.reason.wordWrap() and row.reason.isVisible()
    fake_app.controller.hub.dialog.resize(500, 800)  # narrow: the reason wraps, never cut off
    QApplication.processEvents()
    assert row.reason.height() >= row.reason.heightForWidth(row.reason.width())
    assert row.pause_button.text() == "Retry"
    hub.faults.corrupt.clear()
    # A disk with no room left cannot be made here; the free space the engine reads is faked.
    monkeypatch.setattr("engine.storage.free_bytes", lambda _path: 1000)
    view.select_file("tiny-F16.gguf")
    view.download_button.click()
    qtbot.wait_until(lambda: len(view.downloads.rows) == 2
                     and row_of(view).progress.state == DownloadState.FAILED, timeout=15000)  # fmt: skip
    assert "Not enough free disk space to download tiny-F16.gguf" in row_of(view).reason.text()
    assert row_of(view).detail.text().startswith("Failed at 0 B of ")


def test_the_picker_asks_before_removing_and_never_deletes_an_imported_file(
    fake_app, qtbot, tmp_path, default_model_path
):
    import shutil

    from app.paths import app_paths
    from engine.catalog import DownloadRecord, ModelCatalog

    imported = tmp_path / "mine.gguf"
    shutil.copyfile(default_model_path, imported)
    downloaded = app_paths().models_dir / "local" / "x" / "tiny-Q8_0.gguf"
    downloaded.parent.mkdir(parents=True)
    write_tiny_model(downloaded)
    catalog = ModelCatalog(app_paths().models_file)
    catalog.import_model(imported)
    catalog.add_download(DownloadRecord(str(downloaded), (str(downloaded),), "local/x", "r",
                                        downloaded.name, "Q8_0", downloaded.stat().st_size, ()))  # fmt: skip
    fake_app.window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() >= 4, timeout=20000)

    picker.select_path(str(default_model_path))
    assert not picker.remove_button.isEnabled(), "a bundled model cannot be removed"

    picker.select_path(str(imported))
    picker.remove_button.click()
    box = picker.remove_box
    assert box is not None and box.isVisible() and "stays where it is" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(200)
    assert picker.model.row_of(str(imported)) >= 0, "cancel keeps it"

    picker.remove_button.click()
    next(b for b in picker.remove_box.buttons() if b.text() == "Remove from list").click()
    qtbot.wait_until(lambda: picker.model.row_of(str(imported)) < 0, timeout=10000)
    assert imported.is_file(), "an imported file is only forgotten"

    picker.select_path(str(downloaded))
    picker.remove_button.click()
    assert "is deleted from this computer" in picker.remove_box.text()
    next(b for b in picker.remove_box.buttons() if b.text() == "Delete").click()
    qtbot.wait_until(lambda: picker.model.row_of(str(downloaded)) < 0, timeout=10000)
    assert not downloaded.exists()


def test_the_hub_address_and_the_token_in_settings(fake_app, qtbot, keyring_in_memory):
    from app.paths import app_paths
    from engine.hub.token import TOKEN_NAME, load_token

    fake_app.window.settingsRequested.emit()
    dialog = fake_app.controller.settings_dialog
    assert "hub.endpoint" in dialog.editors
    assert dialog.token.placeholderText().startswith("None")
    address = dialog.editors["hub.endpoint"]
    assert address.placeholderText().startswith("https://huggingface.co (the default")
    # The note on model settings shows on their tab only.
    dialog.tabs.setCurrentWidget(dialog.pages["model"])
    assert not dialog.note.isHidden()
    dialog.tabs.setCurrentWidget(dialog.pages["hub"])
    assert dialog.note.isHidden()
    # A wrong address is said when it is entered, and not saved.
    address.setText("huggingface.co")
    address.editingFinished.emit()
    assert dialog.error.isVisible() and "must start with https://" in dialog.error.text()
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.isVisible() and fake_app.controller.settings.get("hub.endpoint") == ""
    address.setText("https://")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.isVisible() and "server's name is missing" in dialog.error.text()
    dialog.editors["hub.endpoint"].setText("http://127.0.0.1:9")
    dialog.token.setText("hf_secret_value")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.wait_until(lambda: load_token() == "hf_secret_value", timeout=20000)
    assert fake_app.controller.settings.get("hub.endpoint") == "http://127.0.0.1:9"
    assert "hf_secret_value" not in app_paths().settings_file.read_text()
    assert any(TOKEN_NAME in key for key in json.dumps(list(keyring_in_memory.passwords)).split())

    fake_app.window.settingsRequested.emit()
    dialog = fake_app.controller.settings_dialog
    qtbot.wait_until(lambda: dialog.forget_token.isEnabled(), timeout=20000)
    assert dialog.token.text() == "" and "Stored" in dialog.token.placeholderText()
    dialog.forget_token.click()
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.wait_until(lambda: load_token() == "", timeout=20000)


@pytest.mark.slow
def test_a_download_joins_the_catalog_and_loads(harness, hub, qtbot, tmp_path):
    app = harness.start()
    view = open_view(app, hub.url, qtbot)
    search(qtbot, view, "smol")
    choose(qtbot, view, SMOL_REPO)
    view.download_button.click()
    wait_state(qtbot, view, DownloadState.DONE, timeout=60000)
    row = row_of(view)
    path = row.progress.path
    assert path.endswith(SMOL_FILE) and "models" in path
    # The file is marked as in your models, now and when the repository is listed again.
    for again in (False, True):
        if again:
            app.controller.hub.choose_repo(SMOL_REPO)
            qtbot.wait_until(lambda: view.files.rowCount() == 0, timeout=20000)
        qtbot.wait_until(lambda: any(r.downloaded for r in view.files.rows()), timeout=10000)
        (mine,) = [r for r in view.files.rows() if r.name == SMOL_FILE]
        assert mine.cells()[-1].startswith("in your models · ")
        view.files_table.selectRow(view.files.row_of(mine.key))
        assert view.download_button.text() == "Downloaded"
        assert not view.download_button.isEnabled()
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    assert view.window().grab().save(str(folder / "get-models-downloaded.png"))
    picker = app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.row_of(path) >= 0, timeout=20000)
    assert picker.model.rows()[picker.model.row_of(path)].owned
    assert picker.selected_path() == path
    row.load_button.click()
    qtbot.wait_until(lambda: app.controller.models.loaded_path == path, timeout=60000)
    assert app.window.model_status.state == "loaded"
    loaded = app.controller.model.loaded_model
    assert loaded is not None and loaded.path == path


def test_pictures_of_the_view(fake_app, hub, qtbot, tmp_path):
    """Results, files with verdicts, downloads in progress, light and dark (HEARTH_SCREENS_DIR
    keeps them), each checked for what it must show."""
    folder = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    view = open_view(fake_app, hub.url)
    dialog = fake_app.controller.hub.dialog
    dialog.resize(1040, 800)
    fake_app.controller.settings.set("appearance.theme", "light")
    search(qtbot, view, "local")
    QApplication.processEvents()
    assert dialog.grab().save(str(folder / "get-models-results.png"))
    choose(qtbot, view, "local/broken-GGUF")
    QApplication.processEvents()
    assert dialog.grab().save(str(folder / "get-models-by-size.png"))
    choose(qtbot, view, TINY_REPO)
    hub.faults.bytes_per_s = 4e6
    view.select_file("tiny-Q4_K_M.gguf")
    view.download_button.click()
    choose(qtbot, view, SMOL_REPO)
    view.download_button.click()
    wait_state(qtbot, view, DownloadState.DOWNLOADING)
    choose(qtbot, view, TINY_REPO)
    view.select_file("tiny-F16.gguf")
    view.download_button.click()  # waits its turn
    qtbot.wait_until(lambda: row_of(view).progress.state == DownloadState.QUEUED, timeout=20000)
    qtbot.wait_until(lambda: row_of(view).progress is not None and
                     list(view.downloads.rows.values())[1].progress.seconds_left is not None,
                     timeout=15000)  # fmt: skip
    for theme in ("light", "dark"):
        fake_app.controller.settings.set("appearance.theme", theme)
        qtbot.wait(300)
        image = dialog.grab().toImage()
        assert image.save(str(folder / f"get-models-{theme}.png"))
        assert image.width() >= 1000
    fake_app.controller.settings.set("appearance.theme", "light")
    states = [row.progress.state for row in view.downloads.rows.values()]
    assert DownloadState.DOWNLOADING in states and DownloadState.QUEUED in states
    for row in view.downloads.rows.values():
        row.cancel_button.click()


def searches(hub):
    return sum(1 for r in hub.requests() if r["path"] == "/api/models")


def test_enter_in_the_search_box_searches_once_and_keeps_the_window_open(fake_app, hub, qtbot):
    from PySide6.QtWidgets import QPushButton

    view = open_view(fake_app, hub.url)
    dialog = fake_app.controller.hub.dialog
    asked = []
    view.searchRequested.connect(asked.append)
    view.query.setText("smol")
    qtbot.keyClick(view.query, Qt.Key.Key_Return)
    qtbot.wait_until(lambda: view.results.rowCount() == 1, timeout=15000)
    qtbot.wait(300)  # a second search would have been sent by now
    assert dialog.isVisible(), "Enter does not close the window"
    assert asked == ["smol"] and searches(hub) == 1, "one search for one Enter"
    # Whichever button the dialog takes as its default, Enter in the box presses none of them.
    for button in dialog.findChildren(QPushButton):
        button.setDefault(True)
        qtbot.keyClick(view.query, Qt.Key.Key_Enter)  # the keypad's Enter alike
        assert dialog.isVisible(), button.text()
        button.setDefault(False)
    assert len(asked) == 1 + len(dialog.findChildren(QPushButton))
    view.results_table.selectRow(0)
    qtbot.keyClick(view.results_table, Qt.Key.Key_Return)
    assert dialog.isVisible()
    qtbot.wait_until(lambda: not view.status.is_busy, timeout=15000)


def test_enter_in_the_picker_loads_the_model_and_nothing_else(fake_app, qtbot, monkeypatch,
                                                              default_model_path):  # fmt: skip
    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: opened.append(args) or ("", ""))  # fmt: skip
    fake_app.window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() >= 2, timeout=20000)
    loads = []
    picker.loadRequested.connect(loads.append)
    picker.select_path(str(default_model_path))
    qtbot.keyClick(picker.table, Qt.Key.Key_Return)
    assert loads == [str(default_model_path)] and opened == [], "no import dialog on Enter"
    assert picker.isVisible()


def test_the_picker_tells_a_downloaded_copy_from_the_bundled_model(fake_app, qtbot,
                                                                   default_model_path):  # fmt: skip
    import shutil

    from app.paths import app_paths
    from engine.catalog import DownloadRecord, ModelCatalog

    copy = app_paths().models_dir / "local" / "smol" / SMOL_FILE
    copy.parent.mkdir(parents=True)
    shutil.copyfile(default_model_path, copy)
    ModelCatalog(app_paths().models_file).add_download(DownloadRecord(
        str(copy), (str(copy),), SMOL_REPO, "r", SMOL_FILE, "Q4_1", copy.stat().st_size, ()))  # fmt: skip
    fake_app.window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.row_of(str(copy)) >= 0, timeout=20000)
    names = {row.path: row.cells()[0].removeprefix("● ") for row in picker.model.rows()}
    assert names[str(default_model_path)] == "SmolLM2-135M-Instruct.Q4_1  (bundled)"
    assert names[str(copy)] == f"SmolLM2-135M-Instruct.Q4_1  (from {SMOL_REPO})"
    assert len(set(names.values())) == len(names), "every row reads differently"
    # The whole name is in the tooltip, however narrow the column.
    index = picker.model.index(picker.model.row_of(str(copy)), 0)
    assert names[str(copy)] in index.data(Qt.ItemDataRole.ToolTipRole)
    # Loaded, the copy is named the same way on the model button.
    picker.loadRequested.emit(str(copy))
    button = fake_app.window.model_status.button
    qtbot.wait_until(lambda: f"(from {SMOL_REPO})" in button.text(), timeout=20000)


def _need(words):
    """'needs ~X (Y with room for the system)' out of a verdict (free memory moves between
    two probes)."""
    return re.search(r"needs ~[^()]+\([^()]+ with room for the system\)", words).group(0)


def test_the_picker_and_get_models_state_the_same_need(fake_app, hub, qtbot, default_model_path):
    fake_app.window.modelsRequested.emit()
    picker = fake_app.controller.models.picker
    qtbot.wait_until(lambda: picker.model.rowCount() >= 2, timeout=20000)
    row = picker.model.rows()[picker.model.row_of(str(default_model_path))]
    assert picker.model.headerData(5, Qt.Orientation.Horizontal) == "Fits here at 2,048 tokens"
    view = open_view(fake_app, hub.url)
    view.window_size.setValue(2048)
    search(qtbot, view, "smol")
    choose(qtbot, view, SMOL_REPO)
    (file_row,) = view.files.rows()
    assert row.fits.startswith("fits in RAM, needs ~") and file_row.verdict.startswith(
        "fits in RAM, needs ~"
    )
    assert _need(row.fits) == _need(file_row.verdict), (row.fits, file_row.verdict)
    assert re.search(r", [\d.]+ GB free$", row.fits)


def test_a_window_capped_at_the_trained_length_says_so_in_the_files(fake_app, hub, qtbot):
    view = open_view(fake_app, hub.url)
    search(qtbot, view, "smol")
    choose(qtbot, view, SMOL_REPO)
    view.window_size.setValue(32768)  # SmolLM2 was trained for 8,192
    qtbot.wait_until(lambda: "capped" in view.files.rows()[0].verdict, timeout=10000)
    assert view.files.rows()[0].verdict.endswith(
        " · window capped at the model's trained 8,192 tokens"
    )
    assert "judged at 32,768 tokens" in view.status.text.text()
    assert view.files_note.text().endswith(" Window capped at the model's trained 8,192 tokens.")


def test_long_names_end_in_an_ellipsis_with_the_whole_name_as_tooltip(qtbot):
    from engine.hub.progress import DownloadProgress
    from ui.download_list import DownloadList
    from ui.get_models_view import GetModelsView

    name = "A-very-long-model-name-that-goes-on-and-on-" * 3 + "Q4_K_M.gguf"
    view = GetModelsView()
    qtbot.add_widget(view)
    view.resize(500, 600)
    view.show()
    view.set_files("someone/" + name, [])
    downloads = DownloadList()
    qtbot.add_widget(downloads)
    downloads.resize(420, 300)
    downloads.show()
    downloads.show_progress(DownloadProgress("d1", "someone/" + name, name,
                                             DownloadState.QUEUED, total_bytes=10**9))  # fmt: skip
    QApplication.processEvents()
    row = downloads.rows["d1"]
    for label, whole in ((view.files_title, f"Files of someone/{name}"), (row.title, name),
                         (row.source, "someone/" + name)):  # fmt: skip
        assert label.text() == whole and label.toolTip() == whole
        shown = drawn_text(label)
        assert shown.endswith("…") and len(shown) < len(whole)


def drawn_text(label):
    """What the label draws (an ElidedLabel keeps the whole text as its `text()`)."""
    from PySide6.QtWidgets import QLabel

    return QLabel.text(label)


def test_sizes_are_decimal_in_the_window_as_in_the_cli():
    from engine.hub.progress import DownloadProgress
    from ui.download_list import progress_words
    from ui.format import size

    assert size(1500) == size_text(1500) == "1.5 kB"
    assert size(1_300_000_000) == "1.3 GB"  # not 1.2 (binary GiB under a GB label)
    paused = DownloadProgress("j", "o/r", "m.gguf", DownloadState.PAUSED, done_bytes=250_000_000,
                              total_bytes=1_000_000_000)  # fmt: skip
    assert progress_words(paused).startswith("Paused at 250.0 MB of 1.0 GB")
