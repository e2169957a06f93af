"""The download queue (order, pause, resume, cancel), the keyring token and catalog removal."""

from __future__ import annotations

import shutil
import threading
import time

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


def test_an_unfinished_download_is_listed_paused_and_resumes_when_asked(
    hub, connection, store, catalog
):
    smol = listing.list_models(connection, SMOL_REPO).models[0]
    partial = store.part_path(smol, 0)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(hub.repos[SMOL_REPO].files[smol.name].source.read_bytes()[: 4 << 20])
    store.save_record(smol, {})
    hub.log.clear()
    recorder = Recorder()
    asked = []

    def hub_now():  # read when the job starts, on the queue's thread
        asked.append(threading.current_thread().name)
        return connection

    queue = DownloadQueue(hub_now, store, catalog, recorder)
    try:
        [(model, done)] = store.unfinished()
        job = queue.restore(DownloadRequest(model), done)
        assert queue.restore(DownloadRequest(model), done) == job
        assert [(e.state, e.done_bytes) for e in recorder.events] == [
            (DownloadState.PAUSED, 4 << 20)
        ]
        assert hub.requests() == [] and asked == [], "nothing is sent until resumed"
        assert queue.add(DownloadRequest(smol)) == job, "downloading it again resumes the job"
        assert queue.wait(60)
    finally:
        queue.close()
    assert asked == ["hub-downloads"]
    assert queue.jobs()[-1].state == DownloadState.DONE
    assert hub.requests("/cdn/")[0]["range"] == f"bytes={4 << 20}-"


def test_a_hub_address_that_is_refused_fails_the_job_not_the_queue(store, catalog, connection):
    smol = listing.list_models(connection, SMOL_REPO).models[0]
    recorder = Recorder()

    def bad_address():
        raise HubError("'ftp://x' is not a web address for the Hub.")

    def slow_listener(progress):
        if progress.state == DownloadState.QUEUED:
            time.sleep(0.3)  # the job must not start (and fail) before its QUEUED record is out
        recorder(progress)

    queue = DownloadQueue(bad_address, store, catalog, slow_listener)
    try:
        job = queue.add(DownloadRequest(smol))
        recorder.wait_for(lambda e: e.state == DownloadState.FAILED)
        assert [e.state for e in recorder.events] == [DownloadState.QUEUED, DownloadState.FAILED]
        assert "not a web address" in recorder.events[-1].message
        queue.resume(job)  # tried again: queued, then failed again, in that order
        recorder.wait_for(lambda e: len(recorder.events) == 4)
        assert [e.state for e in recorder.events[2:]] == [
            DownloadState.QUEUED,
            DownloadState.FAILED,
        ]
        assert queue.jobs()[-1].state == DownloadState.FAILED
    finally:
        queue.close()


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
