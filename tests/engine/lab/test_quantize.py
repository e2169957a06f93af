"""Quantizing with llama.cpp's own quantizer: real variants, progress, refusals, and stopping."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.catalog import ModelCatalog
from engine.errors import HearthError, ModelFileError
from engine.gguf_info import read_model_info
from engine.lab import LabNotice, LabProgress, QuantizeRequest, QuantizeResult
from engine.lab.evaluate import TokenEvaluator
from engine.lab.quality import QualitySettings, measure_quality
from engine.lab.quantize import (
    RequantizeRefused,
    check_request,
    default_target,
    estimate_output_bytes,
    quantize,
)
from engine.session import LoadSettings, ModelSession
from tests.engine.lab.conftest import THREADS, finish, run_all

SAMPLE = "The quick brown fox jumps over the lazy dog, and then it runs away again. " * 4


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.slow
@pytest.mark.parametrize("quant_type", ["Q8_0", "Q4_K_M"])
def test_tiny_f32_model_quantizes_and_the_variant_runs(tiny_f32_path, tmp_path, quant_type):
    target = tmp_path / f"tiny-{quant_type}.gguf"
    events = run_all(quantize(QuantizeRequest(str(tiny_f32_path), quant_type, str(target))))

    result = events[-1]
    assert isinstance(result, QuantizeResult)
    assert result.path == str(target) and result.source_type == "F32"
    assert not result.warnings, "an F32 source needs no warning"
    info = read_model_info(target)
    assert info.file_type == quant_type
    assert result.file_size == target.stat().st_size < tiny_f32_path.stat().st_size / 3
    assert result.file_size <= estimate_output_bytes(tiny_f32_path, quant_type)
    assert leftovers(tmp_path) == []

    progress = [e for e in events if isinstance(e, LabProgress)]
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {p.total_steps for p in progress} == {2 + 9 * 2 + 1}  # tensors in the tiny model

    # The variant loads and reads text about as the F32 original does.
    assert perplexity(target) == pytest.approx(perplexity(tiny_f32_path), rel=0.02)


def perplexity(path: Path) -> float:
    session = ModelSession()
    session.load(LoadSettings(model_path=str(path), n_ctx=64, n_threads=THREADS, n_gpu_layers=0))
    with TokenEvaluator(session.llama) as evaluator:
        _, (result, _) = finish(measure_quality(evaluator, SAMPLE, QualitySettings(32, 2)))
    session.unload()
    return result.perplexity


@pytest.mark.slow
def test_gemma_requantizes_into_two_variants_with_a_warning(gemma_variants, gemma_model_path):
    sizes = {}
    for quant_type, (result, events) in gemma_variants.items():
        assert isinstance(result, QuantizeResult)
        assert read_model_info(result.path).file_type == quant_type
        assert result.source_type == "Q4_K_M"
        warnings = [e for e in events if isinstance(e, LabNotice) and e.level == "warning"]
        assert warnings and "cannot come back" in warnings[0].message
        assert result.file_size <= estimate_output_bytes(gemma_model_path, quant_type)
        progress = [e for e in events if isinstance(e, LabProgress)]
        assert len(progress) >= 236  # one per tensor of Gemma 3 270M, then done
        assert any(p.eta_s is not None for p in progress)
        sizes[quant_type] = result.file_size
    assert sizes["Q2_K"] < sizes["Q8_0"]


def test_a_source_below_q8_0_is_refused_unless_requantizing_is_allowed(gemma_model_path, tmp_path):
    request = QuantizeRequest(str(gemma_model_path), "Q4_0", str(tmp_path / "out.gguf"))
    with pytest.raises(RequantizeRefused, match="already quantized"):
        check_request(request)
    allowed = check_request(QuantizeRequest(request.source, "Q4_0", request.target, True))
    assert allowed.requantize and allowed.warnings
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quant_type": "Q9_X"}, "not a quantization type"),
        ({"quant_type": "F32"}, "not a quantization type"),
        ({"target": "SOURCE"}, "cannot replace"),
        ({"target": "EXISTING"}, "already exists"),
        ({"target": "NO_FOLDER"}, "does not exist"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(
    tiny_f32_path, tmp_path, change, message
):
    existing = tmp_path / "taken.gguf"
    existing.write_bytes(b"keep me")
    targets = {
        "SOURCE": str(tiny_f32_path),
        "EXISTING": str(existing),
        "NO_FOLDER": str(tmp_path / "missing" / "out.gguf"),
    }
    values = {
        "source": str(tiny_f32_path),
        "quant_type": "Q8_0",
        "target": str(tmp_path / "o.gguf"),
    }
    values.update({k: targets.get(v, v) for k, v in change.items()})
    with pytest.raises(HearthError, match=message):
        run_all(quantize(QuantizeRequest(**values)))
    assert existing.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.gguf"]


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    fake = tmp_path / "notes.gguf"
    fake.write_text("not a model")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        run_all(quantize(QuantizeRequest(str(fake), "Q8_0", str(tmp_path / "out.gguf"))))


def test_the_variant_already_being_that_type_is_refused(tiny_f32_path, tmp_path):
    first = tmp_path / "q8.gguf"
    run_all(quantize(QuantizeRequest(str(tiny_f32_path), "Q8_0", str(first))))
    with pytest.raises(HearthError, match="already Q8_0"):
        check_request(QuantizeRequest(str(first), "Q8_0", str(tmp_path / "again.gguf")))


def test_too_little_disk_space_is_refused_with_the_sizes(tiny_f32_path, tmp_path, monkeypatch):
    # A full disk cannot be made on demand here; the free-space figure is the one fake.
    real = shutil.disk_usage

    def nearly_full(path):
        usage = real(path)
        return type(usage)(usage.total, usage.total - 1000, 1000)

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    with pytest.raises(
        HearthError,
        match=r"Not enough free disk space to make the Q8_0 variant.* 1\.0 kB free .*needs about",
    ):
        run_all(quantize(QuantizeRequest(str(tiny_f32_path), "Q8_0", str(tmp_path / "o.gguf"))))
    assert list(tmp_path.iterdir()) == []


def test_cancelled_quantization_stops_the_quantizer_and_leaves_no_partial_file(
    gemma_model_path, tmp_path
):
    target = tmp_path / "gemma-Q6_K.gguf"
    cancel = CancelToken()
    events = []
    for event in quantize(
        QuantizeRequest(str(gemma_model_path), "Q6_K", str(target), True), cancel
    ):
        events.append(event)
        if isinstance(event, LabProgress) and event.step >= 3:
            cancel.cancel()
    assert not any(isinstance(e, QuantizeResult) for e in events)
    assert any(isinstance(e, LabProgress) for e in events)
    assert list(tmp_path.iterdir()) == []
    assert not [p for p in multiprocessing.active_children() if p.name == "hearth-quantize"]


def test_a_consumer_that_stops_reading_leaves_no_partial_file(gemma_model_path, tmp_path):
    target = tmp_path / "gemma-Q5_K_M.gguf"
    stream = quantize(QuantizeRequest(str(gemma_model_path), "Q5_K_M", str(target), True))
    for event in stream:
        if isinstance(event, LabProgress):
            break
    stream.close()  # a window closed mid-way: the generator is closed, not run to its end
    assert list(tmp_path.iterdir()) == []
    assert not [p for p in multiprocessing.active_children() if p.name == "hearth-quantize"]


def test_a_quantizer_that_dies_is_reported_and_leaves_no_partial_file(gemma_model_path, tmp_path):
    target = tmp_path / "gemma-Q3_K_M.gguf"
    stream = quantize(QuantizeRequest(str(gemma_model_path), "Q3_K_M", str(target), True))

    def kill_quantizer() -> None:
        # The machine running out of memory kills the child: do the same to it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            children = [p for p in multiprocessing.active_children() if p.name == "hearth-quantize"]
            if children:
                children[0].kill()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_quantizer)
    killer.start()
    with pytest.raises(HearthError, match="stopped unexpectedly"):
        run_all(stream)
    killer.join()
    assert list(tmp_path.iterdir()) == []


def test_a_finished_variant_joins_the_catalog(tiny_f32_path, tmp_path):
    catalog = ModelCatalog(tmp_path / "models.json")
    target = tmp_path / "tiny-Q4_0.gguf"
    run_all(quantize(QuantizeRequest(str(tiny_f32_path), "Q4_0", str(target)), catalog=catalog))
    entry = next(e for e in catalog.entries() if e.path == target.resolve())
    assert entry.info is not None and entry.info.file_type == "Q4_0" and not entry.bundled
    assert entry.made and entry.owned, "Hearth made it: removing it deletes it"
    imported = tmp_path / "mine.gguf"
    imported.write_bytes(target.read_bytes())
    catalog.import_model(imported)
    assert catalog.remove(target) == "deleted" and not target.exists()
    assert catalog.remove(imported) == "forgotten" and imported.exists()
    assert [e.path for e in catalog.entries() if not e.bundled] == []


def test_default_target_names_the_type_once():
    folder = Path("/models")
    assert default_target("/x/gemma-3-270m-q4_k_m.gguf", "Q8_0", folder) == folder / (
        "gemma-3-270m-Q8_0.gguf"
    )
    assert default_target("/x/Llama-3-8B.F16.gguf", "Q4_K_M", folder) == folder / (
        "Llama-3-8B-Q4_K_M.gguf"
    )
    assert default_target("/x/mistral.gguf", "Q2_K", folder) == folder / "mistral-Q2_K.gguf"
