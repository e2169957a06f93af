"""Answer a question from the library: numbered excerpts in the prompt, sources in the result.

When no retrieved chunk is close enough to the question, the answer is an honest "not found in
your documents" without asking the model at all, so nothing is invented from an unrelated page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.cancel import CancelToken
from engine.library.evidence import focused_span, select_evidence
from engine.library.types import Evidence, Hit, with_place

NOT_FOUND = "Not found in your documents."

# Cosine similarity (all-MiniLM-L6-v2) below which a chunk is taken as unrelated to the question.
# Paraphrased questions about a passage score 0.55-0.76 on the test corpus; unrelated ones < 0.1.
MIN_SIMILARITY = 0.3
# A chunk the keyword search ranked near the top holds the question's exact words; it needs less.
MIN_KEYWORD_SIMILARITY = 0.15
KEYWORD_TOP_RANK = 3
# Evidence shown with an answer: the best run of sentences (evidence.RUN_SENTENCES) from each of
# the top three sources (bench/retrieval.py: on the dev questions 3 items held the answer for
# 71%, 2 items for 67%, 1 item for 52%, when items were up to 2 sentences).
EVIDENCE_ITEMS = 3
# Weight of the reply's words against the question's (1.0) when evidence is chosen after a
# reply: enough to choose between lines the question alone cannot tell apart, too little to
# outweigh a question term.
REPLY_TERM_WEIGHT = 0.2
# Characters of each source the model reads: the sentences that bear on the question and those
# around them, not the whole chunk. On the 63 questions of bench/eval, the five excerpts held the
# expected answer for 0.794 whole, 0.778 at 600 characters (31% fewer characters to prefill),
# 0.762 at 400 (52% fewer); bench/retrieval.py reports both figures as excerpts_*.
EXCERPT_CHARS = 600

SYSTEM_PROMPT = (
    "You answer questions using only the numbered excerpts from the user's documents. "
    "After each statement, cite the excerpt it comes from by its number in square brackets, "
    "like [1] or [2]. If the excerpts do not contain the answer, reply exactly: " + NOT_FOUND
)


@dataclass(frozen=True)
class Source:
    """One numbered excerpt given to the model; the UI links [number] to file and page."""

    number: int
    file: str
    page: int | None
    excerpt: str
    heading: str | None = None
    score: float = 0.0
    similarity: float | None = None
    location: str | None = None
    char_start: int = 0
    char_end: int = 0
    rerank_score: float | None = None  # the reranker's, when the search was reranked

    @property
    def label(self) -> str:
        return with_place(Path(self.file).name, self.page, self.location)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnreadDocument:
    """A document of the library that a question was answered without: not indexed yet.

    Attributes:
        path: The file.
        fraction: How far it was read (0..1) while it is being read; None when not known.
    """

    path: str
    fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Documents named in a `not_indexed_note`; the others are counted.
UNREAD_NAMED = 3


def not_indexed_note(documents: Sequence[UnreadDocument], reading: bool, then: str = "") -> str:
    """What a person is told with an answer given while some documents were not searchable
    yet, or "" when there were none.

    Args:
        reading: They are being read now (the answer may be asked again once they are);
            False: their indexing stopped, and `then` says how to finish it.
        then: The sentence that ends the note when not `reading`.

    Returns:
        E.g. "1 document is still being read (big.txt, 0 %): this answer does not use it yet.
        Ask again when it is ready."
    """
    if not documents:
        return ""
    one = len(documents) == 1
    names = []
    for document in documents[:UNREAD_NAMED]:
        name = Path(document.path).name
        if document.fraction is not None:
            name += f", {int(document.fraction * 100)} %"
        names.append(name)
    if len(documents) > UNREAD_NAMED:
        names.append(f"{len(documents) - UNREAD_NAMED:,} more")
    which = f"{'1 document is' if one else f'{len(documents):,} documents are'}"
    it = "it" if one else "them"
    if reading:
        ready = "it is" if one else "they are"
        return (f"{which} still being read ({'; '.join(names)}): this answer does not use {it} "
                f"yet. Ask again when {ready} ready.")  # fmt: skip
    return f"{which} not indexed yet ({'; '.join(names)}): this answer does not use {it}." + (
        f" {then}" if then else ""
    )


@dataclass(frozen=True)
class AnswerPlan:
    """What will be sent to the model, or why nothing will be."""

    question: str
    sources: list[Source]
    messages: list[dict[str, str]]
    evidence: list[Evidence] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)  # the relevant hits, one per source

    @property
    def found(self) -> bool:
        return bool(self.sources)


@dataclass
class AnswerResult:
    """Ends an answer stream: the full text, its sources, which of them it cited, and stats."""

    text: str
    sources: list[Source]
    found: bool
    cited: list[int] = field(default_factory=list)
    stats: Any = None  # engine.stats.GenerationStats when the model ran
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def citations(self) -> list[CitationLink]:
        """The [n] marks of the reply that name a source, as links; unknown numbers are left out."""
        return citation_links(self.text, self.sources)

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats.to_dict() if self.stats is not None else None
        return {
            "answer": self.text,
            "found": self.found,
            "cited": self.cited,
            "sources": [s.to_dict() for s in self.sources],
            "evidence": [e.to_dict() for e in self.evidence],
            "stats": stats,
        }


@dataclass(frozen=True)
class CitationLink:
    """One source number cited in a reply, where it stands, and the source it names.

    `start`/`end` span the number itself inside the reply's text ("2" in "[1, 2]").
    """

    start: int
    end: int
    number: int
    source: Source


_CITATION_GROUP = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def citation_links(text: str, sources: list[Source]) -> list[CitationLink]:
    """Map each [n] (also [1, 2]) in a reply to its source; a number no source has (the model
    wrote "[6]" with four sources) is not a link and is left out.

    Returns:
        Links in the order they appear in `text`.
    """
    by_number = {source.number: source for source in sources}
    links: list[CitationLink] = []
    for group in _CITATION_GROUP.finditer(text):
        for number in re.finditer(r"\d+", group.group(1)):
            source = by_number.get(int(number.group(0)))
            if source is not None:
                start = group.start(1) + number.start()
                links.append(
                    CitationLink(start, start + len(number.group(0)), source.number, source)
                )
    return links


def is_relevant(hit: Hit) -> bool:
    """Close enough in meaning, or holding the question's exact words or terms. A question in a
    language the embedding model does not know has no measure of meaning: its hits are ranked
    on keywords alone, and each of them counts, as a keyword search's results would."""
    if hit.exact_match or not hit.meaning_known:
        return True
    similarity = hit.similarity if hit.similarity is not None else 0.0
    if similarity >= MIN_SIMILARITY:
        return True
    on_top = hit.keyword_rank is not None and hit.keyword_rank <= KEYWORD_TOP_RANK
    return on_top and similarity >= MIN_KEYWORD_SIMILARITY


