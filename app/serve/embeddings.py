"""POST /v1/embeddings: the document library's embedding model (all-MiniLM-L6-v2, 384 numbers).

The vectors are the ones the library searches with, unit length; `encoding_format: "base64"`
(what OpenAI's Python client asks for) gives their little-endian float32 bytes.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from app.serve.errors import ApiError
from app.serve.schemas import Embedding, EmbeddingList, EmbeddingRequest, EmbeddingUsage

if TYPE_CHECKING:
    from engine.library.embed import Embedder

# OpenAI's limit on texts per request.
MAX_INPUTS = 2048


def texts_of(body: EmbeddingRequest) -> list[str]:
    """The texts to embed.

    Raises:
        ApiError: 400 for token arrays, an empty list, empty texts or too many texts.
    """
    given = body.input
    texts = [given] if isinstance(given, str) else list(given)
    if not texts:
        raise ApiError(400, "The input is empty.", param="input")
    if not all(isinstance(text, str) for text in texts):
        raise ApiError(400, "Give the input as text: this server does not take token arrays.",
                       param="input")  # fmt: skip
    if len(texts) > MAX_INPUTS:
        raise ApiError(400, f"At most {MAX_INPUTS:,} texts per request, not {len(texts):,}.",
                       param="input")  # fmt: skip
    if any(not text for text in texts):  # type: ignore[union-attr]
        raise ApiError(400, "The input holds an empty text.", param="input")
    return [str(text) for text in texts]


async def embed(embedder: Embedder | None, body: EmbeddingRequest) -> EmbeddingList:
    """The vectors of the request's texts, in its order, with their token count.

    Raises:
        ApiError: 404 for a model that is not the embedding model, 400 for bad input or
            dimensions other than the model's.
    """
    if embedder is None:
        raise ApiError(404, "This server offers no embedding model.", param="model",
                       code="model_not_found")  # fmt: skip
    if body.model != embedder.name:
        raise ApiError(404, f"The embedding model here is '{embedder.name}', not '{body.model}'.",
                       param="model", code="model_not_found")  # fmt: skip
    if body.dimensions is not None and body.dimensions != embedder.dimension:
        raise ApiError(400, f"{embedder.name} gives {embedder.dimension} dimensions only.",
                       param="dimensions")  # fmt: skip
    texts = texts_of(body)
    vectors = await run_in_threadpool(embedder.embed, texts)
    tokens = await run_in_threadpool(_count_tokens, embedder, texts)
    data = [
        Embedding(index=index, embedding=_encode(vector, body.encoding_format))
        for index, vector in enumerate(vectors)
    ]
    return EmbeddingList(data=data, model=embedder.name,
                         usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens))  # fmt: skip


def _encode(vector, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


def _count_tokens(embedder: Embedder, texts: list[str]) -> int:
    """Word pieces in `texts`, special tokens included."""
    encoded = embedder.tokenizer.encode_batch(texts)
    return sum(len(item.ids) for item in encoded)
