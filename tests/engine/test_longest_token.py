"""The most bytes of a text one token can read (`ModelInfo.longest_token_bytes`), by tokenizer.

A message holds at least its bytes over this many tokens, so a message past the window by that
count alone is refused before it is tokenized (`refuse_surely_too_long`). The value must be a
true bound (no text is ever read in fewer tokens: a message that fits is never refused) and as
tight as the tokenizer allows. Checked against llama.cpp's own tokenizer on the bundled models
and on tiny vocabularies whose value is known by construction.
"""

from __future__ import annotations

import ctypes
import random
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from string import ascii_lowercase

import llama_cpp
import pytest

from engine.context.manager import refuse_surely_too_long
from engine.gguf_info import read_model_info
from tests.engine.context.tiny_gguf import _byte_symbols

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE = 1, 2, 3, 4, 6  # tokenizer.ggml.token_type


def piece(llama: llama_cpp.Llama, token: int) -> bytes:
    """The text a token stands for (llama-cpp-python's `detokenize` cuts pieces at 32 bytes)."""
    buffer = ctypes.create_string_buffer(1024)
    size = llama_cpp.llama_token_to_piece(llama._model.vocab, token, buffer, 1024, 0, False)
    return buffer.raw[:size]


def token_ids(llama: llama_cpp.Llama, text: str) -> list[int]:
    """`text` as Hearth tokenizes a message: no BOS, special tokens read as plain text."""
    return list(llama.tokenize(text.encode(), add_bos=False, special=False))


