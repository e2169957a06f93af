"""Search, file lists, remote headers and fit verdicts against the local Hub."""

from __future__ import annotations

import time

import pytest

from engine.context.fit import ESTIMATE_MARGIN, RAM_RESERVE_BYTES, MachineMemory
from engine.gguf_info import read_model_info
from engine.hub import listing
from engine.hub.connection import HubConnection, HubError, endpoint_problem, resolve_endpoint
from engine.hub.quants import quality_rank, quant_from_name
from engine.hub.remote_gguf import read_remote_header
from engine.hub.verdict import assess_repo, judge, recommend
from engine.memory.estimate import estimate_memory
from engine.storage import size_text
from tests.engine.hub.conftest import SMOL_FILE, SMOL_REPO, TOKEN

GB = 10**9


def test_search_finds_gguf_repos_with_their_details(connection):
    results = listing.search(connection, "smollm2")
    assert [r.repo_id for r in results] == [SMOL_REPO]
    smol = results[0]
    assert (smol.author, smol.downloads, smol.likes) == ("local", 5000, 50)
    assert smol.license == "apache-2.0" and smol.has_chat_template is True
    assert smol.last_modified.startswith("2025-01-15") and smol.context_length == 8192
    assert [r.repo_id for r in listing.search(connection, "tiny-GGUF")] == ["local/tiny-GGUF"]


def test_other_huggingface_hub_requests_stay_offline(connection):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import OfflineModeIsEnabled

    listing.search(connection, "smol")  # the person's search goes through...
    with pytest.raises(OfflineModeIsEnabled):  # ...anything else in the process does not
        list(HfApi(endpoint=connection.endpoint).list_models(search="smol"))


def test_files_are_grouped_with_quant_types_best_first(connection):
    found = listing.list_models(connection, "local/tiny-GGUF")
    assert [m.name for m in found.models] == ["tiny-F16.gguf", "tiny-Q8_0.gguf", "tiny-Q4_K_M.gguf"]
    assert [m.quant for m in found.models] == ["F16", "Q8_0", "Q4_K_M"]
    assert found.license == "mit" and len(found.revision) == 40
    assert all(len(m.first.sha256) == 64 and m.size > 0 for m in found.models)
    split = listing.list_models(connection, "local/tiny-split-GGUF").models
    assert len(split) == 1 and split[0].complete and split[0].quant == "Q4_K_M"
    assert split[0].name == "Q4_K_M/tiny-Q4_K_M-00001-of-00003.gguf"
    assert [p.path.rsplit("-", 3)[-3] for p in split[0].parts] == ["00001", "00002", "00003"]
    assert found.find("Q8_0").name == "tiny-Q8_0.gguf"
    with pytest.raises(HubError, match="no GGUF file called"):
        found.find("Q2_K")


@pytest.mark.parametrize(
    ("name", "quant"),
    [("Qwen2.5-7B-Instruct-Q4_K_M.gguf", "Q4_K_M"), ("model.IQ4_XS.gguf", "IQ4_XS"),
     ("llama-3-8b-q8_0.gguf", "Q8_0"), ("x-UD-Q4_K_XL-00001-of-00002.gguf", "Q4_K_XL"),
     ("gemma-3-4b-it-BF16.gguf", "BF16"), ("weights.gguf", "")],
)  # fmt: skip
def test_quant_types_read_from_names(name, quant):
    assert quant_from_name(name) == quant


def test_quality_order_puts_k_quants_above_legacy_types():
    assert quality_rank("Q8_0") < quality_rank("Q6_K") < quality_rank("Q4_K_M")
    assert quality_rank("Q4_K_M") < quality_rank("Q4_1") < quality_rank("Q2_K")
    assert quality_rank("Q4_K_M") - 1 < quality_rank("Q4_K_XL") < quality_rank("Q4_K_M")


def test_remote_header_reads_the_same_metadata_without_the_weights(connection, default_model_path):
    model = listing.list_models(connection, SMOL_REPO).models[0]
    header = read_remote_header(connection, model)
    local = read_model_info(default_model_path)
    assert header.info.summary() | {"path": ""} == local.summary() | {"path": ""}
    assert header.bytes_fetched < model.size / 10, "the weights were not downloaded"
    assert header.requests <= 3


