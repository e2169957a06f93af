"""Keyword search over chunk text with SQLite FTS5 and its BM25 ranking.

Vector search finds meaning; this finds the exact names, commands and numbers it misses. The
FTS5 table lives in the manifest's SQLite file (see manifest.py), so it commits with the chunks.

Scripts written without spaces between words (Chinese, Japanese, Korean, Thai, Lao, Khmer,
Myanmar) reach FTS5's unicode61 tokenizer as one long token per run, so a word in the middle of
a sentence could not be found. Such runs are split into overlapping character bigrams, the same
way at index time (`index_text`) and at query time (`query_words`): a two-character word is one
bigram, a longer one a phrase of bigrams. Exact terms with punctuation ("C++17", "SKU#88-21/B",
"v2.3.1") are matched as phrases of their parts, then checked against the chunk text verbatim.

Words are matched on their stems (Porter's), which leaves out what a stemmer cannot see: a word
inside a compound ("Firmware" in "Firmware-Update-Daemon", "Zwischenablage" in
"Wayland-Zwischenablage"), inflections of languages other than English ("Gebietsschemas"). A
second index holds every word as its overlapping character 4-grams (`word_grams`), the same at
index and query time, and ranks chunks by BM25 over those; retrieval fuses it as a list of its
own (see retrieve.py, bench/retrieval.py for what each list gains).

BM25 scores every chunk that holds any query word, so one very common word in a big library
makes a query slow while adding almost nothing to the ranking (its IDF is near zero). Words are
therefore looked up in the FTS5 vocabulary first and the most common ones left out until the
postings to score fit a budget (see `affordable_words`).
"""

from __future__ import annotations

import re
import sqlite3

# Words too common to help a BM25 ranking; dropped unless the query has nothing else.
_STOPWORD_TEXT = """a about above after again all also am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no
    nor not of off on once only or other our out over own said same say says she should so some
    such than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your document
    documents file files"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"\w+", re.UNICODE)
# Terms that hold punctuation between word characters: "XK-42", "foo.bar", "v1.2.3", "--set".
_COMPOUND = re.compile(r"\w+(?:[-./:_+]\w+)+", re.UNICODE)
_QUOTED = re.compile(r'"([^"]+)"')
# Runs of characters from scripts that put no spaces between words.
_UNSPACED = re.compile(
    "["
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
    "]+"
)
# A query run this long or shorter is taken as one word and also searched as a phrase.
PHRASE_MAX_CHARS = 8
# Sentence punctuation around a term that is not part of it.
_LEADING = "\"'([{<"
_TRAILING = "\"'.,;:!?)]}>"


def bigrams(run: str) -> list[str]:
    """Overlapping two-character pieces of a run of unspaced script; a lone character as is."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_text(text: str) -> str:
    """The text as the keyword index stores it: unspaced-script runs replaced by their bigrams."""
    if not _UNSPACED.search(text):
        return text
    return _UNSPACED.sub(lambda match: " " + " ".join(bigrams(match.group(0))) + " ", text)


# Character n-grams of words: size, and the mark of a word's start and end ("_pak", "ket_").
GRAM_SIZE = 4
GRAM_MARK = "_"


def word_grams(text: str) -> str:
    """The text as the n-gram index stores it: each word (stop words and unspaced-script runs
    left out) as its overlapping GRAM_SIZE-character pieces, marked at both ends, so that
    "Pakete" becomes "_pak pake aket kete ete_". Diacritics are folded by the index."""
    if _UNSPACED.search(text):
        text = _UNSPACED.sub(" ", text)
    pieces: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS:
            continue
        marked = f"{GRAM_MARK}{word}{GRAM_MARK}"
        if len(marked) <= GRAM_SIZE:
            pieces.append(marked)
        else:
            pieces.extend(marked[i : i + GRAM_SIZE] for i in range(len(marked) - GRAM_SIZE + 1))
    return " ".join(pieces)


def exact_terms(query: str) -> list[str]:
    """Terms of the query that mix word characters and punctuation ("C++17", "v2.3.1")."""
    terms: list[str] = []
    for raw in query.split():
        term = raw.lstrip(_LEADING).rstrip(_TRAILING)
        if len(term) > 1 and _WORD.search(term) and not _WORD.fullmatch(term):
            terms.append(term)
    return list(dict.fromkeys(terms))


