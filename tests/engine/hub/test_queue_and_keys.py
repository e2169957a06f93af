"""The download queue (order, pause, resume, cancel), the keyring token and catalog removal."""

from __future__ import annotations

import shutil
import threading

import pytest

from engine.errors import HearthError
from engine.hub import listing
from engine.hub.connection import HubError
from engine.hub.download import DownloadRequest
from engine.hub.progress import DownloadState
from engine.hub.queue import DownloadQueue
from tests.engine.hub.conftest import SMOL_REPO


class Recorder:
    def __init__(self):
        self.events = []
        self.changed = threading.Condition()

    def __call__(self, progress):
        with self.changed:
            self.events.append(progress)
            self.changed.notify_all()

    def wait_for(self, check, timeout=30):
        with self.changed:
            assert self.changed.wait_for(lambda: any(check(e) for e in self.events), timeout)


def test_queue_runs_jobs_in_order_with_pause_resume_and_cancel(hub, connection, store, catalog):
    smol = listing.list_models(connection, SMOL_REPO).models[0]
    tiny = listing.list_models(connection, "local/tiny-GGUF")
    recorder = Recorder()
    queue = DownloadQueue(connection, store, catalog, recorder)
    hub.faults.bytes_per_s = 30e6
    try:
        first = queue.add(DownloadRequest(smol))
        second = queue.add(DownloadRequest(tiny.find("Q8_0")))
        third = queue.add(DownloadRequest(tiny.find("Q4_K_M")))
        assert queue.add(DownloadRequest(smol)) == first, "a model already queued keeps its job"
        queue.cancel(third)  # waiting: removed at once
        recorder.wait_for(lambda e: e.job_id == first and e.done_bytes > 5e6)
        queue.pause(first)
        recorder.wait_for(lambda e: e.job_id == first and e.state == DownloadState.PAUSED)
        recorder.wait_for(lambda e: e.job_id == second and e.state == DownloadState.DONE)
        hub.faults.bytes_per_s = 0
        queue.resume(first)
        assert queue.wait(60)
    finally:
        queue.close()
    states = {job.job_id: job.state for job in queue.jobs()}
    assert states == {first: DownloadState.DONE, second: DownloadState.DONE,
                      third: DownloadState.CANCELLED}  # fmt: skip
    order = [e.job_id for e in recorder.events if e.state == DownloadState.DOWNLOADING]
    assert order.index(second) > order.index(first), "the first job started first"
    done = next(e for e in recorder.events if e.job_id == first and e.state == DownloadState.DONE)
    assert done.resumed_from > 5e6
    assert {r.file for r in catalog.downloads()} == {smol.name, "tiny-Q8_0.gguf"}


def test_cancelling_the_running_job_deletes_its_part(hub, connection, store, catalog):
    smol = listing.list_models(connection, SMOL_REPO).models[0]
    recorder = Recorder()
    queue = DownloadQueue(connection, store, catalog, recorder)
    hub.faults.bytes_per_s = 30e6
    try:
        job = queue.add(DownloadRequest(smol))
        recorder.wait_for(lambda e: e.done_bytes > 3e6)
        queue.cancel(job)
        recorder.wait_for(lambda e: e.state == DownloadState.CANCELLED)
    finally:
        queue.close()
    assert not list(store.cache_dir.glob("*.part")) and not store.final_path(smol, 0).exists()
    assert not catalog.downloads()


class MemoryKeyring:
    """Stands in for the desktop's keyring service, which this test machine does not run (a
    plain object: a KeyringBackend subclass would register itself with keyring for good)."""

    def __init__(self):
        self.secrets = {}

    def get_password(self, service, username):
        return self.secrets.get((service, username))

    def set_password(self, service, username, password):
        self.secrets[(service, username)] = password

    def delete_password(self, service, username):
        self.secrets.pop((service, username), None)


def test_token_lives_in_the_keyring_not_the_settings(monkeypatch, hearth_home):
    import keyring

    from engine.hub.token import load_token, save_token

    memory = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: memory)
    monkeypatch.setattr(keyring, "get_password", memory.get_password)
    monkeypatch.setattr(keyring, "set_password", memory.set_password)
    monkeypatch.setattr(keyring, "delete_password", memory.delete_password)
    save_token(" hf_secret \n")
    assert load_token() == "hf_secret"
    assert not any("hf_secret" in p.read_text() for p in hearth_home.rglob("*") if p.is_file())
    save_token("")
    assert load_token() == ""


def test_without_a_keyring_the_token_says_so():
    import keyring
    from keyring.backends import fail

    from engine.hub.token import load_token, save_token

    assert isinstance(keyring.get_keyring(), fail.Keyring), "this machine has no keyring service"
    with pytest.raises(HubError, match="no keyring to keep the access token"):
        save_token("hf_x")
    assert load_token() == ""


def test_remove_deletes_downloads_and_only_forgets_imports(
    hub, connection, store, catalog, tmp_path, default_model_path
):
    from engine.hub.download import download_model

    model = listing.list_models(connection, "local/tiny-split-GGUF").models[0]
    path = list(download_model(connection, DownloadRequest(model), store, catalog))[-1].path
    imported = tmp_path / "mine.gguf"
    shutil.copyfile(default_model_path, imported)
    catalog.import_model(imported)
    assert catalog.remove(path) == "deleted"
    assert not any(store.final_path(model, i).exists() for i in range(3))
    assert catalog.remove(imported) == "forgotten" and imported.exists()
    assert not catalog.downloads() and not catalog.imported_paths()
    with pytest.raises(HearthError, match="comes with Hearth"):
        catalog.remove(default_model_path)
    with pytest.raises(HearthError, match="not in the model list"):
        catalog.remove(tmp_path / "other.gguf")
