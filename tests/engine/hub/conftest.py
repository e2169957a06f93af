"""A local Hub on 127.0.0.1 serving real GGUF files: the bundled SmolLM2, a tiny test model under
several quantization names, the tiny model split in three, a file that is not GGUF, a gated copy."""

from __future__ import annotations

import pytest

from engine.catalog import ModelCatalog
from engine.hub.connection import HubConnection
from engine.hub.store import DownloadStore
from tests.engine.context.tiny_gguf import write_tiny_model
from tests.hub_server import HubServer

SMOL_REPO = "local/SmolLM2-135M-Instruct.Q4_1"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOKEN = "hf_test_token"


@pytest.fixture(scope="session")
def hub_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub-files")
    tiny = write_tiny_model(folder / "tiny.gguf")
    (folder / "split").mkdir()
    first = write_tiny_model(folder / "split" / "tiny.gguf", split_max_tensors=8)
    broken = folder / "broken.gguf"
    broken.write_bytes(b"not a model at all" * 1000)
    return {"tiny": tiny, "split": sorted(first.parent.glob("tiny-*.gguf")), "broken": broken}


@pytest.fixture(scope="session")
def hub_server(hub_files, default_model_path):
    server = HubServer(tokens=(TOKEN,))
    server.add_repo(SMOL_REPO, {SMOL_FILE: default_model_path}, downloads=5000, likes=50)
    tiny = hub_files["tiny"]
    server.add_repo("local/tiny-GGUF", {
        "tiny-Q8_0.gguf": tiny, "tiny-Q4_K_M.gguf": tiny, "tiny-F16.gguf": tiny,
        "mmproj-tiny-F16.gguf": tiny, "README.md": hub_files["broken"],
    }, license="mit")  # fmt: skip
    server.add_repo("local/tiny-split-GGUF",
                    {f"Q4_K_M/{p.name.replace('tiny-', 'tiny-Q4_K_M-')}": p
                     for p in hub_files["split"]})  # fmt: skip
    server.add_repo("local/broken-GGUF", {"broken-Q4_0.gguf": hub_files["broken"]})
    server.add_repo("local/gated-GGUF", {"gated-Q4_K_M.gguf": tiny}, gated=True, license="other")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub(hub_server, monkeypatch):
    """The local Hub with no faults, an empty request log, and HF_ENDPOINT pointing at it."""
    hub_server.faults.errors.clear()
    hub_server.faults.bytes_per_s = 0
    hub_server.faults.cut_after = 0
    hub_server.faults.corrupt.clear()
    hub_server.log.clear()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    return hub_server


@pytest.fixture
def connection(hub):
    return HubConnection(hub.url)


@pytest.fixture
def store(tmp_path):
    return DownloadStore(tmp_path / "models", tmp_path / "cache")


@pytest.fixture
def catalog(tmp_path):
    return ModelCatalog(tmp_path / "models.json")


@pytest.fixture
def unused_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