def holds_exactly(text: str, terms: list[str]) -> bool:
    """True when `text` holds every term verbatim (case and line breaks aside)."""
    flat = " ".join(text.lower().split())
    return all(term.lower() in flat for term in terms)


# BM25 weight of a chunk's heading relative to its text. Every chunk of a section carries the
# same heading, so a question word in it lifts them all alike and drowns what tells them apart:
# on the dev split of bench/eval, keyword-only hit@1 is 0.57 at 1.0, 0.67 at 0.25 (and at 0).
HEADING_WEIGHT = 0.25

# Postings (chunk, word) pairs BM25 may score per query; about 10 ms of SQLite work here.
POSTINGS_BUDGET = 20_000

# n-gram postings BM25 may score per query: n-grams are many and short, so the budget is larger.
GRAM_POSTINGS_BUDGET = 60_000

# The tokenizers of the two keyword indexes (manifest.py creates them with these).
WORD_TOKENIZER = "porter unicode61 remove_diacritics 2"
GRAM_TOKENIZER = f"unicode61 remove_diacritics 2 tokenchars '{GRAM_MARK}'"


def _query_tables(index: str, tokenizer: str) -> tuple[str, ...]:
    """Per-connection helpers for one index: a scratch FTS5 table that folds (and stems) the
    query terms as the index does, and views of both vocabularies. Run one by one:
    executescript() would COMMIT an open transaction."""
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_{index} USING fts5(term, "
        f'tokenize="{tokenizer}")',
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_{index}_terms "
        f"USING fts5vocab(temp, query_{index}, instance)",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{index}_terms USING fts5vocab(main, {index}, row)",
    )


def query_words(query: str) -> list[str]:
    """The query's searchable words: lower case, stop words dropped unless nothing else is left,
    unspaced-script runs as their bigrams (as `index_text` stores them)."""
    words = [word.lower() for word in _WORD.findall(index_text(query))]
    kept = [word for word in words if word not in STOPWORDS] or words
    return list(dict.fromkeys(kept))


def _unspaced_phrases(query: str) -> list[str]:
    """Word-length runs of unspaced script in the query, as FTS5 phrases of their bigrams."""
    return [
        '"' + " ".join(bigrams(run)) + '"'
        for run in _UNSPACED.findall(query)
        if 2 < len(run) <= PHRASE_MAX_CHARS
    ]


def affordable_words(
    conn: sqlite3.Connection,
    words: list[str],
    index: str = "chunk_fts",
    budget: int = POSTINGS_BUDGET,
) -> list[str]:
    """`words` without the most common ones, so that scoring them stays within `budget`.

    Words in more than half the chunks carry no BM25 weight and always go; the rarest word is
    always kept. Document frequencies come from the FTS5 vocabulary (folded and stemmed as the
    index is).

    Args:
        conn: A connection to the manifest.
        words: Query terms, in order.
        index: "chunk_fts" (words) or "chunk_grams" (n-grams).
        budget: Postings (chunk, term) pairs to score at most.
    """
    if not words:
        return words
    tokenizer = GRAM_TOKENIZER if index == "chunk_grams" else WORD_TOKENIZER
    for statement in _query_tables(index, tokenizer):
        conn.execute(statement)
    conn.execute(f"DELETE FROM temp.query_{index}")
    conn.executemany(
        f"INSERT INTO temp.query_{index}(rowid, term) VALUES (?, ?)",
        list(enumerate(words, start=1)),
    )
    stems = conn.execute(f"SELECT doc, term FROM temp.query_{index}_terms").fetchall()
    frequency: dict[str, int] = {}
    for row, term in stems:
        found = conn.execute(
            f"SELECT doc FROM temp.{index}_terms WHERE term = ?", (term,)
        ).fetchone()
        word = words[row - 1]
        frequency[word] = max(frequency.get(word, 0), found[0] if found else 0)
    total = conn.execute(
        "SELECT COALESCE(SUM(chunks), 0) FROM files WHERE status = 'indexed'"
    ).fetchone()[0]
    ranked = sorted(words, key=lambda word: frequency.get(word, 0))
    kept: set[str] = set()
    postings = 0
    for word in ranked:
        count = frequency.get(word, 0)
        if kept and (count > total / 2 or postings + count > budget):
            break
        kept.add(word)
        postings += count
    return [word for word in words if word in kept]


