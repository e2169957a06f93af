"""Prompt-lookup drafting: guess the next tokens by finding the latest n-gram earlier in the context.

It pays off when a reply quotes its prompt (documents, code); the model checks every guess in one
batch, so wrong guesses never change what is sampled. They do cost compute: a batch that verifies
a draft takes longer than a plain one-token step and computes logits for every drafted position.
`DraftPacer` keeps that cost near zero on replies that quote nothing: it backs off after misses,
and watches whether the lookup *would* have guessed right (free: no extra decode) to know when the
reply starts quoting again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable


class PromptLookup:
    """An n-gram index over the context that grows token by token, so drafting is O(1) per step."""

    def __init__(self, max_ngram: int = 3, min_ngram: int = 1) -> None:
        self._sizes = range(max_ngram, min_ngram - 1, -1)
        self._tokens: list[int] = []
        # n -> {n-gram: index of the token that followed its latest earlier occurrence}
        self._follow: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in self._sizes}

    def extend(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self._tokens.append(token)
            last = len(self._tokens) - 1
            # Index the n-grams that end just before the new token: it is their continuation.
            for n in self._sizes:
                if last >= n:
                    self._follow[n][tuple(self._tokens[last - n : last])] = last

    def draft(self, max_tokens: int) -> list[int]:
        """Up to `max_tokens` tokens that followed the longest tail n-gram seen before."""
        if max_tokens <= 0:
            return []
        for n in self._sizes:
            if len(self._tokens) < n:
                continue
            follow = self._follow[n].get(tuple(self._tokens[-n:]))
            if follow is not None:
                return self._tokens[follow : follow + max_tokens]
        return []


class DraftPacer:
    """How many tokens to draft at each step, from how earlier guesses fared.

    A fully accepted draft doubles the length (up to `max_tokens`); a partly accepted one sets it
    to one more than was accepted; a draft rejected outright halves it and pauses drafting for
    1, 2, 4 ... up to `max_pause` steps. During a pause every step is a plain decode, but the
    lookup's guess is still compared with the token the model chose (`observe`): `resume_after`
    right guesses in a row end the pause, because the reply has started quoting. With
    `start_paused` (prompt lookup) drafting begins only that way: guesses are free to check,
    drafts are not.
    """

    def __init__(
        self,
        max_tokens: int,
        start_tokens: int = 4,
        max_pause: int = 64,
        resume_after: int = 2,
        start_paused: bool = False,
    ) -> None:
        self.max_tokens = max_tokens
        self.length = max(1, min(start_tokens, max_tokens))
        self.max_pause = max_pause
        self.resume_after = resume_after
        # Paused from the start, drafting waits for `resume_after` right guesses in a row, with
        # no blind try when a pause runs out: a reply that never quotes never pays for a draft.
        self.pause = sys.maxsize if start_paused else 0
        self._misses = 0
        self._streak = 0

    def want(self) -> int:
        """Tokens to draft now; 0 means decode plainly this step."""
        return 0 if self.pause > 0 or self.max_tokens <= 0 else self.length

    def verified(self, drafted: int, accepted: int) -> None:
        """Record a verified draft of `drafted` tokens whose first `accepted` were right."""
        if drafted <= 0:
            return
        if accepted >= drafted:
            self.length = min(self.max_tokens, self.length * 2)
            self._misses = 0
        elif accepted > 0:
            self.length = max(1, min(self.max_tokens, accepted + 1))
            self._misses = 0
        else:
            self.length = max(1, self.length // 2)
            self.pause = min(self.max_pause, 2**self._misses)
            self._misses += 1
            self._streak = 0

    def observe(self, guessed: int | None, chosen: int) -> None:
        """A plain step: the lookup guessed `guessed` (None: no guess), the model chose `chosen`."""
        if self.pause <= 0:
            return
        self.pause -= 1
        self._streak = self._streak + 1 if guessed == chosen else 0
        if self._streak >= self.resume_after:
            self.pause = 0
            self._streak = 0
