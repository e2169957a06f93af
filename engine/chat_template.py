"""Chat templates from model files, compiled and rendered inside a contained Jinja sandbox.

A GGUF's `tokenizer.chat_template` is a small program written by whoever made the file. Hearth
compiles it once at load in Jinja's immutable sandbox (no attribute escapes, no mutation), with
caps on what a hostile or broken template could cost: range() and string growth are bounded, the
output is bounded, and a render that runs past its deadline is stopped. `ChatTemplate.trial`
renders a sample conversation at load, so a template that does not compile, raises or tries to
leave the sandbox is found before the first turn, and one that rejects (or silently drops) a system
message is detected so the system prompt can be folded into the first user turn instead.

`ChatTemplate.segments` renders a conversation as a list of `Segment`s: the template's own markup
and each message's content, kept apart, so the tokenizer can let only the markup become control
tokens (see engine/prompt_format.py). It renders the conversation twice, once with a placeholder for
each content and once as written, and places each content where the template put it (as written,
or trimmed, as many templates do).
"""

from __future__ import annotations

import ctypes
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import HearthError

Message = dict[str, str]

# Caps on what rendering one prompt may cost. A real template's output is the messages plus a few
# hundred characters of markup per message; anything far beyond that is a template gone wrong.
MAX_STRING_CHARS = 64 * 2**20
OUTPUT_SLACK_CHARS = 2**20
RENDER_DEADLINE_S = 10.0
_BIG_FORMAT_WIDTH = re.compile(r"\d{5,}")

# Placeholders for message contents: private-use characters no text or template contains.
_MARK_OPEN, _MARK_CLOSE = "\U000f0000", "\U000f0001"
_MARK = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")

# The conversation a template must render at load. Contents are plain words so a template that
# inspects them (trim, length checks) behaves as it will for real messages.
TRIAL_CONVERSATION: tuple[Message, ...] = (
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello."},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "What is two plus two?"},
)


class TemplateProblem(HearthError):
    """A chat template that cannot be compiled or rendered; `message` says why, in short."""


@dataclass(frozen=True)
class Segment:
    """A piece of a rendered prompt: the template's markup, or (content=True) message text."""

    text: str
    content: bool


class _RenderBudget(threading.local):
    """The running render's output cap, per thread (renders never nest)."""

    limit = MAX_STRING_CHARS


def _sandbox_class() -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class ContainedSandbox(ImmutableSandboxedEnvironment):  # type: ignore[misc]
        """The immutable sandbox, plus limits on the operators that can blow up memory or time."""

        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and _is_number(left) and _is_number(right) and abs(right) > 64:
                raise TemplateProblem("the template computes an enormous number")
            if operator == "*":
                _check_repeat(left, right)
                _check_repeat(right, left)
            if operator == "%" and isinstance(left, str):
                _check_format(left)
            result = self.binop_table[operator](left, right)
            if isinstance(result, (str, list, tuple)) and len(result) > MAX_STRING_CHARS:
                raise TemplateProblem("the template builds an enormous string")
            return result

        def wrap_str_format(self, value: Any) -> Any:
            wrapped = super().wrap_str_format(value)
            if wrapped is not None:
                _check_format(value.__self__)
            return wrapped

    return ContainedSandbox


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_repeat(sequence: Any, count: Any) -> None:
    growing = isinstance(sequence, (str, list, tuple)) and isinstance(count, int)
    if growing and len(sequence) * max(0, count) > MAX_STRING_CHARS:
        raise TemplateProblem("the template builds an enormous string")


def _check_format(pattern: str) -> None:
    if _BIG_FORMAT_WIDTH.search(pattern):
        raise TemplateProblem("the template formats text to an enormous width")


def _capped_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A width-taking filter (center, indent, wordwrap, truncate) refused for absurd widths."""

    def capped(value: Any, *args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > 100_000:
                raise TemplateProblem(f"the template asks {name} for an enormous width")
        return original(value, *args, **kwargs)

    return capped


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: Any = None, sort_keys: bool = False) -> str:  # fmt: skip
    """Transformers' `tojson` (non-ASCII kept as is), which Hugging Face templates expect."""
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)  # fmt: skip


