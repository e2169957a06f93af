"""Prompt-lookup drafting: guess the next tokens by finding the latest n-gram earlier in the context.

It pays off when a reply quotes its prompt (documents, code); the model checks every guess in one
batch, so wrong guesses cost a little compute and never change what is sampled.
"""

from __future__ import annotations

from collections.abc import Iterable


class PromptLookup:
    """An n-gram index over the context that grows token by token, so drafting is O(1) per step."""

    def __init__(self, max_ngram: int = 3) -> None:
        self._sizes = range(max_ngram, 0, -1)
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
