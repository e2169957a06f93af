"""Each decode step's draft: prompt lookup first (free to make), else the draft model if loaded.

Both sources are paced (`engine.lookup.DraftPacer`): a source whose guesses keep failing drafts
less, then not at all, so that a step without a draft costs exactly one plain decode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.lookup import DraftPacer, PromptLookup

if TYPE_CHECKING:
    from engine.draft_model import DraftModel

# Most tokens the draft model guesses per step; its pacer shortens this after misses.
DRAFT_MODEL_TOKENS = 8
# The shortest context n-gram a lookup draft may follow: a single repeated token ("the", ",")
# predicts the next one too rarely to be worth a batch.
LOOKUP_MIN_NGRAM = 2


class Drafter:
    """Drafts for one reply.

    Args:
        prompt: The prompt's tokens (the lookup's first text to quote from).
        lookup_tokens: Most tokens a prompt-lookup draft may have; 0 turns lookup off.
        model: A loaded draft model, or None.
    """

    def __init__(self, prompt: Sequence[int], lookup_tokens: int, model: DraftModel | None) -> None:
        self.lookup = PromptLookup(min_ngram=LOOKUP_MIN_NGRAM) if lookup_tokens > 0 else None
        if self.lookup is not None:
            self.lookup.extend(prompt)
        self.lookup_pacer = DraftPacer(lookup_tokens, start_paused=True)
        self.model = model
        self.model_pacer = DraftPacer(DRAFT_MODEL_TOKENS, start_tokens=DRAFT_MODEL_TOKENS,
                                      max_pause=8)  # fmt: skip
        self._source = ""  # "lookup", "model" or "" for the draft being verified
        self._guess: int | None = None  # the paused lookup's guess for this step

    @property
    def active(self) -> bool:
        return self.lookup is not None or self.model is not None

    def draft(self, history: Sequence[int], token: int, budget: int) -> list[int]:
        """Tokens to verify after `token`, which follows `history` (the cache's tokens).

        `budget` caps the draft (room left in the window and in the reply).
        """
        self._source, self._guess = "", None
        if budget <= 0:
            return []
        if self.lookup is not None:
            want = min(self.lookup_pacer.want(), budget)
            if want > 0:
                drafts = self.lookup.draft(want)
                if drafts:
                    self._source = "lookup"
                    return drafts
            elif self.lookup_pacer.pause > 0:
                guess = self.lookup.draft(1)
                self._guess = guess[0] if guess else None
        if self.model is not None:
            want = min(self.model_pacer.want(), budget)
            if want > 0:
                drafts = self.model.draft([*history, token], want)
                if drafts:
                    self._source = "model"
                    return drafts
        return []

    def verified(self, drafts: Sequence[int], accepted: int, token: int) -> None:
        """The target kept `drafts[:accepted]` and then chose `token` (not yet decoded)."""
        if self.lookup is not None:
            self.lookup.extend([*drafts[:accepted], token])
            if self._source == "lookup":
                self.lookup_pacer.verified(len(drafts), accepted)
            else:
                chosen = drafts[0] if accepted else token
                self.lookup_pacer.observe(self._guess, chosen)
        if self.model is not None:
            if self._source == "model":
                self.model_pacer.verified(len(drafts), accepted)
            else:
                self.model_pacer.observe(None, token)
