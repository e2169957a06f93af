"""Render chat messages into the exact tokens a model expects, with all content kept as text.

The chat template comes from the model's own GGUF metadata (see engine/chat_template.py, which
contains it). A model without one (a base model), or whose template cannot be used, gets a plain
"User:/Assistant:" transcript and stop strings that end the reply at the next turn.

Only the template's own markup may become control tokens. The rendered prompt is kept as segments
(markup, content); each markup segment is split at the control tokens llama.cpp finds in it, the
plain text around them is joined with the message contents, and every run of plain text is
tokenized with special-token parsing off. A document that spells out the model's turn markers
therefore reads as those characters and can never close its turn. For harmless content the tokens
are the same as tokenizing the whole prompt with special-token parsing on, as llama.cpp does.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.chat_template import (
    ChatTemplate,
    Segment,
    TemplateProblem,
    fold_system,
    merge_same_roles,
)
from engine.errors import GenerationError, InvalidTextError, utf8
from engine.gguf_info import ModelInfo

log = logging.getLogger(__name__)

FALLBACK_STOPS = ("\nUser:", "\nuser:", "\n\n\n")

# llama.cpp token attributes (enum llama_token_attr).
_ATTR_UNKNOWN = 1 << 0
_ATTR_CONTROL = 1 << 3
_ATTR_LSTRIP = 1 << 7
_ATTR_RSTRIP = 1 << 8
_MARKUP_CACHE_SIZE = 256

Piece = str | int  # plain text, or a control token id


@dataclass
class PromptFormat:
    """How one loaded model's prompts are written and tokenized.

    Attributes:
        kind: "model" (the GGUF's template) or "fallback" (plain transcript).
        stop_strings: Strings that end a reply (the fallback's next-turn cues).
        notes: What a person should know about the format, for the load report.
    """

    kind: str
    stop_strings: tuple[str, ...]
    _llama: Any
    notes: tuple[str, ...] = ()
    _template: ChatTemplate | None = None
    _fold_system: bool = False
    _bos_text: str = ""
    _markup: OrderedDict[str, list[Piece]] = field(default_factory=OrderedDict)

    @classmethod
    def for_model(cls, llama: Any, info: ModelInfo, template: str | None = None) -> PromptFormat:
        """The format for a loaded model; `template` overrides the file's own chat template.

        A template that fails its trial render is not used: the plain transcript is, and `notes`
        says why. One that rejects or drops system messages gets the system prompt folded into
        the first user message.
        """
        source = info.chat_template if template is None else template
        if not source:
            return cls("fallback", FALLBACK_STOPS, llama)
        model = llama._model
        bos = _token_text(model, model.token_bos())
        eos = _token_text(model, model.token_eos())
        try:
            compiled = ChatTemplate(source, bos_token=bos, eos_token=eos)
            keeps_system = compiled.trial()
        except TemplateProblem as problem:
            log.warning("Chat template of %s not used: %s", info.path, problem.message)
            note = (
                f"This model's chat template cannot be used: {problem.message}. Hearth writes "
                "the conversation as a plain transcript instead; replies may be weaker."
            )
            return cls("fallback", FALLBACK_STOPS, llama, (note,))
        notes: tuple[str, ...] = ()
        if not keeps_system:
            notes = (
                "This model's chat template has no place for a system prompt, so it goes at the "
                "start of the first message.",
            )
        return cls("model", (), llama, notes, compiled, not keeps_system, bos)

    # -- text --------------------------------------------------------------------------------

    def segments(self, messages: Sequence[dict[str, str]]) -> list[Segment]:
        """The prompt as markup and content segments.

        Raises:
            GenerationError: the model's template refuses this conversation.
        """
        if self._template is None:
            return render_fallback_segments(messages)
        wanted = fold_system(messages) if self._fold_system else [dict(m) for m in messages]
        try:
            return self._template.segments(wanted)
        except TemplateProblem as problem:
            merged = merge_same_roles(wanted)
            if merged != wanted:
                try:
                    return self._template.segments(merged)
                except TemplateProblem:
                    pass
            raise GenerationError(
                f"The model's chat template could not write this conversation: {problem.message}.",
                "Start a new chat, or load another model.",
            ) from problem

    def render(self, messages: Sequence[dict[str, str]]) -> str:
        """The prompt as text (what the model reads, control tokens spelled out)."""
        return "".join(segment.text for segment in self.segments(messages))

    # -- tokens ------------------------------------------------------------------------------

    def tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """The prompt's tokens; only the template's markup yields control tokens.

        Raises:
            InvalidTextError: A message holds text no model can read (see `engine.errors.utf8`).
        """
        try:
            return self._tokens(messages)
        except InvalidTextError:
            for number, message in enumerate(messages, start=1):  # say which one
                utf8(str(message.get("content") or ""), f"Message {number} ({message['role']})")
            raise

    def _tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        segments = self.segments(messages)
        text = "".join(segment.text for segment in segments)
        if self._template is None:
            return list(self._llama.tokenize(utf8(text), add_bos=True, special=False))
        # Templates that write the BOS text themselves must not get a second one.
        add_bos = bool(self._llama._model.add_bos_token()) and not (
            self._bos_text and text.startswith(self._bos_text)
        )
        pieces: list[Piece] = []
        for segment in segments:
            if segment.content:
                pieces.append(segment.text)
            else:
                pieces.extend(self._split_markup(segment.text))
        return self._tokenize_pieces(_join_text(pieces), add_bos)

    def _split_markup(self, text: str) -> list[Piece]:
        """Markup as plain text and the control tokens llama.cpp finds in it, in order."""
        cached = self._markup.get(text)
        if cached is not None:
            self._markup.move_to_end(text)
            return cached
        import llama_cpp

        vocab = self._llama._model.vocab
        n_vocab = self._llama.n_vocab()
        ids = self._llama.tokenize(utf8(text), add_bos=False, special=True)
        pieces: list[Piece] = []
        position = 0
        for token in ids:
            if not 0 <= token < n_vocab:  # a broken tokenizer; llama.cpp would throw on it
                continue
            if not llama_cpp.llama_vocab_get_attr(vocab, token) & (_ATTR_CONTROL | _ATTR_UNKNOWN):
                continue
            token_text = _token_text(self._llama._model, token)
            found = text.find(token_text, position) if token_text else -1
            if found < 0:  # cannot line up: keep the markup exactly as llama.cpp read it
                pieces = [int(t) for t in ids]
                position = len(text)
                break
            if found > position:
                pieces.append(text[position:found])
            pieces.append(int(token))
            position = found + len(token_text)
        if position < len(text):
            pieces.append(text[position:])
        self._markup[text] = pieces
        if len(self._markup) > _MARKUP_CACHE_SIZE:
            self._markup.popitem(last=False)
        return pieces

    def _tokenize_pieces(self, pieces: list[Piece], add_bos: bool) -> list[int]:
        import llama_cpp

        llama = self._llama
        vocab = llama._model.vocab
        tokens: list[int] = [int(llama.token_bos())] if add_bos else []
        for index, piece in enumerate(pieces):
            if isinstance(piece, int):
                tokens.append(piece)
                continue
            # Whitespace beside a control token with the strip attribute goes, as in llama.cpp.
            before = pieces[index - 1] if index else None
            after = pieces[index + 1] if index + 1 < len(pieces) else None
            if (
                isinstance(before, int)
                and llama_cpp.llama_vocab_get_attr(vocab, before) & _ATTR_RSTRIP
            ):
                piece = piece.lstrip()
            if (
                isinstance(after, int)
                and llama_cpp.llama_vocab_get_attr(vocab, after) & _ATTR_LSTRIP
            ):
                piece = piece.rstrip()
            if piece:
                tokens.extend(llama.tokenize(utf8(piece), add_bos=False, special=False))
        return tokens


def _join_text(pieces: list[Piece]) -> list[Piece]:
    """Adjacent plain texts joined, so markup text and content are tokenized as one run."""
    joined: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and joined and isinstance(joined[-1], str):
            joined[-1] += piece
        elif piece != "":
            joined.append(piece)
    return joined


def render_fallback_segments(messages: Sequence[dict[str, str]]) -> list[Segment]:
    """A transcript any base model continues sensibly, ending with the assistant's cue."""
    segments = []
    for message in messages:
        role, content = message["role"], message["content"].strip()
        if role == "system":
            segments += [Segment(content, True), Segment("\n\n", False)]
        elif role == "user":
            segments += [Segment("User: ", False), Segment(content, True), Segment("\n", False)]
        else:
            segments += [Segment("Assistant: ", False), Segment(content, True),
                         Segment("\n", False)]  # fmt: skip
    segments.append(Segment("Assistant:", False))
    return [segment for segment in segments if segment.text]


def render_fallback(messages: Sequence[dict[str, str]]) -> str:
    """The plain transcript as one text."""
    return "".join(segment.text for segment in render_fallback_segments(messages))


def _token_text(model: Any, token: int) -> str:
    if token < 0:
        return ""
    try:
        return str(model.token_get_text(token))
    except (UnicodeDecodeError, ValueError):
        return ""
