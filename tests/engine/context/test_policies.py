"""Each overflow policy on the real SmolLM2 model with a small window: what survives, what is
recorded, and that llama.cpp never sees more tokens than its window holds."""

from __future__ import annotations

import pytest

from engine.context.manager import ContextFullError, ContextManager, ContextSettings
from engine.context.policies import SUMMARY_HEADER
from engine.context.turn import Document, TurnRequest
from engine.session import LoadSettings, ModelSession, SamplingSettings
from engine.stats import GenerationStats

# Every test here loads a real model (the chat model or the embedding model).
pytestmark = pytest.mark.slow

N_CTX = 1024
REPLY = SamplingSettings(temperature=0, max_tokens=8, repeat_penalty=1.0)
SYSTEM = "You are Hearth, a careful assistant. Answer in one short sentence."
TOPICS = ("sailing", "bread", "violins", "glaciers", "tea", "bridges", "owls", "comets",
          "maps", "clocks", "salt", "lanterns", "orchards", "kites", "ferns", "harbours")  # fmt: skip


@pytest.fixture(scope="module")
def session(default_model_path):
    session = ModelSession()
    session.load(LoadSettings(model_path=str(default_model_path), n_ctx=N_CTX))
    yield session
    session.unload()


def conversation(exchanges: int) -> list[dict[str, str]]:
    """A made-up conversation of about 70 tokens per exchange."""
    history = []
    for i in range(exchanges):
        topic = TOPICS[i % len(TOPICS)]
        history.append({"role": "user", "content": f"Question {i}: tell me three facts about "
                        f"{topic}, and say why people in old towns cared about {topic}."})  # fmt: skip
        history.append({"role": "assistant", "content": f"Answer {i}: {topic} mattered for "
                        f"trade, for food and for stories; old towns kept records of {topic} "
                        "in their ledgers and their songs."})  # fmt: skip
    return history


def reply(manager, plan):
    pieces, stats = [], None
    for item in manager.chat(plan, REPLY):
        if isinstance(item, GenerationStats):
            stats = item
        else:
            pieces.append(item)
    assert stats is not None and stats.stop_reason != "error", stats
    assert stats.prompt_tokens + stats.generated_tokens <= N_CTX
    return "".join(pieces), stats


def assert_survivors(plan, request):
    assert plan.messages[0]["role"] == "system"
    assert plan.messages[0]["content"].startswith(request.system_prompt)
    assert plan.messages[-1]["role"] == "user"
    assert plan.messages[-1]["content"].endswith(request.message)
    assert plan.prompt_tokens + plan.budget.reply_reserve <= N_CTX


def test_a_turn_that_fits_goes_in_unchanged_and_the_budget_adds_up(session):
    manager = ContextManager(session)
    history = conversation(2)
    request = TurnRequest(SYSTEM, "And what about rivers?", history)
    plan = manager.plan(request, 64)
    assert plan.messages == [{"role": "system", "content": SYSTEM}, *history,
                             {"role": "user", "content": request.message}]  # fmt: skip
    assert not plan.changes and not plan.left_out and plan.notice == ""
    assert plan.prompt_tokens == len(session.prompt_tokens(plan.messages))
    budget = plan.budget
    assert budget.prompt == plan.prompt_tokens
    assert sum(budget.parts().values()) == N_CTX
    assert budget.history > budget.message > 0 and budget.reply_reserve == 64


def test_sliding_window_keeps_system_first_exchange_and_newest_message(session):
    manager = ContextManager(session, ContextSettings(policy="sliding_window"))
    history = conversation(16)
    request = TurnRequest(SYSTEM, "Which of these topics was the first one?", history)
    plan = manager.plan(request, 64)
    assert_survivors(plan, request)
    assert plan.messages[1] == history[0] and plan.messages[2] == history[1]
    dropped = [c for c in plan.changes if c.kind == "dropped"]
    assert dropped and dropped[0].messages[0] == 2, "the first exchange stays"
    assert set(plan.left_out) == set(dropped[0].messages)
    assert "dropped" in plan.notice
    # The window was trimmed below the low-water mark, so the next turns fit without rewrites.
    assert plan.budget.free >= N_CTX // 4 - 64
    _, stats = reply(manager, plan)

    history = [*history, {"role": "user", "content": request.message},
               {"role": "assistant", "content": "It was sailing."}]  # fmt: skip
    request = TurnRequest(SYSTEM, "And the second one?", history)
    again = manager.plan(request, 64)
    assert not again.changes, "the earlier cut holds: no new rewrite"
    assert again.left_out == plan.left_out
    assert again.reused_tokens > plan.prompt_tokens // 2
    _, stats = reply(manager, again)
    assert stats.cached_tokens == again.reused_tokens