def plan_answer(
    question: str, hits: list[Hit], max_sources: int = 5, excerpt_chars: int | None = EXCERPT_CHARS
) -> AnswerPlan:
    """Number the relevant hits and build the chat messages; no sources means "not found".

    Args:
        excerpt_chars: Characters of each source the prompt holds (see `prompt_excerpt`);
            None: the whole chunk.
    """
    relevant = [hit for hit in hits if is_relevant(hit)][:max_sources]
    sources = [
        Source(
            number=n,
            file=hit.file,
            page=hit.page,
            excerpt=hit.text,
            heading=hit.heading,
            score=hit.score,
            similarity=hit.similarity,
            location=hit.location,
            char_start=hit.char_start,
            char_end=hit.char_end,
            rerank_score=hit.rerank_score,
        )
        for n, hit in enumerate(relevant, start=1)
    ]
    if not sources:
        return AnswerPlan(question, [], [])
    evidence = select_evidence(question, relevant, max_items=EVIDENCE_ITEMS)
    excerpts = "\n\n".join(
        f"[{s.number}] ({s.label}{', ' + s.heading if s.heading else ''})\n"
        f"{_squash(prompt_excerpt(question, hit, excerpt_chars) if excerpt_chars else hit.text)}"
        for s, hit in zip(sources, relevant, strict=True)
    )
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Excerpts:\n\n{excerpts}\n\nQuestion: {question}"},
    ]
    return AnswerPlan(question, sources, messages, evidence, relevant)


