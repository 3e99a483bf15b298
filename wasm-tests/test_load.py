"""Load through the real Envoy (the short version of `make soak`, wasm-tests/load_harness.py):
15,000 requests of mixed agent traffic on 8 keep-alive connections into a two-worker Envoy.
Nothing is lost or doubled (one audit line per request id, the chains verify), every request gets
the decision its case should get, nothing answers 5xx, and the filter VMs' linear memory stays flat
from the first 10% of the run to the end (load_harness: one page per VM of allocator high-water
allowed)."""

from __future__ import annotations

import load_harness

REQUESTS = 15_000


def test_mixed_load_loses_nothing_and_memory_stays_flat():
    result = load_harness.run(REQUESTS, connections=8, max_seconds=300)
    f = result.figures()
    print(f)
    assert (f["requests"], f["wire_errors"]) == (REQUESTS, 0)
    assert f["audit_lines"] == REQUESTS
    assert result.missing_ids == [] and result.duplicate_ids == []
    assert result.wrong == {}
    assert f["status_5xx"] == 0
    assert set(f["statuses"]) == {200, 403}
    assert f["chains_ok"] and f["chained_lines"] == REQUESTS
    assert f["memory_at_10pct"] > 0, "the filter reports its linear memory"
    assert result.memory_flat(), result.memory