def _raise_exception(message: str) -> None:
    raise TemplateProblem(f"the template refused the conversation: {message}")


def _strftime_now(pattern: str) -> str:
    _check_format(pattern)
    return datetime.now().strftime(pattern)


class _Deadline:
    """Stops a render on this thread after `seconds` by raising TimeoutError inside it.

    Jinja compiles templates to Python code, so a runaway loop is ordinary bytecode that an
    asynchronous exception interrupts; no other thread is touched.
    """

    def __init__(self, seconds: float) -> None:
        self._thread_id = threading.get_ident()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._lock = threading.Lock()
        self._done = False

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._thread_id), ctypes.py_object(TimeoutError)
                )

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


class ChatTemplate:
    """A compiled chat template.

    Args:
        source: The Jinja source from the model file.
        bos_token, eos_token: The texts of the model's BOS and EOS tokens (templates use them).
        deadline_s: Longest time one render may take.

    Raises:
        TemplateProblem: the template does not compile.
    """

    def __init__(self, source: str, bos_token: str = "", eos_token: str = "",
                 deadline_s: float = RENDER_DEADLINE_S) -> None:  # fmt: skip
        import jinja2
        import jinja2.ext

        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.deadline_s = deadline_s
        environment = _sandbox_class()(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[_generation_tag_extension(), jinja2.ext.loopcontrols],
        )
        environment.filters["tojson"] = _tojson
        for name in ("center", "indent", "wordwrap", "truncate"):
            environment.filters[name] = _capped_filter(name, environment.filters[name])
        try:
            self._template = environment.from_string(source)
        except jinja2.TemplateError as exc:
            raise TemplateProblem(f"the template does not compile ({_first_line(exc)})") from exc
        except (RecursionError, MemoryError, ValueError) as exc:
            raise TemplateProblem("the template does not compile") from exc

    # -- rendering ---------------------------------------------------------------------------

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text for `messages`, ending with the assistant's header.

        Raises:
            TemplateProblem: the template raised, left its limits, or ran past its deadline.
        """
        import jinja2

        budget = sum(len(m.get("content", "")) for m in messages) * 4 + OUTPUT_SLACK_CHARS
        context = {
            "messages": [dict(m) for m in messages],
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "add_generation_prompt": True,
            "raise_exception": _raise_exception,
            "strftime_now": _strftime_now,
            "tools": None,
            "functions": None,
        }
        pieces: list[str] = []
        size = 0
        try:
            with _Deadline(self.deadline_s):
                for piece in self._template.generate(**context):
                    size += len(piece)
                    if size > budget:
                        raise TemplateProblem("the template writes far more than the messages")
                    pieces.append(piece)
        except TemplateProblem:
            raise
        except TimeoutError as exc:
            raise TemplateProblem(
                f"the template took longer than {self.deadline_s:g} s to render"
            ) from exc
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError,
                AttributeError, RecursionError, MemoryError) as exc:  # fmt: skip
            raise TemplateProblem(_failure_words(exc)) from exc
        return "".join(pieces)

    def segments(self, messages: Sequence[Message]) -> list[Segment]:
        """The rendered prompt as markup and content segments; their texts join to the prompt.

        Raises:
            TemplateProblem: as `render`.
        """
        marked = [{**m, "content": f"{_MARK_OPEN}{i}{_MARK_CLOSE}"} for i, m in enumerate(messages)]
        skeleton = _MARK.split(self.render(marked))
        markup = skeleton[0::2]
        indices = [int(i) for i in skeleton[1::2]]
        if any(i >= len(messages) for i in indices):
            raise TemplateProblem("the template wrote a message that was never given")
        contents = [messages[i]["content"] for i in indices]
        placed = _place(self.render(messages), markup, contents)
        result: list[Segment] = []
        for position, text in enumerate(markup):
            if text:
                result.append(Segment(text, False))
            if position < len(placed) and placed[position]:
                result.append(Segment(placed[position], True))
        return result

    def rendered_indices(self, messages: Sequence[Message]) -> set[int]:
        """Which messages' contents appear in the rendered prompt."""
        marked = [{**m, "content": f"{_MARK_OPEN}{i}{_MARK_CLOSE}"} for i, m in enumerate(messages)]
        return {int(i) for i in _MARK.findall(self.render(marked))}

    # -- the load-time check ------------------------------------------------------------------

    def trial(self) -> bool:
        """Render a sample conversation; True when the template keeps a system message itself.

        False means it rejects or drops the system message but renders the conversation without
        one: the caller folds the system prompt into the first user turn.

        Raises:
            TemplateProblem: the template cannot render a plain conversation at all.
        """
        sample = list(TRIAL_CONVERSATION)
        try:
            if self.rendered_indices(sample) >= {0, 1, 2, 3}:
                self.segments(sample)
                return True
            first_problem = None
        except TemplateProblem as problem:
            first_problem = problem
        try:
            if not self.rendered_indices(sample[1:]) >= {0, 1, 2}:
                raise TemplateProblem("the template leaves out the messages it is given")
            self.segments(fold_system(sample))
        except TemplateProblem:
            if first_problem is not None:
                raise first_problem from None
            raise
        return False


