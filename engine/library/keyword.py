"""Keyword search over chunk text with SQLite FTS5 and its BM25 ranking.

Vector search finds meaning; this finds the exact names, commands and numbers it misses. The
FTS5 table lives in the manifest's SQLite file (see manifest.py), so it commits with the chunks.

Scripts written without spaces between words (Chinese, Japanese, Korean, Thai, Lao, Khmer,
Myanmar) reach FTS5's unicode61 tokenizer as one long token per run, so a word in the middle of
a sentence could not be found. Such runs are split into overlapping character bigrams, the same
way at index time (`index_text`) and at query time (`query_words`): a two-character word is one
bigram, a longer one a phrase of bigrams. Exact terms with punctuation ("C++17", "SKU#88-21/B",
"v2.3.1") are matched as phrases of their parts, then checked against the chunk text verbatim.

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


# BM25 weight of a chunk's heading relative to its text.
HEADING_WEIGHT = 1.0

# Postings (chunk, word) pairs BM25 may score per query; about 10 ms of SQLite work here.
POSTINGS_BUDGET = 20_000

# Per-connection helpers: a scratch FTS5 table that stems the query words as the index does, and
# views of both vocabularies. Run one by one: executescript() would COMMIT an open transaction.
_QUERY_TABLES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words"
    " USING fts5(word, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_stems USING fts5vocab(temp, query_words, instance)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_terms USING fts5vocab(main, chunk_fts, row)",
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


def affordable_words(conn: sqlite3.Connection, words: list[str]) -> list[str]:
    """`words` without the most common ones, so that scoring them stays within POSTINGS_BUDGET.

    Words in more than half the chunks carry no BM25 weight and always go; the rarest word is
    always kept. Document frequencies come from the FTS5 vocabulary (stemmed as the index is).
    """
    if not words:
        return words
    for statement in _QUERY_TABLES:
        conn.execute(statement)
    conn.execute("DELETE FROM temp.query_words")
    conn.executemany(
        "INSERT INTO temp.query_words(rowid, word) VALUES (?, ?)",
        list(enumerate(words, start=1)),
    )
    stems = conn.execute("SELECT doc, term FROM temp.query_stems").fetchall()
    frequency: dict[str, int] = {}
    for row, term in stems:
        found = conn.execute("SELECT doc FROM temp.chunk_terms WHERE term = ?", (term,)).fetchone()
        word = words[row - 1]
        frequency[word] = max(frequency.get(word, 0), found[0] if found else 0)
    total = conn.execute(
        "SELECT COALESCE(SUM(chunks), 0) FROM files WHERE status = 'indexed'"
    ).fetchone()[0]
    ranked = sorted(words, key=lambda word: frequency.get(word, 0))
    kept: list[str] = []
    postings = 0
    for word in ranked:
        count = frequency.get(word, 0)
        if kept and (count > total / 2 or postings + count > POSTINGS_BUDGET):
            break
        kept.append(word)
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


def _matches(
    conn: sqlite3.Connection, expression: str, limit: int, file_ids: list[int] | None
) -> list[tuple[int, int, float, str]]:
    sql = (
        f"SELECT c.file_id, c.ordinal, bm25(chunk_fts, 1.0, {HEADING_WEIGHT}) AS score, c.text "
        "FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.rowid WHERE chunk_fts MATCH ?"
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