def test_split_model_header_counts_every_part(connection, hub_files):
    model = listing.list_models(connection, "local/tiny-split-GGUF").models[0]
    header = read_remote_header(connection, model)
    whole = read_model_info(hub_files["tiny"])
    assert header.info.file_size == model.size
    assert header.info.parameter_count == whole.parameter_count
    assert header.layout.total > 0 and all(header.layout.layers)


@pytest.fixture
def tiny_header(connection):
    model = listing.list_models(connection, "local/tiny-GGUF").find("Q8_0")
    return model, read_remote_header(connection, model)


def test_verdicts_name_where_the_model_runs(connection, tiny_header):
    model, header = tiny_header
    judged = judge(model, header, MachineMemory(64 * GB, 24 * GB), 4096)
    assert judged.text == "fits fully on the GPU" and judged.gpu_layers == 3 == judged.total_layers
    assert judge(model, header, MachineMemory(64 * GB), 4096).text == "fits in RAM"
    small = judge(model, header, MachineMemory(200 * 2**20), 131072)
    assert small.text == "does not fit" and not small.fits and small.from_header
    assert small.words == (
        f"does not fit: needs ~{size_text(small.estimate_bytes)} "
        f"({size_text(small.needed_bytes)} with room for the system), 209.7 MB free"
    )
    assert small.needed_bytes == int(small.estimate_bytes * 1.1) + RAM_RESERVE_BYTES


def test_a_gpu_too_small_for_all_layers_gets_as_many_as_fit(connection):
    smol = listing.list_models(connection, SMOL_REPO).models[0]
    header = read_remote_header(connection, smol)
    info = header.info

    def vram(layers: int) -> int:
        return estimate_memory(info, 4096, n_gpu_layers=layers, layout=header.layout).vram

    # Room for 20 of the 31 layers (30 blocks and the output layer) and not for 21.
    room = MachineMemory(64 * GB, int((vram(20) + vram(21)) / 2 * (1 + ESTIMATE_MARGIN)))
    verdict = judge(smol, header, room, 4096)
    assert (verdict.placement, verdict.gpu_layers, verdict.total_layers) == ("partial", 20, 31)
    assert verdict.text == "fits, 20 of 31 layers on the GPU"


def test_window_beyond_the_trained_length_is_capped_with_a_note(connection, tiny_header):
    smol = listing.list_models(connection, SMOL_REPO).models[0]
    verdict = judge(smol, read_remote_header(connection, smol), MachineMemory(64 * GB), 32768)
    assert verdict.n_ctx == 8192 and "trained 8,192" in verdict.notes[0]
    assert verdict.line.endswith(" · window capped at the model's trained 8,192 tokens")
    assert "capped" not in judge(smol, read_remote_header(connection, smol),
                                 MachineMemory(64 * GB), 4096).line  # fmt: skip


def test_recommendation_is_the_best_quantization_that_fits_with_headroom(connection):
    found = listing.list_models(connection, "local/tiny-GGUF")
    roomy = assess_repo(connection, found, MachineMemory(64 * GB), 4096)
    assert roomy.recommended is not None and roomy.recommended.quant == "Q8_0"  # not F16
    assert roomy.header is not None and roomy.problem == ""
    assert all(v.from_header for _, v in roomy.rows)
    assert any("scaled" in " ".join(v.notes) for _, v in roomy.rows)
    none_fit = assess_repo(connection, found, MachineMemory(10 * 2**20), 4096)
    assert none_fit.recommended is None
    assert all(v.text.startswith("does not fit") for _, v in none_fit.rows)
    exact = assess_repo(connection, found, MachineMemory(64 * GB), 4096, read_all=True)
    assert [v.text for _, v in exact.rows] == [v.text for _, v in roomy.rows]


def test_recommendation_prefers_a_file_wholly_on_the_gpu(tiny_header):
    model, header = tiny_header
    bigger = type(model)(model.repo_id, model.revision, "big-Q8_0.gguf", "Q8_0", model.parts)
    smaller = type(model)(model.repo_id, model.revision, "small-Q4_K_M.gguf", "Q4_K_M",
                          model.parts)  # fmt: skip
    gpu = judge(smaller, header, MachineMemory(64 * GB, 24 * GB))
    ram = judge(bigger, header, MachineMemory(64 * GB))
    assert recommend([(bigger, ram), (smaller, gpu)]) == smaller
    assert recommend([(bigger, ram)]) == bigger


