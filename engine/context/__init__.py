"""The context manager: size the window to the machine and fit every turn into it.

Modules, from the bottom up (all plain dataclasses, no Qt; usable from a script or a test). They
sit above the session and the memory estimates (`engine.memory`), which never import them:

- `fit`: the largest window that fits free RAM/VRAM per cache type, and proposals when it does not.
- `budget`: `ContextBudget`, the tokens per part of the prompt, free room and KV bytes in use.
- `turn`: the inputs and outputs of one turn (`TurnRequest`, `TurnPlan`, `ContextChange`).
- `policies`: what to do when a turn does not fit (summarize, sliding window, truncate middle, stop).
- `summary`: the running summary of older turns, written by the model and cached.
- `manager`: `ContextManager`, which turns a request into the exact messages for the model.
"""