def fold_system(messages: Sequence[Message]) -> list[Message]:
    """Messages with the system prompt moved to the start of the first user message."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def merge_same_roles(messages: Sequence[Message]) -> list[Message]:
    """Consecutive messages of one role joined into one (templates that insist on alternation)."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1] = {**merged[-1],
                          "content": f"{merged[-1]['content']}\n\n{message['content']}"}  # fmt: skip
        else:
            merged.append(dict(message))
    return merged


def _place(real: str, markup: list[str], contents: list[str]) -> list[str]:
    """Each content as the template wrote it into `real` (as given, or trimmed), in order.

    Falls back to the contents as given when the real render does not line up with the markup
    (a template whose output depends on the content in other ways): still only markup becomes
    control tokens, the prompt just keeps the content's own spacing.
    """
    placed: list[str] = []
    position = 0
    for index, content in enumerate(contents):
        if not real.startswith(markup[index], position):
            return contents
        position += len(markup[index])
        following = markup[index + 1]
        for candidate in (content, content.strip(), content.lstrip(), content.rstrip()):
            end = position + len(candidate)
            if real.startswith(candidate, position) and real.startswith(following, end):
                placed.append(candidate)
                position = end
                break
        else:
            return contents
    if not real.startswith(markup[-1], position) or position + len(markup[-1]) != len(real):
        return contents
    return placed


def _generation_tag_extension() -> Any:
    """Hugging Face's `{% generation %}` tag (marks assistant text for training): rendered as is."""
    from jinja2.ext import Extension

    class GenerationTag(Extension):  # type: ignore[misc]
        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            parser.stream.skip(1)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    return GenerationTag


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200].rstrip(".") if text else type(exc).__name__


def _failure_words(exc: BaseException) -> str:
    """Why a template failed, in words a person can read; Python's own words in brackets only
    where they say something more (the name a template lacks), without a doubled full stop."""
    import jinja2

    detail = str(exc).strip().rstrip(".")
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return "the template tried to reach outside its sandbox, which Hearth does not allow"
    if isinstance(exc, OverflowError) and "range" in detail.lower():
        return "the template counts to an enormous number"
    if isinstance(exc, RecursionError):
        return "the template calls itself without end"
    if isinstance(exc, MemoryError):
        return "the template needs more memory than this computer has"
    if isinstance(exc, jinja2.exceptions.UndefinedError):
        return f"the template uses something the conversation does not have ({detail})"
    return f"the template failed ({detail})" if detail else "the template failed"
