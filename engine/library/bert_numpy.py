"""The bundled sentence-embedding model run in NumPy, so that a search never imports torch.

A search embeds one short query. Importing torch and sentence-transformers for it costs seconds on
every `hearth search` and `hearth ask`, while the forward pass itself is a few small matrix
products. This module runs that forward pass from the model's own safetensors weights: BERT as in
transformers' `BertModel` (Devlin et al., 2019, arXiv:1810.04805) with sentence-transformers' mean
pooling. tests/engine/library/test_bert_numpy.py holds its vectors to a cosine >= 0.9999 against
sentence-transformers; bench/ask.py measures the start-up it saves.

Only what the bundled all-MiniLM-L6-v2 uses is implemented (absolute positions, exact GELU, mean
pooling); `BertNumpy.supports` says whether a model folder is of that kind.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

# Abramowitz & Stegun 7.1.26: erf to within 1.5e-7, in NumPy alone (it has no erf of its own).
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * x)
    a1, a2, a3, a4, a5 = _ERF_A
    poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class BertNumpy:
    """A BERT sentence encoder with mean pooling, run in float32 NumPy.

    Args:
        model_dir: A sentence-transformers folder (config.json, model.safetensors,
            tokenizer.json, 1_Pooling/config.json) for which `supports` is True.

    Raises:
        OSError, ValueError: The weights or the tokenizer could not be read.
    """

    def __init__(self, model_dir: Path) -> None:
        from engine.library.chunk import load_tokenizer

        model_dir = Path(model_dir)
        config = _read_json(model_dir / "config.json") or {}
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])
        sentence_config = _read_json(model_dir / "sentence_bert_config.json") or {}
        self.max_tokens = int(sentence_config.get("max_seq_length", 512))
        # Mapped, not read: a query touches a few rows of the word embeddings, and a cold
        # `hearth search` would otherwise read and copy all 90 MB first.
        self.weights = map_safetensors(model_dir / "model.safetensors")
        self.tokenizer = load_tokenizer(model_dir)
        self.tokenizer.enable_truncation(self.max_tokens)
        pad_id = int(config.get("pad_token_id", 0))
        self.tokenizer.enable_padding(pad_id=pad_id)

    @staticmethod
    def supports(model_dir: Path) -> bool:
        """True when `model_dir` holds a model this runtime computes exactly as transformers."""
        model_dir = Path(model_dir)
        config = _read_json(model_dir / "config.json")
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
        modules = _read_json(model_dir / "modules.json")
        if not (isinstance(config, dict) and isinstance(pooling, dict)):
            return False
        if not (isinstance(modules, list) and all(isinstance(m, dict) for m in modules)):
            return False
        return (
            config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and pooling.get("pooling_mode_mean_tokens") is True
            and not any(
                pooling.get(key)
                for key in (
                    "pooling_mode_cls_token",
                    "pooling_mode_max_tokens",
                    "pooling_mode_mean_sqrt_len_tokens",
                )
            )
            and all(
                str(m.get("type", "")).split(".")[-1] in {"Transformer", "Pooling", "Normalize"}
                for m in modules
            )
            and (model_dir / "model.safetensors").is_file()
            and (model_dir / "tokenizer.json").is_file()
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled vectors, shape (len(texts), hidden size), float32, not normalised."""
        from threadpoolctl import threadpool_limits

        # One BLAS thread: a query's products are small, and BLAS threads that spin while other
        # processes hold the cores made a 10 ms query take hundreds.
        with threadpool_limits(1, user_api="blas"):
            return self._embed(texts)

    def _embed(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._forward(ids, types, mask)
        counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return ((hidden * mask[:, :, None]).sum(axis=1) / counts).astype(np.float32)

    def _forward(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions][None]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        # Padding gets the most negative float, as transformers does, so softmax gives it 0.
        bias = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        for index in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{index}.")
        return x

    def _layer(self, x: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        batch, length, width = x.shape
        head = width // self.heads

        def split(name: str) -> np.ndarray:  # (batch, heads, length, head)
            y = self._linear(x, prefix + f"attention.self.{name}")
            return y.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

        query, key, value = split("query"), split("key"), split("value")
        scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(head) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        attended = self._linear(context, prefix + "attention.output.dense")
        x = self._norm(attended + x, prefix + "attention.output.LayerNorm")
        inner = _gelu(self._linear(x, prefix + "intermediate.dense"))
        return self._norm(
            self._linear(inner, prefix + "output.dense") + x, prefix + "output.LayerNorm"
        )

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        # Weights are stored (out, in); the transposed view goes to BLAS as it is (2-D product).
        flat = x.reshape(-1, x.shape[-1]) @ self.weights[name + ".weight"].T
        return (flat + self.weights[name + ".bias"]).reshape(*x.shape[:-1], -1)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(
            x, self.weights[name + ".weight"], self.weights[name + ".bias"], self.eps
        )


# safetensors dtype names (https://github.com/huggingface/safetensors, "Format") that NumPy holds.
_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                       "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}  # fmt: skip


def map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read-only arrays over a memory map of a .safetensors file, by tensor name.

    The format is an 8-byte little-endian header length, a JSON header giving each tensor's
    dtype, shape and byte range, then the data. Nothing is copied: pages are read when used.

    Raises:
        OSError: The file could not be read.
        ValueError: It is not a safetensors file, or holds a dtype NumPy has not (e.g. BF16).
    """
    mapped = np.memmap(path, dtype=np.uint8, mode="r")
    if mapped.size < 8:
        raise ValueError(f"{path.name} is too short to be a safetensors file")
    header_size = int(mapped[:8].view("<u8")[0])
    if header_size > mapped.size - 8:
        raise ValueError(f"{path.name} has a header longer than the file")
    header = json.loads(mapped[8 : 8 + header_size].tobytes())
    data = mapped[8 + header_size :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path.name}: tensor {name} is {entry['dtype']}, not read here")
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= data.size:
            raise ValueError(f"{path.name}: tensor {name} lies outside the file")
        tensors[name] = data[begin:end].view(dtype).reshape(entry["shape"])
    return tensors
