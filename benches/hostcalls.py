"""`make bench-hostcalls`: what one proxy-wasm hostcall costs inside a real Envoy.

One one-worker Envoy per kind of hostcall, each running benches/hostcall-probe configured to make
that call 50 times per request, plus one whose probe makes none; GET requests as in `make bench`,
in rounds, A B C … as there. The cost of one call is (Envoy CPU per request of that kind minus
that of none) / 50. Writes target/bench/hostcalls.json and prints a table."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from bench import ROOT, harness  # noqa: E402
from agent_traffic import write_cases  # noqa: E402

PROBE = ROOT / "target" / "hostcall-probe" / "wasm32-wasip1" / "release" / "hostcall_probe.wasm"
KINDS = {
    "none": "nothing (the probe's own floor)",
    "header": "one request header by name",
    "header_pairs": "all request headers at once",
    "time": "current time",
    "property": "one property (source.address)",
    "metric": "increment a counter",
    "histogram": "record a histogram value",
    "set_property": "set a stream property (filter state wasm.authensor.*)",
    "shared_get": "read a 44-byte shared-data entry",
    "shared_set": "write a 44-byte shared-data entry",
    "log_info": "log a 400-byte line at info (written)",
    "log_debug": "log a 400-byte line at debug (dropped by Envoy)",
}
REPEAT = 50


def main() -> None:
    out = ROOT / "target" / "bench"
    [case] = write_cases(out / "hostcall-bodies", ["get"])
    case["headers"] |= {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    pinned = (os.cpu_count() or 1) >= 2
    bench._LOADGEN_CPUS = {1} if pinned else None
    cpu = {k: [] for k in KINDS}
    with contextlib.ExitStack() as stack:
        upstream = bench.Upstream(bench._LOADGEN_CPUS)
        stack.callback(upstream.stop)
        envoys = {}
        for kind in KINDS:
            envoy = harness.Envoy(harness.bootstrap([harness.wasm_filter(f"{kind} {REPEAT}", wasm=PROBE, name="probe")], upstream.port), concurrency=1)
            stack.callback(shutil.rmtree, envoy.dir, True)
            envoys[kind] = stack.enter_context(envoy)
            bench.pin(envoy.proc.pid, {0} if pinned else None)
        for kind, envoy in envoys.items():
            bench.wrk(envoy, case, 1, bench.CONNECTIONS)
        for _ in range(5):
            for kind, envoy in envoys.items():
                cpu[kind].append(bench.wrk(envoy, case, 2, bench.CONNECTIONS)["cpu_us_per_req"])
    floor = statistics.median(cpu["none"])
    rows = [{"kind": k, "what": KINDS[k], "cpu_us_per_req": round(statistics.median(v), 1),
             "us_per_call": round((statistics.median(v) - floor) / REPEAT, 2)} for k, v in cpu.items()]
    (out / "hostcalls.json").write_text(json.dumps({"repeat": REPEAT, "rows": rows, "runs": cpu}, indent=1))
    print(f"| hostcall | Envoy CPU per request ({REPEAT} calls) | per call |")
    print("|---|---:|---:|")
    for r in rows:
        print(f"| {r['what']} | {r['cpu_us_per_req']} us | {r['us_per_call'] if r['kind'] != 'none' else '-'} us |")


if __name__ == "__main__":
    main()
