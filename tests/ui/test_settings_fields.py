"""The settings dialog's fields keep what a person types and refuse a wrong value in words: a minus
sign, a number out of a field's bounds or a fraction in a whole-number field is never turned into
another number; CPU threads run from auto to the CPUs Hearth may use; a value from the settings
file out of bounds is shown clamped and said; a draft model that is not a GGUF file is refused
beside its field when the settings are saved, with nothing typed lost."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QDialogButtonBox, QLineEdit

from app.settings import Settings
from engine.settings_schema import OPTIONS, SCHEMA_VERSION, defaults
from ui.settings_dialog import SettingsDialog

NUMBER_KEYS = [o.key for o in OPTIONS if not o.hidden and o.kind in ("int", "float", "gpu_layers")]


@pytest.fixture
def three_cpus(monkeypatch):
    """This process may run on three CPUs (os.sched_getaffinity), whatever the machine has."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    return 3


def open_dialog(qtbot, values=None) -> tuple[SettingsDialog, list]:
    """The dialog shown over `values` (the defaults for the rest), and the list its saved
    changes are added to."""
    dialog = SettingsDialog({**defaults(), **(values or {})})
    qtbot.add_widget(dialog)
    saved: list = []
    dialog.applied.connect(saved.append)
    dialog.show()
    qtbot.wait_exposed(dialog)
    dialog.activateWindow()
    qtbot.wait_until(dialog.isActiveWindow, timeout=5000)  # clicks move the focus, as they do
    return dialog, saved


def type_into(qtbot, dialog: SettingsDialog, key: str, text: str) -> None:
    """Bring the field's tab up, clear it and type `text`."""
    dialog.tabs.setCurrentWidget(dialog.pages[dialog.option(key).group])
    editor = dialog.editors[key]
    assert isinstance(editor, (QLineEdit, QAbstractSpinBox))
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClicks(editor, text)


def click_save(qtbot, dialog: SettingsDialog) -> None:
    """Click Save with the mouse: the field being edited loses the focus first, as it does for
    a person."""
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save),
                     Qt.MouseButton.LeftButton)  # fmt: skip


def assert_refused_at(dialog: SettingsDialog, saved: list, key: str) -> None:
    """Nothing was saved, the dialog is open on the field's tab, and the field has the focus."""
    assert saved == []
    assert dialog.isVisible() and dialog.error.isVisible()
    assert dialog.tabs.currentWidget() is dialog.pages[dialog.option(key).group]
    assert dialog.editors[key].hasFocus()


@pytest.mark.parametrize("key", NUMBER_KEYS)
def test_a_minus_sign_typed_into_a_number_field_is_kept_and_refused_in_words(qtbot, key):
    typed = "-0.5" if dialog_kind(key) == "float" else "-7"
    dialog, saved = open_dialog(qtbot)
    type_into(qtbot, dialog, key, typed)
    click_save(qtbot, dialog)
    assert_refused_at(dialog, saved, key)
    assert dialog.editors[key].text() == typed  # as typed: not 7, not put back
    assert dialog.error.text().startswith(f"{dialog.option(key).label} must be")


@pytest.mark.parametrize(
    ("key", "typed", "said"),
    [
        ("model.context_size", "1310720", "must be between 512 and 131,072."),
        ("model.context_size", "256", "must be between 512 and 131,072."),
        ("server.port", "655350", "must be between 1 and 65,535."),
        ("sampling.seed", "21474836470", "must be -1 (random) or between 0 and 2,147,483,647."),
        ("chat.sources_k", "4.5", "must be a whole number."),
        ("sampling.max_tokens", "0", "must be between 1 and 32,768."),
        ("sampling.repeat_penalty", "3", "must be between 0.5 and 2."),
    ],
)
def test_a_number_out_of_a_field_s_bounds_is_kept_as_typed_and_refused(qtbot, key, typed, said):
    dialog, saved = open_dialog(qtbot)
    type_into(qtbot, dialog, key, typed)
    click_save(qtbot, dialog)
    assert_refused_at(dialog, saved, key)
    assert dialog.editors[key].text() == typed
    assert dialog.error.text() == f"{dialog.option(key).label} {said}"


def test_cpu_threads_run_from_auto_to_the_cpus_this_process_may_use(qtbot, three_cpus):
    dialog, saved = open_dialog(qtbot)
    threads = dialog.editors["model.threads"]
    assert threads.text() == "auto"
    threads.setFocus()
    for _ in range(5):
        qtbot.keyClick(threads, Qt.Key.Key_Up)
    assert threads.text() == "3"  # and no further
    qtbot.keyClick(threads, Qt.Key.Key_PageDown)
    assert threads.text() == "auto"
    type_into(qtbot, dialog, "model.threads", "4")
    click_save(qtbot, dialog)
    assert_refused_at(dialog, saved, "model.threads")
    assert dialog.error.text() == (
        "CPU threads must be 0 (auto) or between 1 and 3. Hearth may use 3 CPUs on this computer."
    )
    type_into(qtbot, dialog, "model.threads", "-4")
    qtbot.keyClick(threads, Qt.Key.Key_Return)  # Enter saves, as Save does
    assert_refused_at(dialog, saved, "model.threads")
    assert threads.text() == "-4"
    type_into(qtbot, dialog, "model.threads", "auto")
    qtbot.keyClick(threads, Qt.Key.Key_Return)
    assert saved == [{}] and not dialog.isVisible()


