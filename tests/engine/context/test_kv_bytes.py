"""The context gauge's KV bytes follow how the cache was really built: a compact sliding-window
cache (`swa_full=False`) holds only the window on those layers."""

from __future__ import annotations

import pytest

from engine.context.manager import ContextManager
from engine.context.turn import TurnRequest
from engine.memory.estimate import kv_cache_bytes, swa_cells
from engine.session import LoadSettings, ModelSession, SamplingSettings

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("swa_full", [True, False])
def test_kv_bytes_in_use_follow_the_loaded_cache(gemma_model_path, swa_full):
    session = ModelSession()
    report = session.load(
        LoadSettings(model_path=str(gemma_model_path), n_ctx=2048, n_batch=256, swa_full=swa_full)
    )
    try:
        assert report.swa_full is swa_full
        manager = ContextManager(session)
        plan = manager.plan(TurnRequest("Be brief.", "word " * 900), 2)
        for _item in manager.chat(plan, SamplingSettings(temperature=0, max_tokens=2)):
            pass
        budget = manager.budget  # as the context gauge reads it after the reply
        info = report.model
        assert info.sliding_window and budget.kv_tokens > info.sliding_window + report.n_batch
        window = None if swa_full else swa_cells(info, report.n_ctx, report.n_batch, False)
        assert budget.kv_bytes_in_use == kv_cache_bytes(
            info, budget.kv_tokens, "f16", "f16", window
        )
        full = kv_cache_bytes(info, budget.kv_tokens)
        assert (budget.kv_bytes_in_use < full) is not swa_full
    finally:
        session.unload()