def test_unreadable_header_falls_back_to_the_size_and_says_so(connection):
    found = listing.list_models(connection, "local/broken-GGUF")
    assessed = assess_repo(connection, found, MachineMemory(64 * GB), 4096)
    assert "could not be read" in assessed.problem and "not a GGUF" in assessed.problem
    verdict = assessed.rows[0][1]
    assert verdict.text == "fits in RAM (estimated from its size)" and not verdict.from_header
    assert "file size alone" in verdict.notes[0]
    assert verdict.line == verdict.words, "how it was judged is said once, under the files"
    assert verdict.words.startswith("fits in RAM (estimated from its size), needs ~")


def test_gated_model_needs_a_token(hub):
    model = listing.list_models(HubConnection(hub.url), "local/gated-GGUF").models[0]
    with pytest.raises(HubError, match="gated"):
        read_remote_header(HubConnection(hub.url), model)
    assert read_remote_header(HubConnection(hub.url, TOKEN), model).info.block_count == 2


def test_unknown_repository_and_bad_names_are_one_line(connection):
    with pytest.raises(HubError, match="no such model"):
        listing.list_models(connection, "local/nothing-here")
    with pytest.raises(HubError, match="owner/name"):
        listing.list_models(connection, "no-slash")
    with pytest.raises(HubError, match="Type something"):
        listing.search(connection, "  ")


def test_server_error_is_reported_at_once_and_the_next_try_works(hub, connection):
    hub.faults.fail_next(1, 500, "/api/models")
    started = time.monotonic()
    with pytest.raises(HubError, match=r"had a problem \(HTTP 500\)"):
        listing.search(connection, "smol")
    assert time.monotonic() - started < 3
    assert listing.search(connection, "smol")


def test_offline_is_one_clear_line_within_seconds(unused_port):
    offline = HubConnection(f"http://127.0.0.1:{unused_port}")
    for action in (lambda: listing.search(offline, "qwen"),
                   lambda: listing.list_models(offline, "Qwen/Qwen2.5-7B-Instruct-GGUF")):  # fmt: skip
        started = time.monotonic()
        with pytest.raises(HubError) as caught:
            action()
        assert time.monotonic() - started < 5
        assert "cannot be reached (Connection refused)" in str(caught.value)
        assert "\n" not in str(caught.value)
        # A server on this computer is not "the internet".
        assert caught.value.hint == (
            f"Check that the server at 127.0.0.1:{unused_port} is running, or the Hub address "
            "in Settings."
        )


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [("http://localhost:8080", True), ("http://192.168.1.20", True), ("http://nas.local", True),
     ("https://huggingface.co", False), ("https://hf-mirror.com", False), ("http://8.8.8.8", False)],
)  # fmt: skip
def test_what_to_check_depends_on_where_the_hub_is(endpoint, local):
    hint = HubConnection(endpoint).unreachable_hint()
    assert ("is running" in hint) is local and ("internet" in hint) is not local


def test_hub_address_comes_from_the_setting_then_hf_endpoint(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert resolve_endpoint("") == "http://127.0.0.1:9"
    assert resolve_endpoint("https://mirror.example/") == "https://mirror.example"
    with pytest.raises(HubError, match="not a web address"):
        resolve_endpoint("ftp://x")


@pytest.mark.parametrize(
    ("address", "problem"),
    [("", ""), ("https://huggingface.co", ""), ("http://127.0.0.1:8080/", ""),
     ("huggingface.co", "must start with https://"), ("ftp://x", "must start with https://"),
     ("https://", "server's name is missing"), ("https://my mirror", "has spaces"),
     ("http://[::1", "cannot be read"), ("http://host:port", "cannot be read")],
)  # fmt: skip
def test_a_hub_address_is_checked_as_a_web_address(address, problem):
    found = endpoint_problem(address)
    assert (problem in found) if problem else found == ""
    assert found.startswith(f"'{address}' is not a web address for the Hub") or not problem
    assert SMOL_FILE.endswith(".gguf")
