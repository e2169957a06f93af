"""Write a tiny llama-architecture GGUF with a 131072-token context, for long-context tests.

Random weights, 2 layers, one 16-wide attention head and a byte-level BPE vocabulary of 256 byte tokens,
a few merges and ChatML control tokens, so llama.cpp loads it, tokenizes any text and applies the
chat template like a real chat model. It answers nonsense, fast: filling 128K tokens stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CONTEXT_LENGTH = 131072
N_EMBD = 16
N_HEAD = 1
N_HEAD_KV = 1
N_LAYER = 2
N_FF = 64
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MERGES = ("Ġ t", "h e", "Ġ a", "i n", "e r", "o n", "Ġt he", "r e", "a n", "e n")
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_symbols() -> list[str]:
    """GPT-2's byte-to-character map: every byte gets a printable stand-in character."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    symbols = {}
    extra = 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[byte] for byte in range(256)]


def write_tiny_model(
    path: str | Path,
    seed: int = 0,
    split_max_tensors: int = 0,
    n_embd: int = N_EMBD,
    n_ff: int = N_FF,
    template: str | None = CHATML_TEMPLATE,
    special_tokens: tuple[str, ...] = SPECIAL_TOKENS,
    bos: int = 0,
    eos: int = 2,
    add_bos: bool = False,
    name: str = "tiny-llama-128k",
    metadata: dict[str, Any] | None = None,
    skip_tensors: tuple[str, ...] = (),
) -> Path:
    """Write the model to `path` (overwritten) and return the path.

    With `split_max_tensors`, write a split model instead (`<stem>-00001-of-0000N.gguf` beside
    `path`, as llama.cpp's gguf-split does) and return its first part. `n_embd` and `n_ff` widen
    it: 256 and 512 give rows that fill whole K-quant blocks.

    `template` (None: no chat template), `special_tokens` (control tokens appended to the byte
    vocabulary), `bos`/`eos` (indices into `special_tokens`) and `add_bos` give the tiny model
    another chat format, so prompt tests can cover the common template families. `metadata`
    replaces values (keeping their GGUF type; None removes the key) and `skip_tensors` leaves
    tensors out, for files whose metadata contradicts their tensors.
    """
    import gguf

    path = Path(path)
    tokens = _byte_symbols()
    for merge in MERGES:
        merged = merge.replace(" ", "")
        if merged not in tokens:
            tokens.append(merged)
    first_special = len(tokens)
    tokens.extend(special_tokens)
    types = [gguf.TokenType.NORMAL] * first_special + [gguf.TokenType.CONTROL] * len(special_tokens)

    writer = gguf.GGUFWriter(str(path), arch="llama", split_max_tensors=split_max_tensors)
    writer.add_name(name)
    writer.add_context_length(CONTEXT_LENGTH)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(n_embd // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(list(MERGES))
    writer.add_bos_token_id(first_special + bos)
    writer.add_eos_token_id(first_special + eos)
    writer.add_add_bos_token(add_bos)
    if template is not None:
        writer.add_chat_template(template)

    for key, value in (metadata or {}).items():
        if value is None:
            writer.kv_data[0].pop(key, None)
        else:
            old = writer.kv_data[0][key]
            writer.kv_data[0][key] = gguf.GGUFValue(value, old.type, old.sub_type)

    rng = np.random.default_rng(seed)
    head_dim = n_embd // N_HEAD

    add_tensor = writer.add_tensor

    def keep(name: str, data: np.ndarray) -> None:
        if name not in skip_tensors:
            add_tensor(name, data)

    writer.add_tensor = keep  # type: ignore[method-assign, assignment]

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer.add_tensor("token_embd.weight", weight(len(tokens), n_embd))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", weight(len(tokens), n_embd))
    for layer in range(N_LAYER):
        prefix = f"blk.{layer}."
        writer.add_tensor(prefix + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(prefix + "attn_q.weight", weight(N_HEAD * head_dim, n_embd))
        writer.add_tensor(prefix + "attn_k.weight", weight(N_HEAD_KV * head_dim, n_embd))
        writer.add_tensor(prefix + "attn_v.weight", weight(N_HEAD_KV * head_dim, n_embd))
        writer.add_tensor(prefix + "attn_output.weight", weight(n_embd, N_HEAD * head_dim))
        writer.add_tensor(prefix + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(prefix + "ffn_gate.weight", weight(n_ff, n_embd))
        writer.add_tensor(prefix + "ffn_up.weight", weight(n_ff, n_embd))
        writer.add_tensor(prefix + "ffn_down.weight", weight(n_embd, n_ff))

    if split_max_tensors:
        writer.write_header_to_file(path)
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return writer.format_shard_names(path)[0]
    tmp = path.with_name(path.name + ".part")
    writer.path = tmp  # type: ignore[assignment]
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path
