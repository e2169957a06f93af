"""Quantization types as llama.cpp names them, read from file names, and their order of quality.

The order follows the perplexity column of llama.cpp's `llama-quantize --help` (best first): the
K-quants beat the legacy types of similar size (Q4_K_M over Q4_1), and F16/BF16/F32 are the
unquantized originals.
"""

from __future__ import annotations

import re

# Best first. Q8_0 is within noise of F16 at half the size, so it is the best one worth running.
QUALITY_ORDER = (
    "F32", "BF16", "F16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M",
    "Q4_K_S", "IQ4_XS", "IQ4_NL", "Q4_1", "Q4_0", "MXFP4_MOE", "Q3_K_L", "Q3_K_M", "IQ3_M",
    "IQ3_S", "Q3_K_S", "IQ3_XS", "IQ3_XXS", "Q2_K", "Q2_K_S", "IQ2_M", "IQ2_S", "IQ2_XS",
    "IQ2_XXS", "IQ1_M", "IQ1_S", "TQ2_0", "TQ1_0",
)  # fmt: skip
UNQUANTIZED = frozenset({"F32", "BF16", "F16"})
_RANK = {name: index for index, name in enumerate(QUALITY_ORDER)}
# Any llama.cpp-style type, including ones not listed above (e.g. unsloth's Q4_K_XL).
_QUANT_TOKEN = re.compile(r"^(?:I?Q\d(?:_[A-Z0-9]+)*|T?Q\d_\d|B?F16|F32|MXFP4(?:_MOE)?)$")


def quant_from_name(name: str) -> str:
    """The quantization type in a GGUF file name ("Qwen2.5-7B-Instruct-Q4_K_M.gguf" -> "Q4_K_M"),
    or "" when the name does not say."""
    stem = name.rsplit("/", 1)[-1]
    stem = re.sub(r"-\d{5}-of-\d{5}\.gguf$|\.gguf$", "", stem, flags=re.IGNORECASE)
    for token in reversed(re.split(r"[.\-]", stem)):
        if _QUANT_TOKEN.match(token.upper()):
            return token.upper()
    return ""


def quality_rank(quant: str) -> float:
    """Lower is better. Types not in QUALITY_ORDER rank just above the known ones with the same
    number of bits (Q4_K_XL next to Q4_K_M); unknown names rank last."""
    if quant in _RANK:
        return float(_RANK[quant])
    bits = re.search(r"Q(\d)", quant)
    if bits:
        same_bits = [i for name, i in _RANK.items() if re.search(rf"Q{bits[1]}(?!\d)", name)]
        if same_bits:
            return min(same_bits) - 0.5
    return float(len(QUALITY_ORDER))
