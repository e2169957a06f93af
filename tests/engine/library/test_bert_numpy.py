"""The NumPy runtime for queries gives sentence-transformers' vectors, and a search never
imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from engine.library.bert_numpy import BertNumpy
from engine.library.embed import SMALL_INPUT, Embedder

# Each test compares with sentence-transformers, which loads the torch model.
pytestmark = pytest.mark.slow

TEXTS = [
    "How do I set the terminal in gnuplot?",
    "wind direction",
    "",
    "   ",
    "Der Leuchtturmwärter putzt die Lampe um 18 Uhr.",
    "冷却泵过热时应关闭阀门。",
    "ERR-4471 at line 3; see TF-20-B (rev. 2).",
    "€ 1.234,56 — «quoted» ‘text’ 🚀 emoji",
    "long " * 400,  # past the model's 256-token limit: truncated as sentence-transformers does
]


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def reference(embedding_model_dir):
    """sentence-transformers in float32, one batch: the vectors the library stores."""
    return Embedder(embedding_model_dir, precision="fp32").embed(TEXTS)


def test_numpy_vectors_match_sentence_transformers(embedding_model_dir, reference):
    runtime = BertNumpy(embedding_model_dir)
    one_by_one = np.stack([runtime.embed([text])[0] for text in TEXTS])
    batched = runtime.embed(TEXTS)  # padded to the longest: padding must not change a vector
    for vectors in (one_by_one, batched):
        cosines = (_unit(vectors) * reference).sum(axis=1)
        assert cosines.min() >= 0.9999, dict(zip(TEXTS, cosines.round(6), strict=True))


def test_a_query_ranks_the_documents_as_sentence_transformers_does(embedding_model_dir):
    documents = [
        "Use set terminal to choose the output device, for example png or pdf.",
        "The keeper lights the lamp at dusk and trims the wick at midnight.",
        "Set the size of the plot with set size followed by two numbers.",
        "Wind from the north-west brings rain to the coast in autumn.",
        "Press Ctrl+C to stop the program at any time.",
    ]
    embedder = Embedder(embedding_model_dir, precision="fp32")
    assert len(documents) > SMALL_INPUT  # stored through sentence-transformers, as indexing does
    stored = embedder.embed(documents)
    for query in ("which output device", "when is the lamp lit", "weather at the shore"):
        numpy_scores = stored @ embedder.embed_query(query)
        torch_scores = stored @ embedder.embed([query] * (SMALL_INPUT + 1))[0]
        assert list(np.argsort(-numpy_scores)) == list(np.argsort(-torch_scores))
        assert np.allclose(numpy_scores, torch_scores, atol=1e-4)


def test_a_search_in_a_fresh_process_never_imports_torch(guide_library, tmp_path):
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engine.library import Library\n"
        f"library = Library.open(Path({str(guide_library.folder.parent)!r}), {guide_library.name!r})\n"
        "hits = library.search('How do I change the output format?', k=3)\n"
        "assert hits, 'no hits'\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def _copy_model(source, target):
    shutil.copytree(source, target)
    return target


def test_a_model_it_cannot_compute_is_left_to_sentence_transformers(embedding_model_dir, tmp_path):
    assert BertNumpy.supports(embedding_model_dir)
    cls_pooled = _copy_model(embedding_model_dir, tmp_path / "cls")
    pooling = cls_pooled / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False,
                                   "pooling_mode_cls_token": True}))  # fmt: skip
    assert not BertNumpy.supports(cls_pooled)

    broken = _copy_model(embedding_model_dir, tmp_path / "broken")
    (broken / "config.json").write_text("{not json")
    assert not BertNumpy.supports(broken)

    # An unsupported model still embeds queries, through sentence-transformers.
    embedder = Embedder(cls_pooled, precision="fp32")
    vector = embedder.embed_query("wind direction")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
