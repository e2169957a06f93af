"""`ContextManager`: fit each turn into the loaded model's window, by the chosen overflow policy.

Typical use on the model thread::

    manager = ContextManager(session, ContextSettings(policy="summarize"))
    plan = manager.plan(TurnRequest(system_prompt, message, history, pinned, excerpts), 512)
    for item in manager.chat(plan, sampling, cancel):   # text pieces, then GenerationStats
        ...
    manager.budget            # a ContextBudget snapshot; safe to read from any thread

The prompt is laid out so that edits keep the longest stable prefix: the system message holds the
system prompt, then pinned material, then the running summary; then the kept history; then the new
message with this turn's excerpts. Trimming only ever moves forward and goes down to a low-water
mark, so most turns extend the previous prompt and ModelSession reuses its KV cache.
`TurnPlan.reused_tokens` and the reply's `GenerationStats.cached_tokens` say how much was reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.cancel import CancelToken
from engine.chat_session import ChatSession
from engine.context.budget import ContextBudget, TokenCounter
from engine.context.policies import (
    Draft,
    advance_cut,
    bare_old_questions,
    document_key,
    drop_oldest,
    fingerprint,
    shorten_documents,
    truncate_middle,
)
from engine.context.summary import RunningSummary, Summarizer, SummaryDoesNotFit
from engine.context.turn import (
    POLICIES,
    ContextChange,
    ConversationState,
    DocumentPlacement,
    TurnPlan,
    TurnRequest,
)
from engine.display import with_article
from engine.errors import GenerationError, HearthError
from engine.stats import GenerationStats

# Tokens the summary's own header adds to the system message.
_SUMMARY_HEADER_TOKENS = 40


class ContextFullError(GenerationError):
    """A turn that does not fit and that the policy may not shorten: a refusal, in words.

    Attributes:
        budget: What the turn would need, per part.
        proposals: What the person can do, in words.
        larger_window: A window this machine could load for the model (0 if none is larger).
        another_policy_helps: Another overflow policy could fit the turn (not when the system
            prompt and the message alone are too long).
    """

    def __init__(self, message: str, proposals: tuple[str, ...], budget: ContextBudget,
                 larger_window: int = 0, another_policy_helps: bool = False) -> None:  # fmt: skip
        hint = "You can " + "; or ".join(proposals) + "." if proposals else ""
        super().__init__(message, hint)
        self.proposals = proposals
        self.budget = budget
        self.larger_window = larger_window
        self.another_policy_helps = another_policy_helps


@dataclass(frozen=True)
class ContextSettings:
    """How the manager fits turns.

    Attributes:
        policy: "summarize", "sliding_window", "truncate_middle" or "stop".
        headroom: When history or pinned material must be cut, free this share of the window
            beyond what the turn needs, so the next turns fit without another rewrite.
        summary_tokens: The longest summary the model may write.
        min_document_tokens: Shortened documents keep at least this many tokens.
        max_reply_share: The reply reserve is at most this share of the window.
    """

    policy: str = "sliding_window"
    headroom: float = 0.25
    summary_tokens: int = 256
    min_document_tokens: int = 64
    max_reply_share: float = 0.5

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise HearthError(
                f"Unknown overflow policy '{self.policy}'.", f"Choose one of {', '.join(POLICIES)}."
            )


def reply_reserve(n_ctx: int, reply_tokens: int, max_reply_share: float) -> int:
    """Tokens kept free for a reply of `reply_tokens` (0: as many as `max_reply_share` of the
    `n_ctx`-token window allows)."""
    return max(1, min(reply_tokens or n_ctx, int(n_ctx * max_reply_share)))


def refuse_surely_too_long(message: str, longest_token_bytes: int, n_ctx: int,
                           reply_tokens: int, settings: ContextSettings | None = None) -> None:  # fmt: skip
    """Refuse, with no tokenizer and at once (fit for the GUI thread), a message that cannot
    fit the window however it is read: no token reads more than `longest_token_bytes` bytes
    (`ModelInfo.longest_token_bytes`), so it holds at least its bytes over that many tokens.
    A message that may fit is left to `ContextManager.refuse_if_too_long`, which counts it.

    Args:
        longest_token_bytes: The most bytes of text one of the model's tokens reads (by its
            tokenizer's rules, not as stored); 0 (unknown) refuses nothing.
        n_ctx: The loaded window.
        reply_tokens: Tokens to keep free for the reply (its max tokens).

    Raises:
        ContextFullError: It cannot fit; in the words `refuse_if_too_long` uses, its size
            given as the fewest tokens it can be.
    """
    if longest_token_bytes <= 0 or n_ctx <= 0:
        return
    reserve = reply_reserve(n_ctx, reply_tokens, (settings or ContextSettings()).max_reply_share)
    # Characters first: the UTF-8 bytes (at least as many) are counted only near the limit.
    if len(message) * 4 <= (n_ctx - reserve) * longest_token_bytes:
        return
    fewest = -(-len(message.encode("utf-8", "surrogatepass")) // longest_token_bytes)
    if fewest > n_ctx - reserve:
        budget = ContextBudget(n_ctx=n_ctx, message=fewest, reply_reserve=reserve)
        raise ContextFullError(_alone_too_long(f"at least {fewest:,}", reserve, n_ctx),
                               _ALONE_PROPOSALS, budget)  # fmt: skip


# What helps when the system prompt and the message alone do not fit.
_ALONE_PROPOSALS = ("shorten the message or the system prompt", "ask for a shorter reply")


def _alone_too_long(size: str, reserve: int, n_ctx: int) -> str:
    """Says that the system prompt and the message, `size` tokens, do not fit."""
    return (
        f"The system prompt and your message alone are {size} tokens; with {reserve:,} kept "
        f"for the reply they do not fit the {n_ctx:,}-token context window, whatever the "
        "overflow policy."
    )


class ContextManager:
    """Plans turns for one engine and one conversation at a time (model thread only).

    The session is a `ChatSession`: the local `ModelSession` or a `RemoteSession`.
    """

    def __init__(self, session: ChatSession, settings: ContextSettings | None = None) -> None:
        self.session = session
        self.settings = settings or ContextSettings()
        self.counter = TokenCounter(session)
        self.summarizer = Summarizer(session, self.counter, self.settings.summary_tokens)
        self.state = ConversationState()
        self._budget = ContextBudget(n_ctx=session.n_ctx if session.loaded else 0)

    # -- reading -------------------------------------------------------------------------------

    @property
    def budget(self) -> ContextBudget:
        """The latest budget snapshot (replaced, never changed in place: safe from any thread)."""
        return self._budget

    def reset(self) -> None:
        """Forget the conversation (cut, summary, document cuts): for a new or switched chat."""
        self.state = ConversationState()

    def set_policy(self, policy: str) -> None:
        self.settings = replace(self.settings, policy=policy)

    # -- planning ------------------------------------------------------------------------------

    def plan(self, request: TurnRequest, reply_tokens: int,
             cancel: CancelToken | None = None) -> TurnPlan:  # fmt: skip
        """The messages for this turn, fitted to the window by the policy.

        Args:
            request: The parts of the prompt.
            reply_tokens: Tokens to keep free for the reply (its max tokens).
            cancel: Checked while the model writes a summary.

        Raises:
            ContextFullError: the turn does not fit and the policy is "stop", or even the system
                prompt and the new message alone do not fit.
            SummaryCancelled: cancelled while summarizing.
        """
        n_ctx = self.session.n_ctx
        policy = self.settings.policy
        reserve = self._reserve(reply_tokens)
        limit = n_ctx - reserve
        low_water = max(0, limit - int(self.settings.headroom * n_ctx))
        self.refuse_if_too_long(request, reply_tokens)
        state = self._state_for(request, policy)
        draft = self._draft(request, state)
        summary = state.summary
        written = False

        tokens = self.counter.exact(draft.messages())
        attempts = 0
        while len(tokens) > limit:
            if policy == "stop":
                raise self._refusal(draft, tokens, n_ctx, reserve, stopped=True)
            if attempts == 0:
                # What no policy may cut: refuse at once rather than after dropping everything.
                floor = self._floor(request)
                if floor > limit:
                    raise self._refusal(draft, tokens, n_ctx, reserve, stopped=False, floor=floor)
            if attempts == 4:
                raise self._refusal(draft, tokens, n_ctx, reserve, stopped=False)
            attempts += 1
            # Estimates are per message; the rendered prompt may differ by the template's extra
            # tokens, so aim at what fits by the estimate's own scale.
            just_fits = draft.estimate() - (len(tokens) - limit)
            target = min(low_water, just_fits)

            def summarize(target: int = target) -> bool:
                nonlocal summary, written
                before = summary
                summary = self._summarize(draft, target, summary, cancel)
                written = written or summary is not before
                return summary is not before

            try:
                progressed = self._shrink(draft, policy, target, just_fits, state, summarize)
            except SummaryDoesNotFit as exc:
                raise self._refusal(draft, tokens, n_ctx, reserve, stopped=False,
                                    summary_need=exc.need) from exc  # fmt: skip
            tokens = self.counter.exact(draft.messages())
            if not progressed and len(tokens) > limit:
                raise self._refusal(draft, tokens, n_ctx, reserve, stopped=False)

        self._remember(state, request, draft, summary, policy)
        budget = self._with_kv(draft.budget(len(tokens), n_ctx, reserve))
        self._budget = budget
        return self._turn_plan(draft, tokens, budget, summary, policy,
                               changes=tuple(draft.changes), summary_written=written,
                               reused_tokens=self._reusable_prefix(tokens))  # fmt: skip

    def refuse_if_too_long(self, request: TurnRequest, reply_tokens: int) -> None:
        """Refuse at once a turn whose system prompt and new message alone cannot fit the
        window, whatever the policy, counting the message only as far as it takes to tell
        (`TokenCounter.beyond`): `plan` would refuse it too, after tokenizing all of it.

        Raises:
            ContextFullError: They cannot fit; the message gives their size as an estimate.
        """
        n_ctx = self.session.n_ctx
        reserve = self._reserve(reply_tokens)
        system = self.counter.text(request.system_prompt.strip()) + 2 * self.counter.framing
        message = self.counter.beyond(request.message, n_ctx - reserve - system)
        if message:
            budget = ContextBudget(n_ctx=n_ctx, system=system, message=message,
                                   reply_reserve=reserve)  # fmt: skip
            raise self._refusal(None, [], n_ctx, reserve, stopped=False, floor=system + message,
                                budget=budget)  # fmt: skip

    def measure(self, request: TurnRequest, reply_tokens: int,
                remembered: bool = True) -> TurnPlan:  # fmt: skip
        """`request` as it stands, counted but not fitted: nothing is dropped, summarized or
        shortened, the model writes nothing, and nothing is remembered. Its budget may exceed
        the window (`plan` makes the next turn fit).

        Args:
            request: The parts of the prompt.
            reply_tokens: Tokens to keep free for the reply (its max tokens).
            remembered: Keep out what earlier turns of this manager's conversation left out;
                False for another conversation, whose history goes in whole.
        """
        policy = self.settings.policy
        state = self._state_for(request, policy, remembered)
        draft = self._draft(request, state)
        tokens = self.counter.exact(draft.messages())
        budget = draft.budget(len(tokens), self.session.n_ctx, self._reserve(reply_tokens))
        return self._turn_plan(draft, tokens, self._with_kv(budget), state.summary, policy)

    @staticmethod
    def _turn_plan(draft: Draft, tokens: Sequence[int], budget: ContextBudget,
                   summary: RunningSummary | None, policy: str, **planned: Any) -> TurnPlan:  # fmt: skip
        """The plan of `draft` rendered as `tokens`; `planned`: what only fitting tells."""
        return TurnPlan(
            messages=draft.messages(),
            prompt_tokens=len(tokens),
            budget=budget,
            left_out=draft.left_out(),
            summary=summary if draft.summary_text else None,
            policy=policy,
            **planned,
        )

    def chat(self, plan: TurnPlan, sampling: Any = None,
             cancel: CancelToken | None = None) -> Iterator[str | GenerationStats]:  # fmt: skip
        """Stream the reply to `plan`, keeping `budget` current as tokens arrive.

        The reply's max tokens is held to the plan's reserve, so it cannot overflow the window.
        """
        from engine.session import SamplingSettings

        sampling = sampling or SamplingSettings()
        reserve = plan.budget.reply_reserve
        max_tokens = sampling.max_tokens if 0 < sampling.max_tokens <= reserve else reserve
        sampling = replace(sampling, max_tokens=max_tokens)
        # About one token per piece while streaming; the final stats give the exact count.
        for pieces, item in enumerate(self.session.chat(plan.messages, sampling, cancel), 1):
            if isinstance(item, GenerationStats):
                self._budget = self._after(plan.budget, item.generated_tokens)
                yield item
                return
            self._budget = self._after(plan.budget, pieces)
            yield item

    def place_document(self, text: str, request: TurnRequest | None = None,
                       reply_tokens: int = 512) -> DocumentPlacement:  # fmt: skip
        """Whether a dropped document fits whole in what the conversation can spare.

        It fits when, added as pinned material, the prompt still leaves the reply reserve and the
        headroom free; otherwise it should be served by retrieval from the document library.
        """
        n_ctx = self.session.n_ctx
        tokens = self.counter.text(text)
        reserve = min(reply_tokens, int(n_ctx * self.settings.max_reply_share))
        used = 0
        if request is not None:
            used = self._draft(request, self._state_for(request, self.settings.policy)).estimate()
        available = max(0, n_ctx - reserve - used - int(self.settings.headroom * n_ctx))
        if tokens <= available:
            return DocumentPlacement("whole", tokens, available)
        return DocumentPlacement(
            "retrieval",
            tokens,
            available,
            f"The document is {tokens:,} tokens; the conversation can spare {available:,}, so "
            "its passages will be found by search instead.",
        )

    # -- steps ---------------------------------------------------------------------------------

    def _shrink(self, draft: Draft, policy: str, target: int, just_fits: int,
                state: ConversationState, summarize: Callable[[], bool]) -> bool:  # fmt: skip
        """Run the policy's chain of steps until the draft fits; True if any step changed it.

        Steps that rewrite the cached prefix (history, pinned) go down to the low-water `target`;
        excerpts, which come after the history anyway, lose just enough (`just_fits`).
        """
        minimum = self.settings.min_document_tokens

        def excerpts() -> bool:
            return shorten_documents(draft, just_fits, "documents", minimum)

        def pinned() -> bool:
            return shorten_documents(draft, target, "pinned", minimum, state.pinned_keep)

        def history() -> bool:
            return drop_oldest(draft, target, keep_first=True)

        def earlier_excerpts() -> bool:
            return bare_old_questions(draft, target)

        chains: dict[str, tuple[Callable[[], bool], ...]] = {
            "summarize": (earlier_excerpts, summarize, excerpts, pinned),
            "sliding_window": (earlier_excerpts, history, excerpts, pinned),
            "truncate_middle": (earlier_excerpts, excerpts, pinned, history),
        }
        changed = False
        for step in chains[policy]:
            if draft.estimate() <= just_fits:
                break
            changed = step() or changed
        return changed

    def _summarize(self, draft: Draft, target: int, summary: RunningSummary | None,
                   cancel: CancelToken | None) -> RunningSummary | None:  # fmt: skip
        """Fold the oldest kept turns into the running summary until the draft fits `target`."""
        history = draft.request.history
        current = self.counter.text(draft.summary_block())
        room_for_summary = self.settings.summary_tokens + _SUMMARY_HEADER_TOKENS - current
        start, cut = advance_cut(draft, target - room_for_summary)
        if cut == start:
            return summary
        turns = [draft.history_message(i) for i in range(start, cut)]
        text = draft.summary_text
        # The request gets the full system message when it leaves room, else one without the
        # pinned material: the summary request must fit the window like any other.
        system, chunks = self.summarizer.plan(
            (draft.system_content(), _summary_system(draft)), turns
        )
        full = system == draft.system_content()
        for chunk in chunks:
            messages = [{"role": "system", "content": system}] if system else []
            text = self.summarizer.fold(messages, chunk, cancel) or text
            draft.summary_text = text or "(The model wrote no summary of these messages.)"
            draft.summary_covers = cut
            system = draft.system_content() if full else _summary_system(draft)
        count = cut - start
        draft.changes.append(
            ContextChange(
                kind="summarized",
                part="history",
                tokens=sum(self.counter.message(message) for message in turns),
                messages=tuple(range(start, cut)),
                description=f"{count} older message{'s' if count != 1 else ''} replaced by a "
                "summary the model wrote (marked as a summary)",
            )
        )
        return RunningSummary(
            text=draft.summary_text,
            covered=cut,
            fingerprint=fingerprint(history[:cut]),
            updates=(summary.updates if summary else 0) + len(chunks),
        )

    # -- state ---------------------------------------------------------------------------------

    def _state_for(self, request: TurnRequest, policy: str,
                   remembered: bool = True) -> ConversationState:  # fmt: skip
        """The remembered cut for this conversation, or a fresh one if the history changed (or
        not `remembered`: another conversation's)."""
        state = self.state
        history = request.history
        edge = max(state.cut, state.head, state.bare)
        if (
            not remembered
            or state.policy != policy
            or len(history) < edge
            or fingerprint(history[:edge]) != state.fingerprint
        ):
            state = ConversationState(policy=policy, fingerprint=fingerprint([]))
        return state

    def _draft(self, request: TurnRequest, state: ConversationState) -> Draft:
        draft = Draft(request, self.counter, head=state.head, cut=state.cut, bare=state.bare)
        summary = state.summary
        if summary is not None and summary.valid_for(request.history):
            draft.summary_text = summary.text
            draft.summary_covers = summary.covered
        for index, document in enumerate(request.pinned):
            keep = state.pinned_keep.get(document_key(document))
            if keep is not None:  # cut as in earlier turns, so the prefix stays the same
                draft.pinned[index] = truncate_middle(document.text, keep, self.counter)
        return draft

    def _remember(self, state: ConversationState, request: TurnRequest, draft: Draft,
                  summary: RunningSummary | None, policy: str) -> None:  # fmt: skip
        edge = max(draft.cut, draft.head, draft.bare)
        self.state = ConversationState(
            policy=policy,
            cut=draft.cut,
            head=draft.head,
            bare=draft.bare,
            fingerprint=fingerprint(request.history[:edge]),
            summary=summary,
            pinned_keep=dict(state.pinned_keep),
        )

    # -- refusals ------------------------------------------------------------------------------

    def _refusal(self, draft: Draft | None, tokens: list[int], n_ctx: int, reserve: int,
                 stopped: bool, floor: int = 0, summary_need: int = 0,
                 budget: ContextBudget | None = None) -> ContextFullError:  # fmt: skip
        """The refusal for a turn that cannot fit; `floor` > 0: the parts never cut are too big;
        `summary_need` > 0: the summarize policy's own request does not fit. `budget` (with no
        `draft`): a floor estimated before the turn was tokenized (`refuse_if_too_long`)."""
        if budget is None:
            assert draft is not None
            budget = draft.budget(len(tokens), n_ctx, reserve)
        need = summary_need or (floor or len(tokens)) + reserve
        larger = self._larger_window(need)
        policy = self.settings.policy
        proposals: list[str] = []
        if floor:
            size = f"{floor:,}" if draft is not None else f"about {_rounded(floor):,}"
            message = _alone_too_long(size, reserve, n_ctx)
            proposals += _ALONE_PROPOSALS
        elif summary_need:
            message = (
                f"The overflow policy 'summarize' cannot fit its own request: summarizing the "
                f"older messages needs {summary_need:,} tokens, the summary included, and the "
                f"context window holds {n_ctx:,}."
            )
            proposals += ["choose the sliding-window policy for this chat",
                          "shorten the system prompt"]  # fmt: skip
        elif stopped:
            assert draft is not None
            parts = ", ".join(f"{name} {count:,}" for name, count in draft.parts().items() if count)
            message = (
                f"This turn needs {need:,} tokens ({parts}, reply {reserve:,}) but the context "
                f"window holds {n_ctx:,}. Nothing was left out, because the overflow policy is "
                "'stop'."
            )
            proposals += ["start a new chat",
                          "choose the summarize or sliding-window policy"]  # fmt: skip
        else:
            assert draft is not None
            parts = ", ".join(f"{name} {count:,}" for name, count in draft.parts().items() if count)
            done = "summarized" if policy == "summarize" else "left out"
            message = (
                f"Even with older messages {done} and documents shortened (overflow policy "
                f"'{policy}'), this turn needs {len(tokens):,} tokens ({parts}) and {reserve:,} "
                f"more for the reply; the context window holds {n_ctx:,}."
            )
            proposals += ["unpin some material or shorten the message", "ask for a shorter reply"]
        if larger:
            proposals.append(f"load the model with {with_article(larger, '-token')} window, "
                             "which fits this machine")  # fmt: skip
        return ContextFullError(message, tuple(proposals), budget, larger,
                                another_policy_helps=bool(summary_need) or stopped)  # fmt: skip

    def _floor(self, request: TurnRequest) -> int:
        """Tokens of the system prompt and the new message alone, as the template renders them."""
        system = request.system_prompt.strip()
        messages = [{"role": "system", "content": system}] if system else []
        return len(self.counter.exact([*messages, {"role": "user", "content": request.message}]))

    def _larger_window(self, need: int) -> int:
        """A window this machine can hold that would fit `need` tokens; 0 if none."""
        report = getattr(self.session, "report", None)  # a remote engine's window is its own
        if report is None:
            return 0
        try:
            from engine.context.fit import MachineMemory, largest_window

            allocation = getattr(self.session, "allocation", None)  # a remote engine has none
            memory = MachineMemory.probe(
                freed_ram=allocation.ram if allocation else 0,
                freed_vram=allocation.vram if allocation else 0,
            )
            window = largest_window(report.model, memory, report.type_k, report.type_v,
                                    report.n_gpu_layers, flash_attn=report.flash_attn or None)  # fmt: skip
        except (HearthError, OSError):
            return 0
        return window if window >= need and window > self.session.n_ctx else 0

    def _reserve(self, reply_tokens: int) -> int:
        """Tokens kept free for a reply of `reply_tokens` (0: as many as the policy allows)."""
        return reply_reserve(self.session.n_ctx, reply_tokens, self.settings.max_reply_share)

    # -- KV cache ------------------------------------------------------------------------------

    def _with_kv(self, budget: ContextBudget) -> ContextBudget:
        """`budget` with what the KV cache holds now and the bytes it takes."""
        cached = self._cached_count()
        return replace(budget, kv_tokens=cached, kv_bytes_in_use=self._kv_bytes(cached),
                       kv_bytes_total=self._kv_total())  # fmt: skip

    def _cached_count(self) -> int:
        return len(self.session.cached_tokens)

    def _reusable_prefix(self, tokens: list[int]) -> int:
        cached = self.session.cached_tokens
        limit = min(len(cached), len(tokens) - 1)
        same = 0
        while same < limit and cached[same] == tokens[same]:
            same += 1
        return same

    def _kv_bytes(self, n_tokens: int) -> int:
        from engine.memory.estimate import kv_cache_bytes, swa_cells

        report = getattr(self.session, "report", None)  # a remote engine has no local KV cache
        if report is None:
            return 0
        info = report.model
        window = None if report.swa_full else swa_cells(info, report.n_ctx, report.n_batch, False)
        return kv_cache_bytes(info, n_tokens, report.type_k, report.type_v, window)

    def _kv_total(self) -> int:
        allocation = getattr(self.session, "allocation", None)  # a remote engine has none
        if allocation is not None and allocation.part("kv_cache"):
            return allocation.part("kv_cache")
        return self._kv_bytes(self.session.n_ctx)

    def _after(self, budget: ContextBudget, generated: int) -> ContextBudget:
        kv_tokens = budget.prompt + generated
        return replace(budget, generated=generated, kv_tokens=kv_tokens,
                       kv_bytes_in_use=self._kv_bytes(kv_tokens))  # fmt: skip


def _summary_system(draft: Draft) -> str:
    """The system message of a summary request without pinned material: the system prompt and
    the summary so far."""
    blocks = [draft.request.system_prompt.strip(), draft.summary_block()]
    return "\n\n".join(block for block in blocks if block)


def _rounded(tokens: int) -> int:
    """An estimated count as it is said: to the thousand from 10,000 on, else to the hundred."""
    step = 1000 if tokens >= 10_000 else 100
    return max(step, round(tokens / step) * step)
