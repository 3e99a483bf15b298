"""The benchmark does not rot: `benches/bench.py` runs end to end in its tiny mode (three Envoys,
wrk, the SSE probe, the wasm host, the native micro-benchmark in test mode) and writes a report of
the documented shape. No timing is asserted here: speed is judged from `make bench`."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import harness

CASE_FIELDS = {
    "name", "body_bytes", "rps_with", "rps_noop", "rps_without", "ratio", "ratio_vs_noop",
    "cpu_us_per_req_with", "cpu_us_per_req_noop", "cpu_us_per_req_without", "p50_added_us", "p99_added_us",
}
TOP_FIELDS = {"envoy_version", "wasm_bytes", "cases", "policy_eval_ns", "scan_mb_per_s_native",
              "scan_mb_per_s_wasm", "vm_memory_bytes"}


def test_bench_driver_writes_a_report_of_the_documented_shape(tmp_path):
    subprocess.run(["make", "-s", "bench-deps"], cwd=harness.ROOT, check=True, timeout=900)
    run = subprocess.run(
        [sys.executable, "benches/bench.py", "--mode", "tiny", "--out", str(tmp_path)],
        cwd=harness.ROOT, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())

    assert TOP_FIELDS <= report.keys()
    assert re.fullmatch(r"\d+\.\d+\.\d+", report["envoy_version"])
    assert report["wasm_bytes"] == harness.WASM.stat().st_size
    assert report["vm_memory_bytes"] > 0
    by_name = {c["name"]: c for c in report["cases"]}
    assert {"get", "chat_4k", "sse_50_chunks"} <= by_name.keys()
    for case in report["cases"]:
        assert CASE_FIELDS <= case.keys(), case["name"]
    for name in ("get", "chat_4k"):
        case = by_name[name]
        # Load really went through every arm, and the proxy's CPU was measured.
        assert all(case[f"rps_{arm}"] > 0 and case[f"cpu_us_per_req_{arm}"] > 0 for arm in ("with", "noop", "without"))
        assert isinstance(case["p50_added_us"], (int, float))
    assert by_name["chat_4k"]["body_bytes"] == 4096
    assert by_name["sse_50_chunks"]["ttfb_added_us"] is not None
    # The native micro-benchmark ran and reported through the RESULT convention.
    assert "native_ns_get" in report["micro"]
    # Arm A runs the shipped default configuration and lets a plain read through: the benchmark
    # measures the allow path, not 4xx answers (its rate limits are raised out of reach). Denials
    # of the other cases are reported as warnings in the report and its table.
    assert not [w for w in report["warnings"] if w.startswith("get/")], report["warnings"]
    assert "| get" in run.stdout and "targets:" in run.stdout
