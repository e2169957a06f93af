"""Downloads against the local Hub: verified, resumable, split, faults, and the model answering."""

from __future__ import annotations

import hashlib
import time

import pytest

from engine.hub import download as download_module
from engine.hub import listing
from engine.hub.download import DownloadRequest, download_model
from engine.hub.progress import DownloadControl, DownloadState
from tests.engine.hub.conftest import SMOL_REPO


def run(connection, model, store, catalog, control=None):
    return list(download_model(connection, DownloadRequest(model), store, catalog, control, "j1"))


def smol(connection):
    return listing.list_models(connection, SMOL_REPO).models[0]


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_is_verified_and_joins_the_catalog(connection, store, catalog):
    model = smol(connection)
    events = run(connection, model, store, catalog)
    states = [e.state for e in events]
    assert states[0] == DownloadState.CHECKING and states[-1] == DownloadState.DONE
    assert DownloadState.VERIFYING in states
    final = events[-1]
    assert final.done_bytes == final.total_bytes == model.size
    path = store.final_path(model, 0)
    assert final.path == str(path) and sha256(path) == model.first.sha256
    assert not list(store.cache_dir.glob("*")), "the part and its record are gone"
    entry = next(e for e in catalog.entries() if e.download)
    assert entry.info is not None and entry.info.architecture == "llama"
    assert entry.download is not None and entry.download.repo_id == SMOL_REPO
    assert entry.download.sha256 == (model.first.sha256,)
    again = run(connection, model, store, catalog)
    assert again[-1].state == DownloadState.DONE and "Already downloaded" in again[-1].message


def test_a_dropped_connection_resumes_from_where_it_stopped(hub, connection, store, catalog):
    model = smol(connection)
    hub.faults.cut_after = model.size // 3
    events = run(connection, model, store, catalog)
    assert events[-1].state == DownloadState.DONE
    ranges = [r["range"] for r in hub.requests("/cdn/")]
    assert ranges[0] == "" and ranges[1].startswith("bytes=")
    assert int(ranges[1][6:-1]) >= model.size // 3 - (1 << 20)
    assert sha256(store.final_path(model, 0)) == model.first.sha256


def test_pause_keeps_the_part_and_a_later_run_resumes_it(hub, connection, store, catalog):
    model = smol(connection)
    hub.faults.bytes_per_s = 40e6
    control = DownloadControl()
    events = []
    for event in download_model(connection, DownloadRequest(model), store, catalog, control):
        events.append(event)
        if event.done_bytes > 10e6:
            control.pause()
    assert events[-1].state == DownloadState.PAUSED
    kept = store.part_path(model, 0).stat().st_size
    assert 10e6 < kept < model.size
    assert [m.name for m, done in store.unfinished()] == [model.name]
    hub.faults.bytes_per_s = 0
    resumed = run(connection, model, store, catalog)
    assert resumed[-1].state == DownloadState.DONE and resumed[-1].resumed_from == kept
    assert hub.requests("/cdn/")[-1]["range"] == f"bytes={kept}-"
    assert hub.requests("/cdn/")[-1]["if_range"] == f'"{model.first.sha256}"'
    assert sha256(store.final_path(model, 0)) == model.first.sha256


def test_progress_reports_speed_and_time_left(hub, connection, store, catalog):
    model = smol(connection)
    hub.faults.bytes_per_s = 100e6
    moving = [e for e in run(connection, model, store, catalog) if e.bytes_per_s > 0]
    assert len(moving) >= 3
    assert all(20e6 < e.bytes_per_s < 300e6 for e in moving[1:])
    assert all(e.seconds_left is not None and e.seconds_left < 10 for e in moving)
    assert [e.done_bytes for e in moving] == sorted(e.done_bytes for e in moving)


def test_checksum_mismatch_deletes_the_part_and_says_so(hub, connection, store, catalog):
    model = smol(connection)
    hub.faults.corrupt.add(model.first.sha256)
    final = run(connection, model, store, catalog)[-1]
    assert final.state == DownloadState.FAILED
    assert (
        "did not match the Hub's checksum (SHA-256)" in final.message and "deleted" in final.message
    )
    assert not store.part_path(model, 0).exists() and not store.final_path(model, 0).exists()
    assert not store.record_path(model).exists() and not catalog.downloads()


def test_server_errors_are_retried_until_it_recovers(hub, connection, store, catalog):
    model = smol(connection)
    hub.faults.fail_next(2, 500, "/cdn/")
    events = run(connection, model, store, catalog)
    assert events[-1].state == DownloadState.DONE
    assert len(hub.requests("/cdn/")) == 3


def test_a_server_that_stays_down_fails_with_one_line_and_keeps_the_part(
    hub, connection, store, catalog, monkeypatch
):
    monkeypatch.setattr(download_module, "RETRIES", 0)
    model = smol(connection)
    hub.faults.cut_after = 5 << 20
    cut = run(connection, model, store, catalog)[-1]
    assert cut.state == DownloadState.FAILED and "connection closed" in cut.message
    assert cut.done_bytes == 5 << 20, "a failure says how far the download got"
    monkeypatch.setattr(download_module, "RETRIES", 1)
    hub.faults.fail_next(5, 503, "/cdn/")
    final = run(connection, model, store, catalog)[-1]
    assert final.state == DownloadState.FAILED
    assert "HTTP 503" in final.message and "\n" not in final.message
    assert store.part_path(model, 0).stat().st_size == 5 << 20 == final.done_bytes
    assert not catalog.downloads()


