"""Whether dropped documents go into the prompt whole or are searched, judged against their chat.

Every dropped file is indexed (so its pages can be cited); one small enough for what the
conversation can spare also goes into every prompt whole. Files are judged in order, each
against the conversation plus the ones before it that went in whole, so a drop of several files
never overfills the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.chat.answer import WholeDocument
from engine.chat.engine import ChatEngine
from engine.context.budget import Message
from engine.context.turn import TurnRequest

log = logging.getLogger(__name__)

# (path, max_chars) -> the document's text, or None when it is longer than max_chars.
ReadText = Callable[[Path, int], "str | None"]
# A token takes at least one character on average and rarely more than eight: a text longer than
# eight characters per token of the window can never fit whole, so it is not read in full.
CHARS_PER_TOKEN_LIMIT = 8


@dataclass(frozen=True)
class DocumentsToPlace:
    """Dropped files and the conversation they were dropped on, as its next turn would send it."""

    conversation_id: int
    paths: tuple[str, ...]
    system_prompt: str = ""
    history: tuple[Message, ...] = ()
    pinned: tuple[WholeDocument, ...] = ()
    reply_tokens: int = 512
    overflow_policy: str = "sliding_window"


@dataclass(frozen=True)
class Placement:
    """How one dropped file reaches the model.

    Attributes:
        mode: "whole" (its text in every prompt) or "retrieval" (its passages found by search).
        tokens: Its length in tokens (0 when not read).
        text: The whole text, for mode "whole".
        reason: Why it is searched, in words ("" when whole).
        unreadable: No text could be read here; the indexer's report says why.
    """

    conversation_id: int
    path: str
    mode: Literal["whole", "retrieval"] = "retrieval"
    tokens: int = 0
    text: str = ""
    reason: str = ""
    unreadable: bool = False

    @property
    def whole(self) -> bool:
        return self.mode == "whole"


def place_documents(
    engine: ChatEngine, request: DocumentsToPlace, read: ReadText
) -> Iterator[Placement]:
    """Decide, file by file in order, whole or retrieval; reading failures mean "search it"."""
    pinned = list(request.pinned)
    for path in request.paths:
        placement = _place(engine, request, path, pinned, read)
        if placement.whole:
            pinned = [doc for doc in pinned if doc.path != path]
            pinned.append(WholeDocument(path, placement.text))
        yield placement


def _place(
    engine: ChatEngine,
    request: DocumentsToPlace,
    path: str,
    pinned: list[WholeDocument],
    read: ReadText,
) -> Placement:
    conversation = request.conversation_id
    if not engine.ready:
        reason = "No model is loaded, so the document will be searched."
        return Placement(conversation, path, reason=reason)
    try:
        text = read(Path(path), engine.n_ctx * CHARS_PER_TOKEN_LIMIT)
    except Exception as exc:  # PyMuPDF and the other readers raise many types for a bad file
        # The indexer reports what is wrong with the file; here it only means "search it".
        log.info("Reading %s to place it failed: %s", path, exc)
        return Placement(conversation, path, unreadable=True)
    if text is None:  # longer than any window could hold
        return Placement(conversation, path)
    if not text.strip():  # nothing to read: the indexer says why (scanned pages, empty file)
        return Placement(conversation, path, unreadable=True)
    turn = TurnRequest(
        system_prompt=request.system_prompt,
        message="",
        history=request.history,
        pinned=[doc.as_prompt() for doc in pinned if doc.path != path],
    )
    decision = engine.place_document(text, turn, request.reply_tokens, request.overflow_policy)
    if decision.mode == "whole":
        return Placement(conversation, path, "whole", decision.tokens, text)
    return Placement(conversation, path, "retrieval", decision.tokens, reason=decision.reason)
