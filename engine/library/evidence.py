"""Evidence a person can check: the few sentences of a source that bear best on a question
(and, once written, on the answer), with the matched terms marked.

A small model can answer wrongly from the right page; the evidence puts the line that holds
the answer in front of the person anyway. Sentences are scored by the query terms they hold,
each weighted by how rare it is among the candidate sentences (an IDF over the sentences of the
top hits), so "ndiswrapper" counts for more than "driver"; words match on a shared stem (their
first letters), so "installed" finds "install" and German compounds find their parts. Scripts
without spaces match on character bigrams. Pure text work, no model: about a millisecond a hit.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Sequence

from engine.library.keyword import STOPWORDS, bigrams, index_text
from engine.library.types import Evidence, Hit

# A sentence ends at . ! ? (or their CJK forms) before a space, a line break, or the text's end;
# a bullet or a blank line also starts a new one. Some periods end none (`_ends_sentence`).
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"')\]]*\s+(?!\s)|\n\s*\n|\s*[•▪◦]\s*|(?<=[。！？])")
# What may follow a stop inside a sentence: closing marks and spaces, at most one line break.
_INNER_GAP = re.compile(r"[\"')\]]*[^\S\n]*(?:\n[^\S\n]*)?")
# What may stand before an abbreviation: the text's start, a space, an opening bracket or quote.
_OPENS = r"(?<![^\s(\[\"'„“‚‘])"
# Abbreviations that end no sentence, whatever follows: "e.g. the", "z.B. Debian", "z. B. die".
_INNER_ABBREVIATION = re.compile(
    _OPENS + r"(?:(?i:e\.\s?g|i\.\s?e|c\.\s?f|cf|vs|viz|vgl|bzw|bzgl|ggf|bspw|inkl|incl|evtl"
    r"|approx|resp)|z\.\s?B|d\.\s?h|u\.\s?a|u\.\s?U|z\.\s?T|o\.\s?ä|ca|sog|Nr|Abb|Kap|Fig|fig"
    r"|Dr|Prof|Mr|Mrs|Ms)\.$"
)
# The first letter of an abbreviation spelt with a space ("z. B.", "d. h.").
_SPACED_HEAD = re.compile(_OPENS + r"[^\W\d_]\.$")
_SPACED_TAIL = re.compile(r"[^\W\d_]\.(?:\s|$)")
# Before a lower-case word, a stop ends no sentence after: an abbreviation that may also end
# one ("etc."), letters with periods ("a.k.a."), a list number at a line start ("1. die Datei
# auspacken"), an ellipsis ("Knoppix/Ubuntu/... is"), a space (a lone stop in code: "if ! x").
_BEFORE_LOWER = re.compile(
    r"(?:" + _OPENS + r"(?:(?i:etc|usw|usf)|u\.\s?Ä|et al|(?:[^\W\d_]\.)+[^\W\d_])"
    r"|(?:^|\n)[^\S\n]*\d{1,3}|\.\.|\s)[.!?]$"
)
# A web or mail address broken at a line end ("https://www.\ndebian.org", "123@bugs.\ndebian.org").
_ADDRESS_HEAD = re.compile(r"\S*(?:://|@|\bwww|\w\.\w)\S*[.?]$")
_ADDRESS_TAIL = re.compile(r"(?:[^\s.]+[./@=&]\w|(?:org|com|net|edu|de|html?)\b)")
# The dot leaders of a line of a table of contents or an index, before its page number (on the
# line or the next one, or on the next page): "Installing packages . . . . . . . . 12"; a title
# that fills its line leaves room for only a few (" . . .\n47").
# Leaders are dots, middle dots or ellipsis characters; page numbers Arabic or Roman (front
# matter: "Preface . . . . xi"; loosely: any run of those letters). Shared with retrieve.py.
LEADERS = r"(?:(?:[.·]\s?){4,}|(?:…\s?){2,})"
PAGE_NO = r"(?:\d+|[ivxlcdm]+)"
_LEADER = re.compile(
    rf"\s*(?:{LEADERS}(?=\s*{PAGE_NO}\s*$|\s*\Z)"
    rf"|(?:\s\.){{1,3}}[^\S\n]*(?=\n\s*{PAGE_NO}\s*$))",
    re.MULTILINE,
)
# A section or page number alone on its line, or a title's line that starts with its section
# number: where a title in a table of contents starts.
_NUMBER_LINE = re.compile(r"\s*\d[\d.]*\s*")
_NUMBERED_TITLE = re.compile(r"[^\S\n]*\d+(?:\.\d+)*\.?[^\S\n]+\S")
# A page number that ends a title's line ("Who wrote all that software? 17\n"), in a sentence
# or right after it.
_PAGE_NUMBER = re.compile(r"(?<!\S)\d+[^\S\n]*(?:\n|$)")
_NEXT_PAGE_NUMBER = re.compile(r"\s+\d+[^\S\n]*(?:\n|\Z)")
# Lines a title of a table of contents may take ("How can I keep a log ...?\nI'd like ...!").
TITLE_LINES = 4
_WORD = re.compile(r"\w+(?:[-./+#]\w+)*", re.UNICODE)
MIN_STEM = 4
# Words ending in this many equal letters share their head word (German compounds).
COMPOUND_HEAD = 8
_PARTS = re.compile(r"[-./+#]")
MAX_SENTENCE_CHARS = 400
# An evidence item is a run of up to RUN_SENTENCES sentences that ends on one bearing on the
# question; a run of more than one stays within RUN_CHARS characters (one sentence is at most
# MAX_SENTENCE_CHARS), and so does a list a run announces, so a quote stays a quote.
# A paraphrased question's terms fall on the sentences around the answer. bench/retrieval.py, 63
# questions, the evidence of an answer (3 items) holding the answer / characters in all, mean:
#   up to 2 sentences: 0.619 / 843;  up to 3 within 400: 0.683 / 936;  within 500: 0.698 / 993;
#   within 600: 0.714 / 1,058;  with no limit: 0.714 / 1,103.
# The dev split ties at 0.81 throughout; the held-out questions go 0.524 -> 0.667.
RUN_SENTENCES = 3
RUN_CHARS = 600
# German and English stop words that carry no meaning for matching.
_EXTRA_STOPWORDS = frozenset(
    [
        "der",
        "die",
        "das",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einer",
        "eines",
        "einem",
        "einen",
        "und",
        "oder",
        "ist",
        "sind",
        "wird",
        "werden",
        "mit",
        "von",
        "für",
        "auf",
        "aus",
        "bei",
        "nach",
        "wie",
        "was",
        "wer",
        "welche",
        "welcher",
        "welches",
        "welchem",
        "kann",
        "ich",
        "sie",
        "es",
        "zu",
        "im",
        "in",
        "an",
        "am",
        "um",
        "nicht",
        "auch",
        "nur",
        "sich",
        "mein",
        "meine",
        "meinen",
        "dass",
    ]
)
_ALL_STOPWORDS = STOPWORDS | _EXTRA_STOPWORDS
_has_digit = re.compile(r"\d").search


@functools.lru_cache(maxsize=4096)
def _is_code(term: str) -> bool:
    """A term with a digit: a code, a version or a number (see `_matches`). Cached: it is asked
    for every term against every word of every sentence of the hits. Evidence for one question
    (10 hits, and each hit alone) took 19.2 ms before codes were told apart, 36.9 ms with a
    scan of the term per call, 22.6 ms cached."""
    return _has_digit(term) is not None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, surrounding whitespace left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if not _ends_sentence(text, match.start(), match.end()):
            continue
        _add_span(text, start, match.start(), spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _ends_sentence(text: str, gap_start: int, gap_end: int) -> bool:
    """Whether the break `text[gap_start:gap_end]` that `_SENTENCE_END` found ends a sentence.

    A period ends none after an abbreviation that is never last ("e.g.", "z.B."); before a
    lower-case word, a stop ends none after the cases of `_BEFORE_LOWER`, inside brackets
    ("(with their answers!) about") or inside an address broken at a line end. Otherwise it
    ends one, before a lower-case word too: a sentence may begin with a command ("apt-get
    install foo fetches ...", "dpkg -i ...").
    """
    gap = text[gap_start:gap_end]
    if gap_start == 0 or text[gap_start - 1] not in ".!?" or not _INNER_GAP.fullmatch(gap):
        return True
    head = max(0, gap_start - 12)
    if _INNER_ABBREVIATION.search(text, head, gap_start):
        return False
    if _SPACED_HEAD.search(text, head, gap_start) and _SPACED_TAIL.match(text, gap_end):
        return False
    if not text[gap_end : gap_end + 1].islower():
        return True
    line_start = text.rfind("\n", 0, gap_start) + 1
    if gap[:1] in ")]" or _BEFORE_LOWER.search(
        text, max(0, line_start - 1, gap_start - 40), gap_start
    ):
        return False
    return not (
        gap.strip() == ""
        and gap.count("\n") == 1
        and not gap.startswith((" ", "\t"))
        and _ADDRESS_HEAD.search(text, max(line_start, gap_start - 200), gap_start)
        and _ADDRESS_TAIL.match(text, gap_end)
    )


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:
        # A run-on "sentence" (a table, a list without stops): cut at a line break or a space.
        cut = text.rfind("\n", start, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = text.rfind(" ", start, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start and any(char.isalnum() for char in text[start:end]):
        spans.append((start, end))


def terms_of(text: str) -> list[str]:
    """Content terms of `text`, lower case: words without stop words (a hyphenated word also
    by its parts: "X-Zwischenablage" gives "zwischenablage"), bigrams of CJK runs."""
    out: list[str] = []
    for word in _WORD.findall(index_text(text).lower()):
        parts = [word, *_PARTS.split(word)] if _PARTS.search(word) else [word]
        for part in parts:
            if part in _ALL_STOPWORDS or len(part) < 2 and part.isascii():
                continue
            if part != word and len(part) < MIN_STEM:
                continue
            out.append(part)
    return list(dict.fromkeys(out))


def _stem(word: str) -> str:
    if not word.isascii() and any("\u3040" <= char <= "\u9fff" for char in word):
        return word
    return word[: max(MIN_STEM, len(word) - 3)] if len(word) > MIN_STEM else word


def _matches(term: str, word: str) -> bool:
    if term == word:
        return True
    if _is_code(term):
        # A code, a version, a part number ("widget-23", "v2.3.1", "ext4") is itself or
        # nothing: its stem ("widget") would match every other number of the series.
        return _PARTS.search(word) is not None and term in _PARTS.split(word)
    stem = _stem(term)
    if len(stem) >= MIN_STEM and (word.startswith(stem) or stem in word and len(stem) >= 6):
        return True
    # Compounds with the same head ("Kommandozeilenprogramm", "Befehlszeilenprogramm").
    return (
        len(term) > COMPOUND_HEAD
        and len(word) > COMPOUND_HEAD
        and term[-COMPOUND_HEAD:] == word[-COMPOUND_HEAD:]
    )


def mark_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) spans of the words (or CJK bigrams) of `text` that match `terms`."""
    if not terms:
        return []
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        if any(_matches(term, word) for term in terms):
            spans.append(match.span())
    for term in terms:
        if len(term) == 2 and not term.isascii():
            start = text.find(term)
            while start >= 0:
                spans.append((start, start + 2))
                start = text.find(term, start + 1)
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _sentence_terms(text: str) -> set[str]:
    words = set(_WORD.findall(text.lower()))
    for run in re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+", text):
        words.update(bigrams(run))
    return words


def select_evidence(
    query: str,
    hits: Sequence[Hit],
    answer: str | None = None,
    max_items: int = 2,
    max_sentences: int = RUN_SENTENCES,
    sources: Sequence[int] | None = None,
    answer_weight: float = 0.5,
) -> list[Evidence]:
    """The best-supported sentences from the top hits, best first, at most one item per hit,
    and none that repeats another (overlapping chunks of one file hold the same sentences).

    Args:
        query: The question or search.
        hits: Ranked hits; earlier ones are preferred when scores tie.
        answer: The model's reply, when there is one: its terms count too, `answer_weight`
            as much as the question's (only the question's are marked).
        max_items: Evidence items to return.
        max_sentences: Consecutive sentences per item; a run ends on a sentence that holds a
            question (or reply) term, and one of more than one stays within `RUN_CHARS`.
        sources: The source number of each hit in an answer ([n]); 1, 2, ... when None.

    Returns:
        Evidence items (file, page, text, marked spans), best first; empty when no sentence
        holds any query term.
    """
    query_terms = terms_of(query)
    answer_terms = [t for t in terms_of(answer or "") if t not in query_terms]
    if not query_terms and not answer_terms:
        return []
    spans_of: dict[int, list[tuple[int, int]]] = {}
    entries_of: dict[int, list[bool]] = {}
    words_of: dict[int, list[set[str]]] = {}
    for index, hit in enumerate(hits):
        spans = spans_of[index] = sentence_spans(hit.text)
        entries_of[index] = _contents_entries(hit.text, spans)
        words_of[index] = [_sentence_terms(hit.text[a:b]) for a, b in spans]
    candidates = [
        words
        for index, entries in entries_of.items()
        for words, entry in zip(words_of[index], entries, strict=True)
        if not entry
    ]
    if not candidates:
        return []
    weights = _idf(candidates, [*query_terms, *answer_terms])
    best: dict[int, tuple[float, int, int]] = {}
    for index, spans in spans_of.items():
        entries = entries_of[index]
        scores = [
            0.0 if entry else _score(words, query_terms, answer_terms, weights, answer_weight)
            for words, entry in zip(words_of[index], entries, strict=True)
        ]
        for first in range(len(spans)):
            for size in range(1, max_sentences + 1):
                last = first + size - 1
                # No run holds a contents entry, nor reaches over one.
                if last >= len(spans) or entries[last]:
                    break
                # A run must end on a sentence that bears on the question to be shown longer.
                if size > 1 and scores[last] <= 0:
                    continue
                if size > 1 and spans[last][1] - spans[first][0] > RUN_CHARS:
                    break
                total = sum(scores[first : last + 1]) - 0.05 * (size - 1)
                rank_weight = 1.0 / (1.0 + 0.15 * index)
                value = total * rank_weight
                if value > 0 and (index not in best or value > best[index][0]):
                    best[index] = (value, spans[first][0], spans[last][1])
    ranked = sorted(best.items(), key=lambda item: -item[1][0])
    marked = _marked_terms(query_terms, answer_terms, answer or "")
    evidence: list[Evidence] = []
    for index, (_value, start, end) in ranked:
        if len(evidence) == max_items:
            break
        hit = hits[index]
        end = _with_list_after_colon(spans_of[index], entries_of[index], hit.text, start, end)
        text = hit.text[start:end]
        if any(_overlaps(hit, start, end, shown) for shown in evidence):
            continue
        evidence.append(
            Evidence(
                file=hit.file,
                page=hit.page,
                text=text,
                marks=mark_spans(text, marked),
                location=hit.location,
                source=sources[index] if sources is not None else index + 1,
                char_start=hit.char_start + start,
                char_end=hit.char_start + end,
            )
        )
    return evidence


def _marked_terms(query_terms: list[str], answer_terms: list[str], answer: str) -> list[str]:
    """The terms to mark: the question's, less the parts of its codes (for "widget-23" the code
    is marked, not every "widget-N" its part "widget" also matches), and of the reply's only
    the names and numbers it states ("Marta", "40"), the claims a person checks: a small
    model's rambling would otherwise put "page", "number" and "text" in bold."""
    codes = [term for term in query_terms if _has_digit(term)]
    parts = {part for code in codes for part in _PARTS.split(code) if part != code}
    claims = _claims(answer)
    return [term for term in query_terms if term not in parts] + [
        term for term in answer_terms if term in claims
    ]


def _claims(answer: str) -> set[str]:
    """Words of `answer` that name or count something (lower case): written with a digit, or
    capitalised, unless a stop word ("Marta", not "The")."""
    claims: set[str] = set()
    for match in _WORD.finditer(answer):
        word = match.group(0)
        lowered = word.lower()
        named = word[0].isupper() and lowered not in _ALL_STOPWORDS
        if named or _has_digit(word):
            claims.add(lowered)
    return claims


def _overlaps(hit: Hit, start: int, end: int, shown: Evidence) -> bool:
    """Whether `hit.text[start:end]` shares characters with `shown` (offsets index the text of
    one page, or of the whole file where it has no pages)."""
    if (hit.file, hit.page, hit.location) != (shown.file, shown.page, shown.location):
        return False
    return hit.char_start + start < shown.char_end and shown.char_start < hit.char_start + end


def _with_list_after_colon(
    spans: list[tuple[int, int]], entries: list[bool], text: str, start: int, end: int
) -> int:
    """`end`, moved past the next sentence when the chosen ones end with a colon: "...runs on
    the following kernels:" says nothing without the list it announces. The quote stays within
    `RUN_CHARS`: a list too long for that is cut after its last item (line) that fits, and one
    whose first item does not fit is left out, as is a contents entry (`_contents_entries`)."""
    if not text[:end].rstrip().endswith(":"):
        return end
    following = next((i for i, (span_start, _end) in enumerate(spans) if span_start >= end), None)
    if following is None or entries[following]:
        return end
    list_start, list_end = spans[following]
    limit = start + RUN_CHARS
    if list_end <= limit:
        return list_end
    cut = text.rfind("\n", list_start, limit + 1)
    while cut > list_start and text[cut - 1].isspace():
        cut -= 1
    return cut if cut > list_start else end


def _contents_entries(text: str, spans: list[tuple[int, int]]) -> list[bool]:
    """For each sentence span, whether it is an entry of a table of contents or an index (or
    mostly one): it overlaps a title with dot leaders ("Installing packages . . . . 12"), or it
    follows an entry and a page number ends its line (a title without leaders, the page number
    alone). Prose holds no leaders; the splitter cuts them at each ". ", and a title may hold
    sentences of its own ("Why is foo-data not removed? How do I ... purged? . . . 39")."""
    entries = [(_title_start(text, m.start()), m.end()) for m in _LEADER.finditer(text)]
    if not entries:
        return [False] * len(spans)
    ends = [b for _a, b in entries]
    flags: list[bool] = []
    for start, end in spans:
        before = bisect.bisect_right(ends, start) - 1
        after_entry = bool(flags and flags[-1]) or (
            before >= 0 and not text[ends[before] : start].strip()
        )
        flags.append(
            any(a <= end and start < b for a, b in entries)
            or after_entry
            and (
                _PAGE_NUMBER.search(text, max(start, end - 12), end) is not None
                or _NEXT_PAGE_NUMBER.match(text, end) is not None
            )
        )
    return flags


def _title_start(text: str, leader: int) -> int:
    """Where the title before the dot leaders at `leader` starts: at its section number, or
    after the number line or the blank line before it, at most `TITLE_LINES` lines back."""
    start = text.rfind("\n", 0, leader) + 1
    for _ in range(TITLE_LINES):
        if start == 0 or _NUMBERED_TITLE.match(text, start):
            break
        line_start = text.rfind("\n", 0, start - 1) + 1
        line = text[line_start : start - 1]
        if not line.strip() or _NUMBER_LINE.fullmatch(line):
            break
        start = line_start
    return start


def focused_span(query: str, hit: Hit, max_chars: int, seed_sentences: int = 2) -> tuple[int, int]:
    """The part of `hit.text` to show a model for `query`: the best sentences (as
    `select_evidence` picks them, up to `seed_sentences`), grown by whole sentences, after
    and then before, while the whole stays within `max_chars`. A hit that holds no query term
    gives its first sentences; a text within `max_chars` is given whole.

    Returns:
        (start, end) character offsets into `hit.text`.
    """
    text = hit.text
    spans = sentence_spans(text)
    if len(text) <= max_chars or not spans:
        return 0, len(text)
    chosen = select_evidence(query, [hit], max_items=1, max_sentences=seed_sentences)
    if chosen:
        start = chosen[0].char_start - hit.char_start
        end = chosen[0].char_end - hit.char_start
        first = next((i for i, (a, _b) in enumerate(spans) if a >= start), 0)
        last = max((i for i, (_a, b) in enumerate(spans) if b <= end), default=first)
    else:
        first = last = 0
    last = max(last, first)
    growing = True
    while growing:
        growing = False
        if last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= max_chars:
            last += 1
            growing = True
        if first > 0 and spans[last][1] - spans[first - 1][0] <= max_chars:
            first -= 1
            growing = True
    start, end = spans[first][0], spans[last][1]
    if end - start > max_chars:  # one sentence longer than the budget: its start
        end = start + max_chars
    return start, end


def _idf(sentences: list[set[str]], terms: list[str]) -> dict[str, float]:
    count = len(sentences)
    weights: dict[str, float] = {}
    for term in terms:
        frequency = sum(1 for words in sentences if any(_matches(term, word) for word in words))
        weights[term] = math.log(1 + count / (1 + frequency)) if frequency else 0.0
    return weights


def _score(
    words: set[str],
    query_terms: list[str],
    answer_terms: list[str],
    weights: dict[str, float],
    answer_weight: float = 0.5,
) -> float:
    score = 0.0
    for term in query_terms:
        if any(_matches(term, word) for word in words):
            score += weights.get(term, 0.0)
    for term in answer_terms:
        if any(_matches(term, word) for word in words):
            score += answer_weight * weights.get(term, 0.0)
    return score
