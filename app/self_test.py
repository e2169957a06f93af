"""`hearth --self-test`: check, offline, that an installed or bundled Hearth works end to end.

It draws the main window offscreen, loads the bundled chat model and generates a few tokens,
indexes the small PDF that ships in resources/selftest, and searches it. It prints one summary
line and returns 0, or names the step that failed and why and returns 1. Nothing is written
outside a temporary folder. packaging/smoke_test.sh runs it on the built .deb and .tar.gz.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.paths import resources_dir
from engine.errors import HearthError

SAMPLE_PDF = Path("selftest") / "hearth-selftest.pdf"
# The sample's second page is about the kettle, its first about laying a fire.
QUESTION = "At what temperature does the copper kettle whistle?"
EXPECTED_PAGE = 2
PROMPT = [{"role": "user", "content": "Say hello in three words."}]
MAX_TOKENS = 8


class StepFailed(Exception):
    """One check did not pass; `reason` is plain words for the summary line."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


def run(model_path: str | Path | None = None, document: str | Path | None = None) -> int:
    """Run every check and print one line.

    Args:
        model_path: The GGUF model to load; the bundled default model when None.
        document: The PDF to index and search; the bundled sample when None. Another document
            is only checked for giving a result, not for which page it finds.

    Returns:
        0 when every check passed, 1 otherwise (the line then says which step failed and why).
    """
    # Offscreen so the check runs without a display (a server, a CI runner, a terminal over ssh).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Keep the output to the one summary line.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    started = time.perf_counter()
    sample = document is None
    pdf = resources_dir() / SAMPLE_PDF if document is None else Path(document)
    try:
        # A missing file means a damaged install: say so before spending time on the rest.
        if not pdf.is_file():
            raise StepFailed("documents", f"the document {pdf} is missing")
        with tempfile.TemporaryDirectory(prefix="hearth-self-test-") as scratch:
            parts = [
                _step("window", _check_window),
                _step("model", lambda: _check_model(model_path)),
                _step("documents", lambda: _check_documents(Path(scratch), pdf, sample)),
            ]
    except StepFailed as failure:
        print(f"hearth self-test: FAILED at {failure.step}: {failure.reason}", file=sys.stderr)
        return 1
    total = time.perf_counter() - started
    print(f"hearth self-test: ok | {' | '.join(parts)} | total {total:.1f} s", flush=True)
    return 0


def _step(name: str, check: Callable[[], str]) -> str:
    """Run one check, turning any error into a StepFailed that names the step."""
    try:
        return check()
    except StepFailed:
        raise
    except HearthError as exc:
        raise StepFailed(name, str(exc)) from exc
    except Exception as exc:  # the self-test reports every failure instead of a traceback
        raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc


def _check_window() -> str:
    """Build and paint the main window offscreen: Qt, its plugins and the UI code load."""
    started = time.perf_counter()
    from PySide6.QtWidgets import QApplication

    from app import qt_compat
    from ui.main_window import MainWindow

    qt_compat.apply()
    existing = QApplication.instance()
    app = (
        existing
        if isinstance(existing, QApplication)
        else QApplication(["hearth", "-platform", "offscreen"])
    )
    window = MainWindow()
    try:
        window.resize(900, 600)
        image = window.grab().toImage()
        if image.isNull() or image.width() < 100:
            raise StepFailed("window", "the main window could not be drawn")
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return f"window drawn in {time.perf_counter() - started:.1f} s ({app.platformName()})"


def _check_model(model_path: str | Path | None) -> str:
    """Load the model and generate a few tokens greedily."""
    from engine.bundled import default_model_path
    from engine.session import LoadSettings, ModelSession, SamplingSettings
    from engine.stats import GenerationStats

    path = Path(model_path) if model_path is not None else default_model_path()
    session = ModelSession()
    try:
        report = session.load(LoadSettings(model_path=str(path), n_ctx=512))
        sampling = SamplingSettings(temperature=0.0, max_tokens=MAX_TOKENS, seed=1)
        stats = None
        text = ""
        for item in session.chat(PROMPT, sampling):
            if isinstance(item, GenerationStats):
                stats = item
            else:
                text += item
    finally:
        session.unload()
    if stats is None or stats.stop_reason == "error":
        reason = stats.error if stats is not None and stats.error else "no reply was produced"
        raise StepFailed("model", f"generation failed: {reason}")
    if stats.generated_tokens < 1:
        raise StepFailed("model", "the model generated no tokens")
    return (
        f"model {path.name} loaded in {report.load_seconds:.1f} s, "
        f"{stats.generated_tokens} tokens at {stats.generation_tokens_per_s:.0f} tok/s "
        f"({text.strip()[:40]!r})"
    )


def _check_documents(scratch: Path, pdf: Path, sample: bool) -> str:
    """Index `pdf` and search it the way the window does, in the library process (so a bundle
    that cannot start that process fails here); for the sample, check the page found."""
    from app.library.client import LibraryClient
    from app.library.protocol import IndexFiles, Search

    started = time.perf_counter()
    libraries = LibraryClient(scratch / "libraries")
    try:
        report = libraries.call(IndexFiles("self-test", (str(pdf),)))
        if report.indexed != 1:
            problems = [f"{o.status} ({o.message})" for o in report.all_outcomes]
            raise StepFailed(
                "documents", f"{pdf.name} was not indexed: {', '.join(problems) or 'nothing'}"
            )
        indexed_s = time.perf_counter() - started
        # Any excerpt counts for another document: the question is about the sample.
        hits = libraries.call(Search("self-test", QUESTION, 3, relevant_only=sample))
    finally:
        libraries.close()
    if not hits:
        raise StepFailed("documents", "the search found nothing")
    if sample and hits[0].page != EXPECTED_PAGE:
        raise StepFailed(
            "documents",
            f"the search ranked page {hits[0].page} first, expected page {EXPECTED_PAGE}",
        )
    return (
        f"indexed {report.pages} pages ({report.chunks} chunks) in {indexed_s:.1f} s, "
        f"search found page {hits[0].page}"
    )


if __name__ == "__main__":
    sys.exit(run())