def match_expression(query: str, words: list[str] | None = None) -> str | None:
    """An FTS5 MATCH expression for a free-text query, or None when it has no searchable word.

    Each word is quoted (so FTS5 operators in the query are plain text) and OR-ed; compound terms
    are added again as phrases so a chunk holding the exact term ranks above one holding its parts.

    Args:
        query: The text typed.
        words: The words to use (default: all of `query_words(query)`).
    """
    kept = query_words(query) if words is None else words
    if not kept:
        return None
    terms: list[str] = []
    for compound in [*_COMPOUND.findall(query), *exact_terms(query)]:
        parts = _WORD.findall(index_text(compound).lower())
        phrase = '"' + " ".join(parts) + '"'
        if len(parts) > 1 and phrase not in terms:
            terms.append(phrase)
    terms.extend(_unspaced_phrases(query))
    for word in kept:
        quoted = f'"{word}"'
        if quoted not in terms:
            terms.append(quoted)
    return " OR ".join(terms)


def exact_expression(query: str) -> str | None:
    """An FTS5 expression that matches only chunks holding every exact term of the query: its
    terms with punctuation ("XK-42", "C++17", "v1.2.3") and its quoted phrases (each as the
    phrase of its words as indexed). None when it has neither."""
    sources = [*_QUOTED.findall(query), *exact_terms(query)]
    phrases = [" ".join(_WORD.findall(index_text(text).lower())) for text in sources]
    phrases = [phrase for phrase in dict.fromkeys(phrases) if phrase]
    if not phrases:
        return None
    return " AND ".join(f'"{phrase}"' for phrase in phrases)


def search(
    conn: sqlite3.Connection,
    query: str,
    limit: int,
    file_ids: list[int] | None = None,
    exact: bool = False,
) -> list[tuple[int, int, float]]:
    """Best chunks for `query` by BM25.

    Args:
        conn: A connection to the manifest's SQLite file.
        query: Free text.
        limit: How many hits at most.
        file_ids: Only chunks of these files, when given.
        exact: Only chunks holding the query's exact terms (see `exact_expression`).

    Returns:
        (file id, ordinal, bm25 score; lower is better) in rank order.
    """
    if exact:
        expression = exact_expression(query)
    else:
        expression = match_expression(query, affordable_words(conn, query_words(query)))
    if expression is None or limit <= 0:
        return []
    terms = exact_terms(query) + [quoted.strip() for quoted in _QUOTED.findall(query)]
    rows = _matches(conn, expression, limit * 4 if exact else limit, file_ids)
    if exact:
        # The phrase of a term's parts also matches them with other punctuation between
        # ("C 17" for "C++17"): keep only the chunks that hold the term as written.
        rows = [row for row in rows if holds_exactly(row[3], terms)][:limit]
    return [(file_id, ordinal, score) for file_id, ordinal, score, _text in rows]


def gram_search(
    conn: sqlite3.Connection,
    query: str,
    limit: int,
    file_ids: list[int] | None = None,
) -> list[tuple[int, int, float]]:
    """Best chunks for `query` by BM25 over character n-grams of its words (see `word_grams`).

    Returns:
        (file id, ordinal, bm25 score; lower is better) in rank order.
    """
    grams = list(dict.fromkeys(word_grams(query).split()))
    grams = affordable_words(conn, grams, "chunk_grams", GRAM_POSTINGS_BUDGET)
    if not grams or limit <= 0:
        return []
    expression = " OR ".join(f'"{gram}"' for gram in grams)
    rows = _matches(conn, expression, limit, file_ids, "chunk_grams")
    return [(file_id, ordinal, score) for file_id, ordinal, score, _text in rows]


def _matches(
    conn: sqlite3.Connection,
    expression: str,
    limit: int,
    file_ids: list[int] | None,
    index: str = "chunk_fts",
) -> list[tuple[int, int, float, str]]:
    rank = f"bm25(chunk_fts, 1.0, {HEADING_WEIGHT})" if index == "chunk_fts" else f"bm25({index})"
    sql = (
        f"SELECT c.file_id, c.ordinal, {rank} AS score, c.text "
        f"FROM {index} JOIN chunks c ON c.id = {index}.rowid WHERE {index} MATCH ?"
    )
    params: list[object] = [expression]
    if file_ids is not None:
        sql += f" AND c.file_id IN ({','.join('?' * len(file_ids))})"
        params.extend(file_ids)
    sql += " ORDER BY score LIMIT ?"
    params.append(limit)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        # A query FTS5 still cannot parse (should not happen with quoted words): no keyword hits.
        return []