def test_without_an_affinity_the_threads_go_up_to_the_cpu_count(qtbot, monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # as on Windows and macOS
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    dialog, _saved = open_dialog(qtbot)
    threads = dialog.editors["model.threads"]
    threads.setFocus()
    qtbot.keyClick(threads, Qt.Key.Key_PageUp)
    assert threads.text() == "5"


def test_settings_file_values_out_of_the_fields_bounds_are_shown_clamped_and_said(
    qtbot, three_cpus, tmp_path
):
    """A file written on a bigger computer (64 threads), or by hand, opens the dialog: each
    number is shown as the nearest the field takes, said in words, and kept when saved."""
    path = tmp_path / "settings.json"
    values = {"model.threads": 64, "model.gpu_layers": 10**12, "sampling.min_p": 0.025}
    path.write_text(json.dumps({"version": SCHEMA_VERSION, "values": values}))
    settings = Settings(path)
    assert settings.problems == []  # the schema takes them all
    dialog, saved = open_dialog(qtbot, settings.values())
    assert dialog.editors["model.threads"].text() == "3"
    assert dialog.editors["model.gpu_layers"].text() == "999"
    assert dialog.editors["sampling.min_p"].text() == "0.025"  # not rounded to 0.03
    assert dialog.error.isVisible()
    assert dialog.error.text() == (
        "CPU threads was 64 in the settings, more than the 3 CPUs Hearth may use on this "
        "computer: 3 is shown, and Save keeps it. GPU layers was 1,000,000,000,000 in the "
        "settings, outside 0 to 999: 999 is shown, and Save keeps it."
    )
    click_save(qtbot, dialog)
    assert saved == [{"model.threads": 3, "model.gpu_layers": 999}]


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda folder: folder / "gone.gguf",
         "Draft model: Model file not found: {path}. Check the path, or leave the field empty "
         "for no draft model."),
        (lambda folder: folder,
         "Draft model: {name} is a folder, not a model file. Choose a .gguf file in it. Or leave "
         "the field empty for no draft model."),
        (lambda folder: _write(folder / "notes.txt", b"Boats leave before dawn."),
         "Draft model: notes.txt is not a GGUF model file. Hearth runs models in the GGUF format "
         "(files ending in .gguf). Or leave the field empty for no draft model."),
        (lambda folder: _write(folder / "page.gguf", b"<!doctype html><title>Sign in</title>"),
         "Draft model: page.gguf is not a GGUF model file. Its name ends in .gguf, but what is "
         "inside is something else: a download may have saved an error page. Download it "
         "again. Or leave the field empty for no draft model."),
        (lambda folder: _write(folder / "empty.gguf", b""),
         "Draft model: empty.gguf is empty: it holds no model. Download it again, or choose "
         "another .gguf file. Or leave the field empty for no draft model."),
    ],
    ids=["missing", "folder", "text", "web-page", "empty"],
)  # fmt: skip
def test_a_draft_model_that_is_not_a_gguf_file_is_refused_when_saved(qtbot, tmp_path, make,
                                                                      said):  # fmt: skip
    path = make(tmp_path)
    dialog, saved = open_dialog(qtbot)
    type_into(qtbot, dialog, "sampling.temperature", "0.3")
    type_into(qtbot, dialog, "model.draft_model", str(path))
    click_save(qtbot, dialog)
    assert_refused_at(dialog, saved, "model.draft_model")
    assert dialog.error.text() == said.format(path=path, name=path.name)
    # Nothing typed is lost: the path and the other field are as they were typed.
    assert dialog.editors["model.draft_model"].text() == str(path)
    assert dialog.editors["sampling.temperature"].text() == "0.3"


def test_a_gguf_draft_model_auto_or_none_is_saved(qtbot, default_model_path):
    for draft in (str(default_model_path), "auto", ""):
        dialog, saved = open_dialog(qtbot, {"model.draft_model": "previous.gguf"})
        type_into(qtbot, dialog, "model.draft_model", f" {draft} ")
        click_save(qtbot, dialog)
        assert saved == [{"model.draft_model": draft}] and not dialog.isVisible()


def test_a_draft_model_left_as_it_was_is_not_read_again(qtbot, tmp_path):
    """A draft model that went missing since it was chosen does not stop another change
    from being saved (the load says it is not used)."""
    dialog, saved = open_dialog(qtbot, {"model.draft_model": str(tmp_path / "gone.gguf")})
    type_into(qtbot, dialog, "sampling.temperature", "0.3")
    click_save(qtbot, dialog)
    assert saved == [{"sampling.temperature": 0.3}]


def dialog_kind(key: str) -> str:
    return next(option.kind for option in OPTIONS if option.key == key)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