def assert_a_true_bound(llama: llama_cpp.Llama, text: str, longest: int) -> int:
    """No token of `text` stands for more than `longest` bytes, the bound never claims more
    tokens than llama.cpp reads it as, and the quick check does not refuse it in a window it
    just fits. Returns how many tokens it is."""
    ids = token_ids(llama, text)
    assert max(len(piece(llama, token)) for token in ids) <= longest, text[:40]
    fewest = -(-len(text.encode()) // longest)
    assert fewest <= len(ids), text[:40]
    refuse_surely_too_long(text, longest, len(ids) + 1, 1)  # exactly fits: left to the count
    return len(ids)


# --- the bundled models ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2(default_model_path):
    return str(default_model_path), llama_cpp.Llama(
        str(default_model_path), vocab_only=True, verbose=False
    )


@pytest.fixture(scope="module")
def gemma(gemma_model_path):
    return str(gemma_model_path), llama_cpp.Llama(
        str(gemma_model_path), vocab_only=True, verbose=False
    )


def each_token(llama: llama_cpp.Llama) -> list[tuple[bytes, int]]:
    """Every token's stored text and attributes, as llama.cpp holds them."""
    vocab = llama._model.vocab
    return [
        (llama_cpp.llama_vocab_get_text(vocab, token), llama_cpp.llama_vocab_get_attr(vocab, token))
        for token in range(llama.n_vocab())
    ]


def test_smollm2_tokens_read_half_what_they_store(smollm2):
    """Byte-level BPE stores each byte as one character, "Ġ" (two bytes) for a space: the
    longest token, a line break and 80 spaces, is 162 bytes stored and reads 81. Every other
    token reads no more (counted one by one, as llama.cpp holds them), and text made of that
    token is read 81 bytes a token: the bound cannot be tighter."""
    path, llama = smollm2
    longest = read_model_info(path).longest_token_bytes
    stored = each_token(llama)
    assert max(len(text) for text, _ in stored) == 162
    assert longest == 81
    user_defined = llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    assert longest == max(
        len(text) if attr & user_defined else len(text.decode("utf-8")) for text, attr in stored
    )
    text = ("\n" + " " * 80) * 100 + "\n"
    ids = token_ids(llama, text)
    assert max(len(piece(llama, token)) for token in ids) == longest
    assert_a_true_bound(llama, text, longest)


def test_gemma_tokens_read_what_they_store(gemma):
    """SentencePiece stores a space as "▁" (three bytes), but a text may hold "▁" itself and
    llama.cpp reads it as the same piece; and Gemma 3's longest tokens are text as written
    ("…" sixteen times, 48 bytes, one token): its bound stays the stored 48. Only byte tokens
    ("<0x0A>", six bytes stored) read one byte, and they are not the longest."""
    path, llama = gemma
    longest = read_model_info(path).longest_token_bytes
    stored = each_token(llama)
    assert max(len(text) for text, _ in stored) == longest == 48
    byte = llama_cpp.LLAMA_TOKEN_ATTR_BYTE
    assert longest == max(1 if attr & byte else len(text) for text, attr in stored)
    ids = token_ids(llama, "…" * 16)
    assert len(ids) == 1 and len(piece(llama, ids[0])) == longest
    assert assert_a_true_bound(llama, "…" * 1600, longest) == 100  # 48 bytes a token


def real_texts() -> dict[str, str]:
    """Texts people paste, and runs that long tokens are made of; each some 10-40 KB."""
    prose = (
        "The harbour pilot boards at the outer buoy and brings the ship in, reading the tide "
        "tables, the wind and the temper of the captain in about equal measure.\n"
    )
    code = (
        "def longest(tokens):\n"
        "    '''The longest token.'''\n"
        "    best = 0\n"
        "    for token in tokens:\n"
        "        if len(token) > best:\n"
        "            best = len(token)  # keep it\n"
        "    return best\n\n"
    )
    german = "Die Größe der Bäume überrascht Müßiggänger; Fußgänger grüßen höflich. Äpfel, Öl!\n"
    chinese = "中文文本的分词方式与英文不同，每个汉字通常占用三个字节。我们今天去公园散步吧。\n"
    noise = random.Random(7).randbytes(20_000).decode("latin-1")
    return {
        "prose": prose * 100,
        "code": code * 100,
        "german": german * 200,
        "chinese": chinese * 200,
        "spaces": " " * 20_000,
        "equals": "=" * 20_000,
        "random bytes": noise,
        "indented lines": ("\n" + " " * 80) * 200,
        "ellipses": "…" * 5_000,
        "box lines": "─" * 5_000,
        "literal ▁": "▁" * 5_000,
        "byte token spelled": "<0x41>" * 2_000,
    }


@pytest.mark.parametrize("name", list(real_texts()))
def test_no_text_takes_fewer_tokens_than_the_bound(smollm2, gemma, name):
    """Each text, read by the real tokenizer of each bundled model: no token stands for more
    bytes than the bound, and the text is never fewer tokens than its bytes over it."""
    text = real_texts()[name]
    for path, llama in (smollm2, gemma):
        assert_a_true_bound(llama, text, read_model_info(path).longest_token_bytes)


def test_a_two_megabyte_paste_is_refused_as_twice_the_tokens(default_model_path):
    """At a 2,048-token window SmolLM2's bound is twice what stored lengths gave: 2 MiB are at
    least 25,891 tokens (12,946 before), and what it cannot rule out halves, to 163,944 bytes
    with 24 tokens kept for the reply (327,888 before)."""
    from engine.context.manager import ContextFullError

    longest = read_model_info(default_model_path).longest_token_bytes
    with pytest.raises(ContextFullError, match="at least 25,891 tokens"):
        refuse_surely_too_long("x" * (2 << 20), longest, 2048, 24)
    refuse_surely_too_long("x" * 163_944, longest, 2048, 24)
    with pytest.raises(ContextFullError):
        refuse_surely_too_long("x" * 163_945, longest, 2048, 24)


# --- tiny vocabularies ----------------------------------------------------------------------------

SPACE, NEWLINE = "Ġ", "Ċ"  # GPT-2's stand-ins for a space and a line break
YOU = "ä½ł"  # "你" (three bytes) as GPT-2 stores it: three characters, six bytes
LINE_BREAKS = (f"{NEWLINE} {NEWLINE}", f"{NEWLINE * 2} {NEWLINE * 2}")  # merges to four of them
# Three-letter tokens that bring a vocabulary past 4,096 tokens (read as a long array), none
# reading more than any case's bound.
PADDING = ["".join(letters) for letters in product(ascii_lowercase, repeat=3)][:4000]


def write_vocabulary(path: Path, kind: str, tokens: list[tuple[str, int]],
                     merges: tuple[str, ...] = (), typed: bool = True) -> Path:  # fmt: skip
    """A GGUF holding only a vocabulary (and the few numbers llama.cpp asks before it)."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_head_count(1)
    writer.add_feed_forward_length(8)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model(kind)
    writer.add_token_list([text for text, _ in tokens])
    if typed:
        writer.add_token_types([token_type for _, token_type in tokens])
    if kind == "llama":
        writer.add_token_scores([-float(index) for index in range(len(tokens))])
    if kind == "gpt2":
        writer.add_token_merges(list(merges))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def byte_level(*more: tuple[str, int]) -> list[tuple[str, int]]:
    return [(symbol, NORMAL) for symbol in _byte_symbols()] + list(more)


def sentencepiece(*more: tuple[str, int]) -> list[tuple[str, int]]:
    special = [("<unk>", UNKNOWN), ("<s>", CONTROL), ("</s>", CONTROL)]
    return special + [(f"<0x{byte:02X}>", BYTE) for byte in range(256)] + list(more)


def normal(*texts: str) -> list[tuple[str, int]]:
    return [(text, NORMAL) for text in texts]


@dataclass(frozen=True)
class Case:
    """A vocabulary whose bound is known by construction."""

    kind: str  # tokenizer.ggml.model
    tokens: list[tuple[str, int]]  # text, type
    merges: tuple[str, ...]
    bound: int
    stored: int  # the longest token as stored
    # Made of the tokens that read the most: one byte less a token would claim more tokens.
    tight: str


CASES = {
    "byte-level: line breaks": Case(
        "gpt2",
        byte_level(*normal(NEWLINE * 2, NEWLINE * 4, SPACE * 2, YOU[:2], YOU), ("<e>", CONTROL)),
        LINE_BREAKS + (f"{SPACE} {SPACE}", f"{YOU[0]} {YOU[1]}", f"{YOU[:2]} {YOU[2]}"),
        bound=4,  # four line breaks, stored as eight bytes
        stored=8,
        tight="\n" * 400,
    ),
    "byte-level: user-defined as written": Case(
        "gpt2",
        byte_level(*normal(NEWLINE * 2, NEWLINE * 4), ("ßßß", USER_DEFINED)),
        LINE_BREAKS,
        bound=6,  # matched as written, special tokens or not: six bytes, not three characters
        stored=8,
        tight="ßßß" * 100,
    ),
    "byte-level: a control token the merges spell": Case(
        "gpt2",
        byte_level(*normal("<|"), ("<|>", CONTROL)),
        ("< |", "<| >"),
        bound=3,  # special tokens off, yet merging "<|" and ">" reads it as text
        stored=3,
        tight="<|>" * 100,
    ),
    "SentencePiece: byte tokens": Case(
        "llama",
        sentencepiece(*normal("▁", "a", "b", "ab", "▁a", "▁ab")),
        (),
        bound=5,  # "▁ab" read with a "▁" of the text; "<0x41>" (six bytes) stands for one
        stored=6,
        tight="▁ab" * 100,
    ),
    "SentencePiece: a byte token spelled out": Case(
        "llama",
        sentencepiece(*normal("▁", "<", "0", "x", "4", "1", ">", "<0", "<0x", "<0x4", "1>")),
        (),
        bound=6,  # merging "<0x4" and "1>" spells "<0x41>": the byte token reads six bytes
        stored=6,
        tight="<0x41>" * 100,
    ),
    "SentencePiece: a literal ▁": Case(
        "llama",
        sentencepiece(*normal("▁", "▁▁", "▁▁▁▁", "a")),
        (),
        bound=12,  # four "▁" of the text itself, not four spaces
        stored=12,
        tight="▁" * 400,
    ),
}


@pytest.mark.parametrize("padded", [False, True], ids=["short list", "long list"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_tiny_vocabulary_reads_what_it_was_built_to(tmp_path, name, padded):
    """The bound is the one the vocabulary was built with, smaller than its longest stored
    token where the tokenizer allows; llama.cpp reads texts of it in no fewer tokens, and a
    text of its longest-reading tokens in fewer than one byte less a token would claim."""
    case = CASES[name]
    vocabulary = case.tokens + (normal(*PADDING) if padded else [])
    path = write_vocabulary(tmp_path / "tiny.gguf", case.kind, vocabulary, case.merges)
    assert max(len(text.encode()) for text, _ in vocabulary) == case.stored
    assert read_model_info(path, check=False).longest_token_bytes == case.bound
    llama = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    count = assert_a_true_bound(llama, case.tight, case.bound)
    assert -(-len(case.tight.encode()) // (case.bound - 1)) > count
    for text in ("\n" * 401, " " * 50 + "ab", "你" * 30, "<|e|>" * 10, "<0x41>" * 20, "▁ab" * 9):
        assert_a_true_bound(llama, text, case.bound)


def test_other_tokenizers_and_untyped_tokens_keep_the_stored_length(tmp_path):
    """A tokenizer without rules here, or tokens without types (a user-defined one is read as
    written), keep the longest stored token: safe, if loose."""
    vocabulary = byte_level(*normal(NEWLINE * 4))
    assert read_model_info(write_vocabulary(tmp_path / "typed.gguf", "gpt2", vocabulary),
                           check=False).longest_token_bytes == 4  # fmt: skip
    other = write_vocabulary(tmp_path / "bert.gguf", "bert", vocabulary)
    assert read_model_info(other, check=False).longest_token_bytes == 8
    untyped = write_vocabulary(tmp_path / "untyped.gguf", "gpt2", vocabulary, typed=False)
    assert read_model_info(untyped, check=False).longest_token_bytes == 8
