"""Weigh a torch-free embedding path for the bundle: export all-MiniLM-L6-v2 to ONNX and compare.

sentence-transformers (and torch) stay the build-time tool; at run time the app would only need
onnxruntime, tokenizers and numpy. This script exports the bundled model's transformer to ONNX,
embeds the same texts both ways, and prints JSON: agreement (cosine), speed, and file sizes.

    .venv/bin/python packaging/export_embedding_onnx.py [--out build/packaging/onnx]

The export needs the `onnx` package (build time only: `pip install onnx`); running the exported
model needs only onnxruntime.

Nothing in the app uses the exported file yet; see packaging/README.md ("Torch in the bundle").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

TEXTS = [
    "The copper kettle whistles when the water reaches ninety-three degrees.",
    "Open the damper before lighting so the smoke rises up the chimney.",
    "Quarterly revenue grew by twelve percent, driven by subscriptions.",
    "Le chat dort sur le canapé près de la cheminée.",
    "def fibonacci(n): return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "A short one.",
] * 8  # 48 texts: one realistic indexing batch and a half


def export(model_dir: Path, out_dir: Path) -> Path:
    """Write out_dir/model.onnx: token ids, attention mask, token types -> last hidden state."""
    import torch
    from transformers import AutoModel

    if importlib.util.find_spec("onnx") is None:
        raise SystemExit(
            "export_embedding_onnx: the export needs the onnx package: pip install onnx"
        )

    class Encoder(torch.nn.Module):
        """The transformer with keyword arguments fixed, returning the token vectors only."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

        def forward(self, input_ids, attention_mask, token_type_ids):
            output = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    dummy = torch.ones((2, 16), dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(
            Encoder().eval(),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "tokens"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )
    return path


class OnnxEmbedder:
    """What a torch-free run-time embedder needs: tokenizers + onnxruntime + mean pooling."""

    def __init__(self, model_dir: Path, onnx_path: Path, max_tokens: int = 256) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            types = np.array([e.type_ids for e in encodings], dtype=np.int64)
            (hidden,) = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)


def _timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/packaging/onnx"))
    args = parser.parse_args()

    from engine.bundled import embedding_model_dir

    model_dir = embedding_model_dir()
    export_s, onnx_path = _timed(export, model_dir, args.out)

    # Reference: the app's own embedder (sentence-transformers on torch), forced to float32.
    from engine.library.embed import Embedder

    reference = Embedder(precision="fp32")
    reference.embed(TEXTS[:2])  # load and warm up
    torch_s, expected = _timed(reference.embed, TEXTS)

    # And as the app runs it: bfloat16 where the CPU has native support, else float32.
    auto = Embedder(precision="auto")
    auto.embed(TEXTS[:2])
    auto_s, auto_vectors = _timed(auto.embed, TEXTS)

    onnx = OnnxEmbedder(model_dir, onnx_path)
    onnx.embed(TEXTS[:2])
    onnx_s, actual = _timed(onnx.embed, TEXTS)

    cosines = np.sum(expected * actual, axis=1)
    print(
        json.dumps(
            {
                "texts": len(TEXTS),
                "cosine_min": round(float(cosines.min()), 6),
                "cosine_mean": round(float(cosines.mean()), 6),
                "torch_fp32_texts_per_s": round(len(TEXTS) / torch_s, 1),
                f"torch_{auto.resolved_precision}_texts_per_s": round(len(TEXTS) / auto_s, 1),
                "cosine_min_torch_auto_vs_fp32": round(
                    float(np.sum(expected * auto_vectors, axis=1).min()), 6
                ),
                "onnx_texts_per_s": round(len(TEXTS) / onnx_s, 1),
                "onnx_model_mib": round(onnx_path.stat().st_size / 2**20, 1),
                "safetensors_mib": round(
                    (model_dir / "model.safetensors").stat().st_size / 2**20, 1
                ),
                "export_s": round(export_s, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
