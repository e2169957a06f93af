"""A reply cut at its token limit ends on a whole character: no U+FFFD, no half flag."""

from __future__ import annotations

import codecs

import pytest

from engine.session import LoadSettings, ModelSession, SamplingSettings, _token_bytes
from engine.stats import GenerationStats

FLAGS = "🇫🇷🇯🇵🇩🇪"


@pytest.mark.slow
def test_every_cut_through_a_run_of_flags_ends_on_a_whole_flag(default_model_path):
    session = ModelSession()
    session.load(LoadSettings(str(default_model_path), n_ctx=512, n_threads=1))
    try:
        messages = [{"role": "user", "content": f"Repeat these flags ten times: {FLAGS}"}]
        # The model continues a run of flags; byte-level tokens split each flag in four.
        prompt = session.prompt_tokens(messages) + session.tokenize(f"{FLAGS} {FLAGS} ")
        greedy = SamplingSettings(temperature=0, max_tokens=14, repeat_penalty=1.0)
        list(session.generate(prompt, greedy))
        tokens = session.cached_tokens[len(prompt) :]
        vocab = session.llama._model.vocab
        broken_before = 0
        for limit in range(1, len(tokens) + 1):
            # What the old stream showed: the cut bytes flushed with U+FFFD for the rest.
            raw = b"".join(_token_bytes(vocab, t) for t in tokens[:limit])
            old = codecs.decode(raw, "utf-8", errors="replace")
            broken_before += "\ufffd" in old or _odd_flags(old)
            text = ""
            for event in session.generate(prompt, SamplingSettings(
                    temperature=0, max_tokens=limit, repeat_penalty=1.0)):  # fmt: skip
                if isinstance(event, GenerationStats):
                    assert event.stop_reason == "length"
                    break
                text += event
            assert "\ufffd" not in text and not _odd_flags(text), (limit, text)
            assert old.replace("\ufffd", "").startswith(text.rstrip()) or not text.strip()
        assert broken_before >= 6, "the cuts must land inside flags for this test to mean much"
    finally:
        session.unload()


def _odd_flags(text: str) -> bool:
    return sum("\U0001f1e6" <= c <= "\U0001f1ff" for c in text) % 2 == 1