def test_connection_refused_fails_within_seconds(unused_port, connection, store, catalog):
    from engine.hub.connection import HubConnection

    model = smol(connection)
    offline = HubConnection(f"http://127.0.0.1:{unused_port}")
    started = time.monotonic()
    final = run(offline, model, store, catalog, None)[-1]
    assert final.state == DownloadState.FAILED and "Connection refused" in final.message
    assert time.monotonic() - started < 5


def test_too_little_disk_space_stops_before_any_byte(hub, connection, store, catalog, monkeypatch):
    model = smol(connection)
    monkeypatch.setattr("engine.storage.free_bytes", lambda path: model.size)
    final = run(connection, model, store, catalog)[-1]
    assert final.state == DownloadState.FAILED
    assert final.message.startswith("Not enough free disk space to download SmolLM2")
    assert not hub.requests("/cdn/") and not store.part_path(model, 0).exists()


def test_a_full_disk_while_writing_keeps_the_part_and_says_so(
    hub, connection, store, catalog, monkeypatch
):
    import errno

    model = smol(connection)
    writes = {"count": 0}
    real_write = download_module._PartTransfer._write

    def fill_up(self, response, start):
        for count in real_write(self, response, start):
            writes["count"] += 1
            if writes["count"] == 4:
                raise OSError(errno.ENOSPC, "No space left on device")
            yield count

    monkeypatch.setattr(download_module._PartTransfer, "_write", fill_up)
    final = run(connection, model, store, catalog)[-1]
    assert final.state == DownloadState.FAILED and final.message.startswith("The disk filled up")
    assert store.part_path(model, 0).stat().st_size > 0


@pytest.mark.slow
def test_split_model_parts_sit_together_and_load_from_the_first(connection, store, catalog):
    from engine.session import LoadSettings, ModelSession

    model = listing.list_models(connection, "local/tiny-split-GGUF").models[0]
    final = run(connection, model, store, catalog)[-1]
    assert final.state == DownloadState.DONE and final.parts == 3
    folder = store.final_path(model, 0).parent
    assert sorted(p.name for p in folder.iterdir()) == [
        f"tiny-Q4_K_M-0000{i}-of-00003.gguf" for i in (1, 2, 3)
    ]
    record = catalog.downloads()[0]
    assert len(record.parts) == 3 and record.path == final.path
    session = ModelSession()
    report = session.load(LoadSettings(model_path=final.path, n_ctx=512, n_gpu_layers=0))
    assert report.model.block_count == 2
    assert session.llama.tokenize(b"hello")


@pytest.mark.slow
def test_the_downloaded_model_answers(connection, store, catalog):
    from engine.session import LoadSettings, ModelSession, SamplingSettings
    from engine.stats import GenerationStats

    model = smol(connection)
    path = run(connection, model, store, catalog)[-1].path
    session = ModelSession()
    session.load(LoadSettings(model_path=path, n_ctx=1024, n_gpu_layers=0))
    pieces = list(session.chat([{"role": "user", "content": "Say hello."}],
                               SamplingSettings(temperature=0, max_tokens=16)))  # fmt: skip
    stats = pieces[-1]
    assert isinstance(stats, GenerationStats) and stats.generated_tokens > 0
    assert "".join(p for p in pieces if isinstance(p, str)).strip()


def test_through_a_proxy_the_download_goes_through_httpx(hub, connection, store, catalog,
                                                           monkeypatch):  # fmt: skip
    from engine.hub import raw_http

    # No proxy can be run here; say one is configured, so that the httpx path is taken (httpx
    # itself reads the real, empty proxy settings and connects directly).
    monkeypatch.setattr(raw_http, "_proxy_for", lambda url: "http://proxy.invalid:3128")
    opened = []
    real = raw_http._HttpxResponse.__init__

    def spy(self, *args, **kwargs):
        opened.append(args[1])
        real(self, *args, **kwargs)

    monkeypatch.setattr(raw_http._HttpxResponse, "__init__", spy)
    model = smol(connection)
    hub.faults.cut_after = model.size // 3
    events = run(connection, model, store, catalog)
    assert events[-1].state == DownloadState.DONE, events[-1].message
    assert len(opened) == 2, "the first request was cut and resumed"
    assert sha256(store.final_path(model, 0)) == model.first.sha256


def test_a_refused_file_says_why_in_one_line(hub, connection, store, catalog):
    model = smol(connection)
    hub.faults.fail_next(1, 403, prefix="/cdn/")
    final = run(connection, model, store, catalog)[-1]
    assert final.state == DownloadState.FAILED
    assert "refused access (HTTP 403)" in final.message and "\n" not in final.message
