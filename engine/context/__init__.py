"""The context manager: size the window to the machine and fit every turn into it.

Modules, from the bottom up (all plain dataclasses, no Qt; usable from a script or a test):

- `weights`: the GGUF tensor table, grouped by layer, so weights can be split between CPU and GPU.
- `estimate`: memory needed per part (weights on CPU/GPU, KV cache, compute buffers) before loading.
- `allocation`: what llama.cpp actually allocated, read from its log while a model loads.
- `fit`: the largest window that fits free RAM/VRAM per cache type, and proposals when it does not.
- `budget`: `ContextBudget`, the tokens per part of the prompt, free room and KV bytes in use.
- `turn`: the inputs and outputs of one turn (`TurnRequest`, `TurnPlan`, `ContextChange`).
- `policies`: what to do when a turn does not fit (summarize, sliding window, truncate middle, stop).
- `summary`: the running summary of older turns, written by the model and cached.
- `manager`: `ContextManager`, which turns a request into the exact messages for the model.
"""
