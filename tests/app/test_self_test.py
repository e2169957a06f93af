"""`hearth --self-test` from the source tree: the real window, bundled model, sample PDF and index."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from app import self_test


@pytest.fixture
def blank_pdf(tmp_path: Path) -> Path:
    """A PDF whose only page has no text (like a scan without OCR)."""
    path = tmp_path / "blank.pdf"
    doc = pymupdf.open()
    doc.new_page()
    doc.save(path)
    doc.close()
    return path


@pytest.mark.slow
def test_passes_and_prints_one_summary_line(qapp, capsys):
    assert self_test.run() == 0

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1, out
    summary = lines[0]
    assert summary.startswith("hearth self-test: ok")
    assert "window drawn" in summary
    assert "SmolLM2-135M-Instruct" in summary
    assert f"search found page {self_test.EXPECTED_PAGE}" in summary
    assert "FAILED" not in err


def test_ships_its_sample_pdf():
    pdf = self_test.resources_dir() / self_test.SAMPLE_PDF
    with pymupdf.open(pdf) as doc:
        assert doc.page_count == 2
        assert "kettle" in doc[self_test.EXPECTED_PAGE - 1].get_text()
        assert "kettle" not in doc[0].get_text()


def test_names_the_model_step_when_the_model_file_is_truncated(
    qapp, tmp_path, default_model_path, capsys
):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(Path(default_model_path).read_bytes()[: 1 << 20])

    assert self_test.run(model_path=broken) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("hearth self-test: FAILED at model:")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_names_the_documents_step_when_the_pdf_has_no_text(qapp, blank_pdf, capsys):
    assert self_test.run(document=blank_pdf) == 1

    err = capsys.readouterr().err
    assert "hearth self-test: FAILED at documents: blank.pdf was not indexed" in err
    assert "no_text" in err


def test_names_the_documents_step_when_the_pdf_is_missing(qapp, tmp_path, capsys):
    assert self_test.run(document=tmp_path / "gone.pdf") == 1

    err = capsys.readouterr().err
    assert "FAILED at documents" in err
    assert "gone.pdf is missing" in err
