"""Draft-model speculative decoding with a real pair sharing a vocabulary: the bundled SmolLM2
Q4_1 drafts for a Q8_0 variant of itself, made here with llama.cpp's quantizer."""

from __future__ import annotations

import pytest

from engine.draft_model import recommend_draft
from engine.gguf_info import read_model_info
from engine.lab.quantize import QuantizeRequest, quantize
from engine.session import LoadSettings, ModelSession, SamplingSettings
from tests.engine.lab.conftest import run_all
from tests.engine.test_session import run

pytestmark = pytest.mark.slow

# Lookup off: every draft here comes from the draft model.
GREEDY = SamplingSettings(temperature=0, max_tokens=24, repeat_penalty=1.0, lookup_draft_tokens=0)
ASK = [{"role": "user", "content": "Name three colours of the rainbow."}]


@pytest.fixture(scope="module")
def q8_path(default_model_path, tmp_path_factory):
    target = tmp_path_factory.mktemp("draft") / "SmolLM2-135M-Instruct-Q8_0.gguf"
    request = QuantizeRequest(str(default_model_path), "Q8_0", str(target),
                              allow_requantize=True, n_threads=1)  # fmt: skip
    run_all(quantize(request))
    return target


def test_a_draft_model_leaves_greedy_replies_exactly_as_they_were(q8_path, default_model_path):
    session = ModelSession()
    settings = LoadSettings(model_path=str(q8_path), n_ctx=1024, n_gpu_layers=0)
    try:
        session.load(settings)
        plain_pieces, plain = run(session.chat(ASK, GREEDY))
        report = session.load(
            LoadSettings(**{**vars(settings), "draft_model_path": str(default_model_path)})
        )
        assert report.draft_model == str(default_model_path)
        drafted_pieces, drafted = run(session.chat(ASK, GREEDY))
    finally:
        session.unload()
    assert "".join(drafted_pieces) == "".join(plain_pieces)
    assert drafted.generated_tokens == plain.generated_tokens
    assert plain.drafted_tokens == 0
    assert drafted.drafted_tokens > 0
    # The Q4_1 file is the same model less precisely stored: it guesses most tokens right.
    assert drafted.accepted_draft_tokens >= drafted.drafted_tokens // 2


def test_a_draft_of_another_vocabulary_is_refused_in_words(default_model_path, gemma_model_path):
    session = ModelSession()
    try:
        report = session.load(LoadSettings(model_path=str(default_model_path), n_ctx=512,
                                           draft_model_path=str(gemma_model_path)))  # fmt: skip
        assert report.draft_model == ""
        note = next(n for n in report.notes if "draft model" in n)
        assert "gemma-3-270m" in note and "cannot draft for this model" in note
        assert "tokenizer" in note or "vocabulary" in note
        _, stats = run(session.chat(ASK, GREEDY))  # the loaded model still answers
        assert stats.generated_tokens > 0 and stats.drafted_tokens == 0
    finally:
        session.unload()


def test_the_smaller_file_of_the_same_family_is_recommended(
    q8_path, default_model_path, gemma_model_path
):
    target = read_model_info(q8_path)
    candidates = [read_model_info(p) for p in (default_model_path, gemma_model_path, q8_path)]
    assert recommend_draft(target, candidates).path == str(default_model_path)
    # Nothing smaller of the same family drafts for the bundled model itself.
    assert recommend_draft(read_model_info(default_model_path), candidates) is None