def prompt_excerpt(question: str, hit: Hit, max_chars: int = EXCERPT_CHARS) -> str:
    """What the model reads of `hit`: its part that bears on `question`, at most `max_chars`
    (see `evidence.focused_span`); the source shown to the person keeps the whole chunk."""
    start, end = focused_span(question, hit, max_chars)
    return hit.text[start:end]


def cited_numbers(text: str, count: int) -> list[int]:
    """Source numbers cited in `text` as [n] (also [1, 2] and [1][2]), in first-cited order."""
    seen: list[int] = []
    for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", text):
        for part in group.split(","):
            number = int(part)
            if 1 <= number <= count and number not in seen:
                seen.append(number)
    return seen


def stream_answer(
    session, plan: AnswerPlan, sampling=None, cancel: CancelToken | None = None
) -> Iterator[str | AnswerResult]:
    """Stream the model's answer for `plan`: text pieces, then one `AnswerResult`.

    Args:
        session: A loaded `engine.session.ModelSession` (call from its model thread).
        plan: From `plan_answer`.
        sampling: `engine.session.SamplingSettings`; the session's defaults when None.
        cancel: Stops generation between tokens.
    """
    if not plan.found:
        yield NOT_FOUND
        yield AnswerResult(NOT_FOUND, [], found=False)
        return
    pieces: list[str] = []
    stats = None
    for item in session.chat(plan.messages, sampling, cancel):
        if isinstance(item, str):
            pieces.append(item)
            yield item
        else:
            stats = item
    text = "".join(pieces).strip()
    found = bool(text) and NOT_FOUND.lower().rstrip(".") not in text.lower()
    cited = cited_numbers(text, len(plan.sources))
    evidence = answer_evidence(plan, text) if found else plan.evidence
    yield AnswerResult(text, plan.sources, found=found, cited=cited, stats=stats, evidence=evidence)


def answer_evidence(plan: AnswerPlan, reply: str) -> list[Evidence]:
    """Evidence for a written reply: the lines of the sources, in retrieval order, that bear on
    the question; the reply's own words only break ties (`REPLY_TERM_WEIGHT`). A small model
    can be wrong: evidence that followed its wording or the sources it cites would dress a
    wrong reply in matching quotes, while the question's lines put the right one in front of
    the person."""
    order = [source.number for source in plan.sources]
    hits = [plan.hits[number - 1] for number in order if number - 1 < len(plan.hits)]
    chosen = select_evidence(
        plan.question, hits, answer=reply, max_items=EVIDENCE_ITEMS, sources=order,
        answer_weight=REPLY_TERM_WEIGHT,
    )  # fmt: skip
    return chosen or plan.evidence


def sources_evidence(question: str, sources: Sequence[Source], reply: str) -> list[Evidence]:
    """Evidence for `reply` from the numbered sources alone (1, 2, ... as `plan_answer` numbers
    them; what a chat receives from a search): the choice `answer_evidence` makes on the plan
    they came from, or the question's own when there is no reply text yet."""
    ordered = sorted(sources, key=lambda source: source.number)
    hits = [_hit_of(source) for source in ordered]
    numbers = [source.number for source in ordered]
    evidence = select_evidence(question, hits, max_items=EVIDENCE_ITEMS, sources=numbers)
    if not reply.strip():
        return evidence
    return answer_evidence(AnswerPlan(question, ordered, [], evidence, hits), reply)


def source_prompt_excerpt(question: str, source: Source, max_chars: int = EXCERPT_CHARS) -> str:
    """`prompt_excerpt` of a numbered source (what a chat receives from a search)."""
    return prompt_excerpt(question, _hit_of(source), max_chars)


def _hit_of(source: Source) -> Hit:
    return Hit(
        chunk_id=0,
        file=source.file,
        page=source.page,
        text=source.excerpt,
        score=source.score,
        similarity=source.similarity,
        heading=source.heading,
        char_start=source.char_start,
        char_end=source.char_end,
        location=source.location,
    )


def _squash(text: str) -> str:
    """Excerpt text for the prompt: PDF line breaks inside paragraphs cost tokens and help nothing."""
    return re.sub(r"[ \t]*\n(?!\n)[ \t]*", " ", text).strip()
