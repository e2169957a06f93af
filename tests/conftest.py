"""Shared fixtures: headless Qt, offline model hubs, a private data folder per test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pytest  # noqa: E402

from app import qt_compat  # noqa: E402

# As every Qt entry point does before its first signal (see app/qt_compat.py).
qt_compat.apply()

# Session fixtures that hold a loaded embedding model. They are set up before any test's own
# fixtures (so `fast_tests_load_no_model` below cannot catch them): a test that uses one is slow.
REAL_MODEL_FIXTURES = frozenset(
    {"embedder", "guide_library", "open_library", "shared_embedder", "one_embedding_model"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def language_model_copies(tmp_path_factory):
    """One folder for the unpacked language model (~68 MB) that every test's home shares."""
    return tmp_path_factory.mktemp("language-model")


@pytest.fixture(autouse=True)
def hearth_home(tmp_path_factory, monkeypatch, language_model_copies):
    """Every test gets its own user folder (beside its `tmp_path`, which stays empty), so
    nothing touches the real one. It is empty but for the cache's language model, which is
    shared (a link): unpacking it takes ~0.5 s."""
    home = tmp_path_factory.mktemp("hearth-home")
    (home / "cache").mkdir()
    (home / "cache" / "language-model").symlink_to(language_model_copies, target_is_directory=True)
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def desk_sized_screen(monkeypatch):
    """The offscreen platform's screen is 800 × 600, smaller than any desk's: windows are laid
    out as on a 1920 px wide screen (tests of smaller screens set their own)."""
    from PySide6.QtCore import QRect

    room = QRect(0, 0, 1920, 1040)
    monkeypatch.setattr("ui.main_window.MainWindow._screen_room", lambda _self: room)


@pytest.fixture(autouse=True)
def fast_tests_load_no_model(request, monkeypatch):
    """Keep the fast layer fast: a test not marked `slow` that loads the chat model or the
    embedding model, or starts the library process (which loads it), fails and says so."""
    if request.node.get_closest_marker("slow"):
        return

    def refuse(*_args, **_kwargs):
        raise AssertionError("This test loads a real model: mark it @pytest.mark.slow.")

    monkeypatch.setattr("engine.session._create_llama", refuse)
    monkeypatch.setattr("engine.library.embed.Embedder._load", refuse)
    monkeypatch.setattr("app.library.client._Child.start", refuse)


@pytest.fixture(scope="session")
def default_model_path():
    from engine.bundled import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def gemma_model_path():
    from engine.bundled import gemma_model_path

    return gemma_model_path()


@pytest.fixture(scope="session")
def embedding_model_dir():
    from engine.bundled import embedding_model_dir

    return embedding_model_dir()


class FakeApp:
    """The whole window and its controllers, with a chat engine that needs no model and a library
    client that needs no process (tests/fakes.py): the fast layer's way to drive the app."""

    def __init__(self, qtbot, engine, libraries) -> None:
        from app.controller import AppController
        from app.paths import app_paths
        from app.settings import Settings
        from ui.main_window import MainWindow

        AppController.warm_up_delay_ms = None
        self.qtbot = qtbot
        self.engine = engine
        self.libraries = libraries
        paths = app_paths().ensure()
        self.settings = Settings(paths.settings_file)
        self.settings.update({"sampling.max_tokens": 24, "model.context_size": 2048})
        self.window = MainWindow()
        qtbot.add_widget(self.window)
        self.window.show()
        self.controller = AppController(self.window, self.settings, paths, libraries=libraries,
                                        engine=engine)  # fmt: skip

    def start(self) -> FakeApp:
        self.controller.start()
        # A cold start imports llama.cpp and reads the GGUF header: seconds on a busy machine.
        self.qtbot.wait_until(lambda: self.window.model_status.state == "loaded", timeout=60000)
        return self

    def send(self, text: str) -> None:
        self.window.composer.set_text(text)
        self.window.composer._on_submit()

    def wait_indexed(self, path: object, timeout: int = 10000) -> None:
        """Wait until `path` shows as indexed and the chat's library counts it: the panel's row
        comes from a progress event, the count from the listing that ends indexing, and only
        then does a question search the library (DocumentController.library_for)."""
        panel, documents = self.window.documents, self.controller.documents

        def searchable() -> bool:
            conversation = self.controller.current.conversation
            return (panel.status_of(str(path)) == "indexed" and conversation is not None
                    and documents.library_for(conversation) != "")  # fmt: skip

        self.qtbot.wait_until(searchable, timeout=timeout)

    def wait_reply(self) -> None:
        self.qtbot.wait_until(lambda: self.controller.chats.reply is None, timeout=10000)

    @property
    def conversation(self):
        return self.controller.current.conversation

    def stored_messages(self):
        return self.controller.store.messages(self.conversation.id)

    def stop(self) -> None:
        self.window.close()
        self.controller.shutdown()


@pytest.fixture
def fake_app(qtbot):
    """A started window on fakes, the bundled model's file named as the model (never loaded)."""
    from tests.fakes import FakeEngine, FakeLibraryClient

    app = FakeApp(qtbot, FakeEngine(ready=False, reply="Blue is a colour."), FakeLibraryClient())
    yield app.start()
    app.stop()