def read_with_excerpts(exchanges: int) -> list[dict[str, str]]:
    """A conversation about documents: each question as the model read it, after ~110 tokens
    of excerpts, with its words as typed beside it."""
    history = []
    for i, message in enumerate(conversation(exchanges)):
        if message["role"] == "user":
            topic = TOPICS[i // 2 % len(TOPICS)]
            excerpts = " ".join(f"[{n}] The guide's page on {topic} says item {n} matters."
                                for n in range(1, 9))  # fmt: skip
            message = {**message, "content": f"{excerpts}\n\nQuestion: {message['content']}",
                       "typed": message["content"]}  # fmt: skip
        history.append(message)
    return history


@pytest.mark.parametrize("policy", ["sliding_window", "summarize", "truncate_middle"])
def test_earlier_excerpts_leave_before_any_turn_does(session, policy):
    manager = ContextManager(session, ContextSettings(policy=policy))
    history = read_with_excerpts(5)
    assert len(session.prompt_tokens(history)) > N_CTX - 64  # all of it cannot fit
    request = TurnRequest(SYSTEM, "Which topic came first?", history)
    plan = manager.plan(request, 64)
    assert_survivors(plan, request)
    [change] = plan.changes
    assert change.description.startswith("the excerpts read with ")
    assert not plan.left_out and not plan.summary_written, "every turn stays, in words"
    kept = plan.messages[1:-1]
    assert [m["role"] for m in kept] == [m["role"] for m in history]
    # The oldest questions go as typed; the newest keep their excerpts (and the cached prefix).
    assert kept[0] == {"role": "user", "content": history[0]["typed"]}
    assert kept[-2] == {"role": "user", "content": history[-2]["content"]}
    assert all(set(m) == {"role", "content"} for m in plan.messages), "only what models read"
    _, stats = reply(manager, plan)

    history = [*history, {"role": "user", "content": request.message},
               {"role": "assistant", "content": "Sailing."}]  # fmt: skip
    again = manager.plan(TurnRequest(SYSTEM, "And the second?", history), 64)
    assert not again.changes, "the earlier cut holds: no new rewrite"
    assert again.messages[1:-3] == kept
    _, stats = reply(manager, again)
    assert stats.cached_tokens == again.reused_tokens > plan.prompt_tokens // 2


def test_summarize_writes_a_marked_summary_once_and_reuses_it(session):
    manager = ContextManager(session, ContextSettings(policy="summarize", summary_tokens=48))
    history = conversation(18)
    request = TurnRequest(SYSTEM, "What did we talk about first?", history)
    plan = manager.plan(request, 48)
    assert_survivors(plan, request)
    assert plan.summary_written and manager.summarizer.calls >= 1
    assert plan.summary is not None and plan.summary.text.strip()
    assert plan.summary.covered == max(plan.left_out) + 1
    header = SUMMARY_HEADER.split("(")[0]
    assert header in plan.messages[0]["content"], "the summary is marked as one"
    assert plan.summary.text in plan.messages[0]["content"]
    assert [c.kind for c in plan.changes] == ["summarized"]
    assert plan.budget.summary > 0
    _, stats = reply(manager, plan)

    calls = manager.summarizer.calls
    history = [*history, {"role": "user", "content": request.message},
               {"role": "assistant", "content": "We talked about sailing."}]  # fmt: skip
    again = manager.plan(TurnRequest(SYSTEM, "And then?", history), 48)
    assert not again.summary_written and manager.summarizer.calls == calls, "reused, not rewritten"
    assert again.summary.text == plan.summary.text
    assert again.reused_tokens > 0
    _, stats = reply(manager, again)
    assert stats.cached_tokens == again.reused_tokens


def test_truncate_middle_keeps_both_ends_of_a_pinned_document_and_the_same_cut(session):
    manager = ContextManager(session, ContextSettings(policy="truncate_middle"))
    body = " ".join(f"Clause {i} says the lease runs for {i} months." for i in range(150))
    pinned = Document(f"START-OF-LEASE {body} END-OF-LEASE", "lease.txt")
    request = TurnRequest(SYSTEM, "How long does the lease run?", conversation(1), [pinned])
    plan = manager.plan(request, 64)
    assert_survivors(plan, request)
    system = plan.messages[0]["content"]
    assert "START-OF-LEASE" in system and "END-OF-LEASE" in system
    assert "of the middle left out" in system
    truncated = [c for c in plan.changes if c.kind == "truncated"]
    assert truncated and truncated[0].title == "lease.txt" and truncated[0].tokens > 500
    assert plan.messages[1:3] == list(request.history), "the history did not have to go"
    reply(manager, plan)

    history = [*request.history, {"role": "user", "content": request.message},
               {"role": "assistant", "content": "Several months."}]  # fmt: skip
    again = manager.plan(TurnRequest(SYSTEM, "Who signs it?", history, [pinned]), 64)
    assert again.messages[0] == plan.messages[0], "the document is cut the same way again"
    assert again.reused_tokens >= plan.budget.system + plan.budget.pinned


def test_truncate_middle_shortens_long_excerpts_not_the_question(session):
    manager = ContextManager(session, ContextSettings(policy="truncate_middle"))
    long = " ".join(f"Row {i}: the pump at station {i} failed twice." for i in range(120))
    excerpts = [Document("Short excerpt about the pump.", "pumps.pdf, page 2"),
                Document(long, "pumps.pdf, page 9")]  # fmt: skip
    request = TurnRequest(SYSTEM, "Which pump failed?", [], excerpts=excerpts)
    plan = manager.plan(request, 64)
    assert_survivors(plan, request)
    question = plan.messages[-1]["content"]
    assert "[1] (pumps.pdf, page 2)\nShort excerpt about the pump." in question
    assert "of the middle left out" in question
    assert [c.title for c in plan.changes] == ["pumps.pdf, page 9"]
    reply(manager, plan)


def test_stop_refuses_with_a_clear_message_and_a_proposal(session):
    manager = ContextManager(session, ContextSettings(policy="stop"))
    request = TurnRequest(SYSTEM, "Sum it all up.", conversation(16))
    with pytest.raises(ContextFullError) as refused:
        manager.plan(request, 64)
    error = refused.value
    assert f"the context window holds {N_CTX:,}" in error.message
    assert "Nothing was left out" in error.message
    assert "start a new chat" in error.hint
    # SmolLM2 is trained for 8K and this machine holds that: the error says so.
    assert error.larger_window > N_CTX and f"{error.larger_window:,}-token window" in error.hint
    assert error.budget.prompt > N_CTX - 64


@pytest.mark.parametrize("policy", ["summarize", "sliding_window", "truncate_middle"])
def test_a_message_longer_than_the_window_is_refused_not_crashed(session, policy):
    manager = ContextManager(session, ContextSettings(policy=policy))
    message = " ".join(f"word{i}" for i in range(900))
    with pytest.raises(ContextFullError) as refused:
        manager.plan(TurnRequest(SYSTEM, message, conversation(2)), 64)
    assert "your message alone are" in refused.value.message
    assert "shorten the message" in refused.value.hint
    assert manager.summarizer.calls == 0, "refused before anything was summarized or dropped"


def paste(chars: int) -> str:
    """A pasted text of `chars` characters, in lines of words."""
    line = "the router resets when the button is held for ten seconds, says the manual\n"
    return (line * (chars // len(line) + 1))[:chars]


def counting_tokenizer(session, monkeypatch) -> list[int]:
    """Record the characters each call of the session's tokenizer reads."""
    seen: list[int] = []
    tokenize = session.tokenize
    prompt_tokens = session.prompt_tokens

    def counted(text, *args, **kwargs):
        seen.append(len(text))
        return tokenize(text, *args, **kwargs)

    def counted_prompt(messages):
        seen.append(sum(len(m["content"]) for m in messages))
        return prompt_tokens(messages)

    monkeypatch.setattr(session, "tokenize", counted)
    monkeypatch.setattr(session, "prompt_tokens", counted_prompt)
    return seen


@pytest.mark.parametrize("policy", ["stop", "sliding_window"])
def test_a_pasted_book_is_refused_after_reading_a_little_of_it(session, policy, monkeypatch):
    """A 2.25 MB message in a 1K window: refused having tokenized one block of it, not the
    whole of it three times (seconds on a fast machine), with its size as an estimate."""
    manager = ContextManager(session, ContextSettings(policy=policy))
    message = paste(2_250_000)
    exact = len(session.tokenize(message))
    seen = counting_tokenizer(session, monkeypatch)
    with pytest.raises(ContextFullError) as refused:
        manager.plan(TurnRequest(SYSTEM, message, conversation(2)), 64)
    assert sum(seen) < len(message) // 10, seen
    error = refused.value
    assert "your message alone are about" in error.message and "shorten the message" in error.hint
    said = int(error.message.split("about ")[1].split(" tokens")[0].replace(",", ""))
    assert abs(said - exact) <= 0.02 * exact
    assert error.budget.n_ctx == N_CTX and error.budget.message > N_CTX


def test_a_long_message_that_fits_is_not_refused(session):
    """The quick count never refuses what fits: 300,000 characters (over 50,000 tokens) in
    SmolLM2's 8K window are too long, 30,000 under a 16K window are not judged by it."""
    manager = ContextManager(session)
    message = paste(300_000)
    assert manager.counter.beyond(message, len(session.tokenize(message)) - 1) == 0
    assert manager.counter.beyond(message, 8192) > 8192
    assert manager.counter.beyond(paste(30_000), 10) == 0, "short texts are counted whole"


def test_budget_is_live_during_generation(session):
    manager = ContextManager(session)
    plan = manager.plan(TurnRequest(SYSTEM, "Count from one to twenty.", []), 16)
    seen = []
    for item in manager.chat(plan, SamplingSettings(temperature=0, max_tokens=16)):
        seen.append(manager.budget)
        if isinstance(item, GenerationStats):
            stats = item
    assert seen[0].generated >= 1 and seen[0].kv_tokens > plan.prompt_tokens
    final = manager.budget
    assert final.generated == stats.generated_tokens
    assert final.kv_tokens == plan.prompt_tokens + stats.generated_tokens
    assert 0 < final.kv_bytes_in_use < final.kv_bytes_total == session.allocation.part("kv_cache")
    assert sum(final.parts().values()) == N_CTX


def test_measure_counts_a_conversation_as_it_stands_and_changes_nothing(session):
    manager = ContextManager(session, ContextSettings(policy="sliding_window"))
    history = conversation(16)  # longer than the window
    as_it_stands = TurnRequest(SYSTEM, "", history)
    whole = manager.measure(as_it_stands, 64, remembered=False)
    assert whole.messages[1:-1] == history, "nothing dropped, nothing summarized"
    assert whole.prompt_tokens == len(session.prompt_tokens(whole.messages))
    assert whole.budget.prompt == whole.prompt_tokens > N_CTX
    assert whole.budget.history > 0 and whole.budget.reply_reserve == 64
    assert not whole.left_out and whole.notice == ""
    assert manager.budget.prompt == 0, "nothing remembered"

    plan = manager.plan(TurnRequest(SYSTEM, "Which topic came first?", history), 64)
    assert plan.left_out
    # The cut the last turn made holds for its own conversation, not for another one.
    kept = manager.measure(as_it_stands, 64)
    assert kept.left_out == plan.left_out and kept.budget.prompt < N_CTX
    assert "left out" in kept.notice
    assert manager.measure(as_it_stands, 64, remembered=False).budget == whole.budget
    assert manager.budget == plan.budget


def test_a_changed_history_starts_a_fresh_cut(session):
    manager = ContextManager(session)
    first = manager.plan(TurnRequest(SYSTEM, "Hello?", conversation(16)), 64)
    assert first.left_out
    other = manager.plan(TurnRequest(SYSTEM, "A new chat.", conversation(1)), 64)
    assert not other.left_out and not other.changes


def test_a_dropped_document_goes_in_whole_only_if_it_fits(session):
    manager = ContextManager(session)
    request = TurnRequest(SYSTEM, "Read this.", conversation(1))
    small = manager.place_document("A note about the harbour's opening hours.", request, 64)
    assert small.mode == "whole" and small.tokens < small.available
    large = manager.place_document("The harbour log. " * 400, request, 64)
    assert large.mode == "retrieval" and large.tokens > large.available
    assert "search" in large.reason


def test_turns_too_long_for_one_summary_request_are_split(session):
    manager = ContextManager(session, ContextSettings(policy="summarize", summary_tokens=64))
    summarizer, counter = manager.summarizer, manager.counter
    turns = conversation(20)
    huge = {"role": "user", "content": "Long paste: " + "numbers 1 2 3 4 5 6 7 8 9. " * 300}
    system, chunks = summarizer.plan((SYSTEM,), [*turns, huge])
    room = summarizer.room(system)
    assert system == SYSTEM and 0 < room < N_CTX - 64
    assert len(chunks) > 1
    assert sum(len(chunk) for chunk in chunks) == len(turns) + 1, "every turn is summarized"
    for chunk in chunks:
        assert sum(counter.message(message) for message in chunk) <= room
    assert "of the middle left out" in chunks[-1][-1]["content"], "a paste longer than the window"


class RecordingSession:
    """The real session, noting the exact length of every prompt the model is asked to answer."""

    def __init__(self, session):
        self._session = session
        self.calls: list[tuple[int, int]] = []  # (prompt tokens, max tokens)

    def __getattr__(self, name):
        return getattr(self._session, name)

    def chat(self, messages, sampling=None, cancel=None):
        self.calls.append((len(self._session.prompt_tokens(messages)), sampling.max_tokens))
        return self._session.chat(messages, sampling, cancel)


def test_summarize_fits_a_turn_with_a_large_pinned_file_and_fits_its_own_requests(session):
    """Before: the summary request carried the whole pinned block and overflowed the window."""
    recording = RecordingSession(session)
    manager = ContextManager(recording, ContextSettings(policy="summarize", summary_tokens=48))
    pinned = Document("The quarterly report lists revenue, costs and plans in detail. " * 300,
                      "report.txt")  # fmt: skip
    request = TurnRequest(SYSTEM, "What does the report say?", conversation(4), pinned=[pinned])
    plan = manager.plan(request, 64)
    assert_survivors(plan, request)
    assert plan.summary_written and plan.summary is not None
    assert {change.kind for change in plan.changes} >= {"summarized", "truncated"}
    assert recording.calls, "the model wrote a summary"
    for prompt, max_tokens in recording.calls:
        assert prompt + max_tokens <= N_CTX, "every helper call fits the window"


def test_a_summary_request_that_cannot_fit_is_refused_in_words_naming_the_policy(session):
    manager = ContextManager(session, ContextSettings(policy="summarize", summary_tokens=1000))
    request = TurnRequest(SYSTEM, "And now?", conversation(16))
    with pytest.raises(ContextFullError) as caught:
        manager.plan(request, 64)
    message = caught.value.message
    assert "overflow policy 'summarize'" in message
    assert "1,024" in message, "numbers are written with separators, as everywhere"
    assert "sliding-window" in caught.value.hint


def test_a_message_too_long_by_its_bytes_alone_is_refused_in_the_engines_words(
    session, default_model_path
):
    """The window's check, with no tokenizer: a message counts at least its bytes over the
    longest token's, even one made of the model's longest tokens, and a message past the
    window by that count alone is refused in the words the engine's own count uses."""
    from engine.context.manager import refuse_surely_too_long
    from engine.gguf_info import read_model_info

    longest = read_model_info(default_model_path).longest_token_bytes
    llama = session.llama
    pieces = [llama.detokenize([token]) for token in range(llama.n_vocab())]
    widest = max(pieces, key=len).decode("utf-8", "replace")
    assert 0 < max(map(len, pieces)) <= longest
    for message in (widest * 50, paste(50_000), " " * 20_000, "=" * 20_000):
        fewest = -(-len(message.encode()) // longest)
        assert fewest <= len(session.tokenize(message)), message[:40]

    message = paste(2_250_000)
    with pytest.raises(ContextFullError) as surely:
        refuse_surely_too_long(message, longest, N_CTX, 64)
    with pytest.raises(ContextFullError) as counted:
        ContextManager(session).refuse_if_too_long(TurnRequest(SYSTEM, message, []), 64)
    at_least = surely.value.message.split(" tokens;")[0].split("are at least ")[1]
    about = counted.value.message.split(" tokens;")[0].split("are about ")[1]
    assert surely.value.message.replace(f"at least {at_least}", f"about {about}") == (
        counted.value.message
    )
    assert surely.value.hint == counted.value.hint
    assert int(at_least.replace(",", "")) <= len(session.tokenize(message))
    refuse_surely_too_long(paste(N_CTX * longest // 4), longest, N_CTX, 64)  # may fit: left
