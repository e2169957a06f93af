"""Which model runs, on the fast layer (tests/fakes.py engine): a model asked for twice loads
once, and the notices about a model, an engine or an import go when what they said is past."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.errors import HearthError

NOT_ANSWERING = ("Nothing answers at http://127.0.0.1:8186 (connection refused). Check that the "
                 "server is running and that the address and port are right.")  # fmt: skip


def _count_loads(fake_app, monkeypatch) -> list[str]:
    """The paths the engine is asked to load, in order, from now on."""
    loads: list[str] = []
    engine = fake_app.engine
    load = engine.load

    def counted(settings, *args, **kwargs):
        loads.append(Path(settings.model_path).name)
        return load(settings, *args, **kwargs)

    monkeypatch.setattr(engine, "load", counted)
    return loads


def _remote_info():
    from engine.remote import RemoteInfo

    return RemoteInfo(url="http://127.0.0.1:8186", host="127.0.0.1:8186", model="qwen",
                      models=("qwen",), server="llama.cpp", n_ctx=4096,
                      n_ctx_source="the server's model list", token_counts_exact=True,
                      tokenizer="the server's", connect_seconds=0.1)  # fmt: skip


def test_a_model_loaded_or_being_loaded_is_not_loaded_again(
    fake_app, qtbot, monkeypatch, default_model_path, gemma_model_path
):
    models = fake_app.controller.models
    loads = _count_loads(fake_app, monkeypatch)
    small, gemma = str(default_model_path), str(gemma_model_path)
    models.load(small)  # loaded already, with these settings
    models.load(gemma)  # a double-click's second request comes while the first waits
    models.load(gemma)
    models.load(small)  # then back: the queue ends with the first model, loaded once more
    qtbot.wait_until(lambda: fake_app.engine.loaded.path == small and len(loads) >= 2,
                     timeout=10000)  # fmt: skip
    assert loads == [Path(gemma).name, Path(small).name]
    # New settings ("Reload now"), or a load after an unload, do load it again.
    fake_app.settings.set("model.context_size", 4096)
    models.load(small)
    qtbot.wait_until(lambda: len(loads) == 3, timeout=10000)
    fake_app.controller.model.unload()
    models.load(small)
    qtbot.wait_until(lambda: len(loads) == 4, timeout=10000)
    assert fake_app.engine.loaded.report.n_ctx == 4096


def test_a_server_chosen_twice_before_it_answers_is_asked_once(fake_app, qtbot, monkeypatch):
    from engine.remote import RemoteConnection

    def connect(*_args):
        raise HearthError(NOT_ANSWERING)

    monkeypatch.setattr(fake_app.engine, "connect", connect, raising=False)
    model = fake_app.controller.model
    asked: list[object] = []
    model.connectStarted.connect(asked.append)
    server = RemoteConnection("http://127.0.0.1:8186")
    model.use_remote(server)
    model.use_remote(server)  # a second click while the first waits
    with qtbot.wait_signal(model.connectFailed, timeout=10000):
        pass
    qtbot.wait(100)
    assert asked == [server]
    model.use_remote(server)  # chosen again later: a retry, asked again
    qtbot.wait_until(lambda: len(asked) == 2, timeout=10000)


def test_a_reply_s_failure_goes_once_another_model_or_server_answers(
    fake_app, qtbot, gemma_model_path
):
    window, controller = fake_app.window, fake_app.controller
    for answered in ("a local model", "a server"):
        fake_app.engine.plan_error = HearthError(NOT_ANSWERING)
        fake_app.send("Hello?")
        qtbot.wait_until(lambda: "Not sent: Nothing answers" in window.notice.text(),
                         timeout=10000)  # fmt: skip
        window.notice.show_message("broken.pdf could not be read.", "error")  # not about models
        fake_app.engine.plan_error = None
        if answered == "a local model":
            controller.models.load(str(gemma_model_path))
        else:
            controller.model.connected.emit(_remote_info())
        qtbot.wait_until(lambda: "Not sent" not in window.notice.text(), timeout=10000)
        assert "broken.pdf could not be read." in window.notice.text(), answered


def test_a_local_model_that_fails_to_load_while_a_server_answers_says_so(fake_app, qtbot, tmp_path):
    window, controller = fake_app.window, fake_app.controller
    controller.model.remote_info = _remote_info()  # chats run on the server
    controller.model.connected.emit(controller.model.remote_info)
    broken = tmp_path / "broken.gguf"
    broken.write_text("not a model")
    controller.models.load(str(broken))
    qtbot.wait_until(lambda: window.model_status.state == "loaded" and "Could not load broken.gguf"
                     in window.notice.text(), timeout=10000)  # fmt: skip
    assert window.model_status.button.text().startswith("qwen on 127.0.0.1:8186")


def test_a_failed_import_is_replaced_by_the_next_import_of_that_file(
    fake_app, qtbot, tmp_path, default_model_path
):
    window, models = fake_app.window, fake_app.controller.models
    text, empty = tmp_path / "text.gguf", tmp_path / "empty.gguf"
    text.write_text("hello")
    empty.write_bytes(b"")
    models.import_model(str(text))
    models.import_model(str(empty))
    qtbot.wait_until(lambda: "empty.gguf" in window.notice.text(), timeout=10000)
    assert "text.gguf is not a GGUF model file" in window.notice.text()
    shutil.copy(default_model_path, text)  # the person puts the right file there
    models.import_model(str(text))
    qtbot.wait_until(lambda: "Added" in window.notice.text(), timeout=20000)
    assert "text.gguf" not in window.notice.text()
    assert "empty.gguf" in window.notice.text()  # still true
