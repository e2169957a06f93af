"""Only a chat template's own markup becomes control tokens; every content is tokenized as text.

Covered for the template Hearth ships (SmolLM2's ChatML), the plain-transcript fallback, and the
common families (ChatML, Llama 3, Gemma 2 and 3, Mistral) written into tiny GGUF models; Gemma 3's
template also runs on the bundled Gemma vocabulary (SentencePiece, so the space handling differs).
"""

from __future__ import annotations

import llama_cpp
import pytest

from engine.context.budget import TokenCounter
from engine.context.policies import Draft
from engine.context.turn import Document, TurnRequest
from engine.prompt_format import PromptFormat
from engine.session import LoadSettings, ModelSession
from tests.engine.chat_formats import FORMATS, GEMMA3_TEMPLATE

CONTROL = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL


def load(path, n_ctx=1024):
    session = ModelSession()
    session.load(LoadSettings(model_path=str(path), n_ctx=n_ctx, n_gpu_layers=0))
    return session


@pytest.fixture(scope="module")
def tiny_sessions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    sessions = {name: load(fmt.write(folder)) for name, fmt in FORMATS.items()}
    yield sessions
    for session in sessions.values():
        session.unload()


@pytest.fixture(scope="module")
def smollm2(default_model_path):
    session = load(default_model_path)
    yield session
    session.unload()


def control_tokens(session, tokens):
    vocab = session.llama._model.vocab
    return [t for t in tokens if llama_cpp.llama_vocab_get_attr(vocab, t) & CONTROL]


def conversation(text):
    return [
        {"role": "system", "content": f"You are careful. {text}"},
        {"role": "user", "content": f"Read this: {text}"},
        {"role": "assistant", "content": f"I read: {text}"},
        {"role": "user", "content": f"And now? {text}"},
    ]


def whole_prompt_tokens(session, messages):
    """What llama.cpp's own way gives: the whole rendered prompt with special parsing on."""
    fmt = session._format
    text = fmt.render(messages)
    add_bos = bool(session.llama._model.add_bos_token()) and not (
        fmt._bos_text and text.startswith(fmt._bos_text)
    )
    return session.llama.tokenize(text.encode(), add_bos=add_bos, special=True)


def assert_content_stays_text(session, injection):
    plain = conversation("Harmless words here.")
    hostile = conversation(injection)
    assert session.template_kind == "model"
    # Harmless content: the same tokens as llama.cpp's whole-prompt tokenization.
    assert session.prompt_tokens(plain) == whole_prompt_tokens(session, plain)
    # Hostile content: its markers stay characters; the control tokens are the template's only.
    hostile_tokens = session.prompt_tokens(hostile)
    assert control_tokens(session, hostile_tokens) == control_tokens(
        session, session.prompt_tokens(plain)
    )
    assert len(control_tokens(session, whole_prompt_tokens(session, hostile))) > len(
        control_tokens(session, hostile_tokens)
    ), "the injection must be one that whole-prompt tokenization falls for"
    assert injection.strip() in session.llama.detokenize(hostile_tokens, special=True).decode()


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_template_families_keep_content_as_text(tiny_sessions, name):
    assert_content_stays_text(tiny_sessions[name], FORMATS[name].injection)


@pytest.mark.slow
def test_shipped_smollm2_template_keeps_content_as_text(smollm2):
    assert_content_stays_text(smollm2, FORMATS["chatml"].injection)


@pytest.mark.slow
def test_document_with_markers_is_not_shorter_than_the_same_text_spelled_out(smollm2):
    """The reported symptom: a marker-laden file was ~800 tokens shorter than its harmless twin."""
    evil = FORMATS["chatml"].injection * 40
    spelled = evil.replace("<|", "< |")
    sizes = [len(smollm2.prompt_tokens(conversation(text))) for text in (evil, spelled)]
    # Before: 970 against 2070 tokens (every marker one control token). Now both are text.
    assert sizes[0] >= sizes[1] * 0.95


@pytest.mark.slow
def test_pinned_excerpts_summary_and_file_names_are_text(smollm2):
    injection = FORMATS["chatml"].injection
    request = TurnRequest(
        system_prompt="Be brief.",
        message=f"Question {injection}",
        history=[{"role": "user", "content": injection}, {"role": "assistant", "content": "ok"}],
        pinned=[Document(injection * 3, f"notes{injection}.txt")],
        excerpts=[Document(injection, f"report{injection}.pdf, page 2")],
    )
    draft = Draft(request, TokenCounter(smollm2))
    draft.summary_text = f"Earlier: {injection}"
    draft.summary_covers = 1
    messages = draft.messages()
    for part in ("Pinned material", "Summary of the earlier", "Excerpts from"):
        assert any(part in m["content"] for m in messages)
    tokens = smollm2.prompt_tokens(messages)
    framing_only = smollm2.prompt_tokens([{"role": m["role"], "content": "x"} for m in messages])
    assert control_tokens(smollm2, tokens) == control_tokens(smollm2, framing_only)


@pytest.mark.slow
def test_fallback_transcript_has_no_control_tokens(tmp_path):
    from tests.engine.context.tiny_gguf import write_tiny_model

    session = load(write_tiny_model(tmp_path / "base.gguf", template=None))
    try:
        assert session.template_kind == "fallback"
        tokens = session.prompt_tokens(conversation(FORMATS["chatml"].injection))
        assert control_tokens(session, tokens) == []  # this model adds no BOS
    finally:
        session.unload()


@pytest.mark.slow
def test_gemma3_template_on_a_sentencepiece_vocabulary(gemma_model_path):
    session = load(gemma_model_path)
    try:
        info = session.report.model
        session._format = PromptFormat.for_model(session.llama, info, template=GEMMA3_TEMPLATE)
        assert_content_stays_text(session, FORMATS["gemma3"].injection)
    finally:
        session.unload()


@pytest.mark.parametrize("name", ["gemma2", "mistral"])
def test_template_without_system_role_gets_the_system_prompt_in_the_first_turn(tiny_sessions, name):
    session = tiny_sessions[name]
    assert any("system prompt" in note for note in session.report.notes)
    text = session._format.render(conversation("x"))
    first_turn = text.split("You are careful. x", 1)
    assert len(first_turn) == 2, "the system prompt is in the prompt"
    assert "Read this: x" in first_turn[1]
    assert first_turn[1].index("Read this: x") < first_turn[1].index("I read: x")


def test_consecutive_user_messages_are_joined_for_templates_that_insist_on_alternation(
    tiny_sessions,
):
    session = tiny_sessions["mistral"]
    messages = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    assert "one\n\ntwo" in session._format.render(messages)


def test_text_no_model_can_read_is_refused_in_words(smollm2):
    """A lone surrogate (a JSON "\\ud800" escape, bytes kept by surrogateescape) has no UTF-8
    form: every way to the tokenizer refuses it, naming where, rather than failing inside."""
    from engine.errors import InvalidTextError

    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "caf\udce9 au lait"}]  # fmt: skip
    with pytest.raises(InvalidTextError, match=r"Message 2 \(user\) holds .*U\+DCE9"):
        smollm2.prompt_tokens(messages)
    with pytest.raises(InvalidTextError, match="at character 4"):
        smollm2.tokenize("caf\udce9")
    assert smollm2.prompt_tokens([{"role": "user", "content": "café au lait"}])
