"""`make bench` / `make bench-quick`: the filter measured against Envoy without it.

Three arms, each its own Envoy with one worker (`--concurrency 1`), otherwise identical, in front
of the same upstream (benches/bench-tools, its own process):
  with    (A) the filter with the shipped default configuration (filter-config/config.json)
  noop    (B) benches/noop-filter: holds the request, reads the whole body once, continues
  without (C) no wasm filter
Traffic (`--traffic`): `conversation` (default) sends what an agent sends, its conversation again
with one new text per request (benches/agent_traffic.py: the newest tool result, or the MCP call's
content, starts with a token unique to the request), to the shipped configuration as it is, its
memory of clean strings on; `every-text-new` sends the same and turns arm A's memory off
(`aegis.memo_entries` 0), so every text of every request is scanned as if new: the worst case.
For every case the arms are driven in turn, A B C A B C ..., for N rounds, so machine noise hits
all alike; each figure is the median over rounds. Throughput runs (wrk): requests per second and
the Envoy process's CPU time (user+sys) divided by requests. Latency runs (bench-tools' lat-probe):
one request to each arm in turn, A B C A B C ..., at a low fixed pace, so each arm's samples are
taken side by side with the others'.

Also: the native micro-benchmarks (every `benches/*.rs`, their `RESULT name=value` lines), the
filter's own time per request and its linear memory in V8 (benches/wasm-host.mjs), the .wasm
size and Envoy's RSS per arm. Writes target/bench/report.json and prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "wasm-tests"))
sys.path.insert(0, str(ROOT / "benches"))

import harness  # noqa: E402
from agent_traffic import MCP_SERVER, write_cases  # noqa: E402

NOOP_WASM = ROOT / "target" / "noop-filter" / "wasm32-wasip1" / "release" / "noop_filter.wasm"
TOOLS = ROOT / "target" / "bench-tools" / "release"
WRK_LUA = ROOT / "benches" / "wrk.lua"
WASM_HOST = ROOT / "benches" / "wasm-host.mjs"
DEFAULT_CONFIG = ROOT / "filter-config" / "config.json"
ARMS = ("with", "noop", "without")
RESULT_LINE = re.compile(r"^RESULT ([A-Za-z0-9_.-]+)=(-?[0-9][0-9.eE+-]*)\s*$")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# rounds (of throughput runs and of SSE runs), seconds per throughput run, warm-up seconds per arm
# and case, latency rounds (one request per arm each), SSE chunks and the gap between them, SSE
# streams per run, cases (None = all)
MODES = {
    "full": dict(rounds=5, seconds=3, warmup=1, lat_rounds=2000, sse_chunks=1000, sse_gap_us=1000, sse_streams=2, cases=None),
    "quick": dict(rounds=2, seconds=1, warmup=0, lat_rounds=300, sse_chunks=1000, sse_gap_us=250, sse_streams=1, cases=None),
    "tiny": dict(rounds=1, seconds=1, warmup=0, lat_rounds=30, sse_chunks=50, sse_gap_us=200, sse_streams=1, cases=["get", "chat_4k"]),
}
CONNECTIONS = 16  # per throughput run
LATENCY_GAP_US = 1000  # pause after each latency round (A, B, C once each)
LATENCY_ROUNDS_DIVISOR = {"chat_64k": 2, "chat_512k": 8}  # big bodies: fewer latency rounds


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User+system CPU time of the whole process (all threads), in seconds: the sum of every
    thread's run time in /proc/<pid>/task/*/schedstat (nanoseconds), or where that is missing
    utime+stime from /proc/<pid>/stat (clock ticks, 10 ms: too coarse for the SSE runs)."""
    try:
        return sum(int((t / "schedstat").read_text().split()[0]) for t in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def pin(pid: int, cpus: set[int] | None) -> None:
    """Pin every thread of a process to `cpus` and give it the benchmark's priority (affinity and
    niceness are per thread on Linux)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            if cpus:
                os.sched_setaffinity(int(task.name), cpus)
            if NICE:
                os.setpriority(os.PRIO_PROCESS, int(task.name), NICE)


# Niceness of every process the benchmark runs (Envoy, upstream, load): ahead of other work on a
# shared machine when we may (root), so that others' builds disturb the figures less. 0 = as is.
NICE = -10 if os.geteuid() == 0 else 0


class Upstream:
    """benches/bench-tools' upstream in its own process."""

    def __init__(self, cpus: set[int] | None):
        self.proc = subprocess.Popen(
            [str(TOOLS / "bench-upstream"), "0"], stdout=subprocess.PIPE, text=True,
            preexec_fn=lambda: _own_process(cpus),
        )
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise RuntimeError(f"bench-upstream did not start: {line}")
        self.port = int(line[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_arms(stack: contextlib.ExitStack, upstream_port: int, config_text: str) -> dict[str, harness.Envoy]:
    filters = {
        "with": [harness.wasm_filter(config_text)],
        "noop": [harness.wasm_filter("", wasm=NOOP_WASM, name="noop")],
        "without": [],
    }
    envoys = {}
    for arm in ARMS:
        envoy = harness.Envoy(harness.bootstrap(filters[arm], upstream_port), concurrency=1)
        stack.callback(shutil.rmtree, envoy.dir, True)
        envoys[arm] = stack.enter_context(envoy)
    return envoys


# --- arm A's configuration ---------------------------------------------------------------------

# Per-principal and per-session limits count every request; at thousands of requests per second any
# realistic limit trips within a second and the rest of the run would measure the 429 path. They are
# raised out of reach instead of removed, so that the limiter's own work is still measured.
UNREACHABLE = 10**12
LIMIT_KEYS = {"rateLimit": "requests", "sessionRules": "maxActionsPerSession"}


def out_of_reach(config_text: str) -> tuple[str, list[str]]:
    """The configuration with every request-counting limit raised out of reach, and what changed."""
    if not config_text.strip():
        return config_text, []
    config, changes = json.loads(config_text), []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                at = f"{path}.{key}" if path else key
                limit = LIMIT_KEYS.get(key)
                if limit and isinstance(value, dict) and isinstance(value.get(limit), int):
                    changes.append(f"{at}.{limit}: {value[limit]} -> {UNREACHABLE}")
                    value[limit] = UNREACHABLE
                walk(value, at)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(config, "")
    return json.dumps(config), changes


def with_mcp_server(config_text: str) -> tuple[str, list[str]]:
    """The configuration with the MCP case's server known to the MCP gateway. Servers belong to a
    deployment, so the shipped configuration lists none; without one the MCP case would be plain
    HTTP egress to an unknown host, denied, and the MCP path would go unmeasured."""
    config = json.loads(config_text) if config_text.strip() else {}
    servers = config.setdefault("mcp", {}).setdefault("servers", [])
    if any(s.get("authority") == MCP_SERVER for s in servers):
        return config_text, []
    servers.append({"authority": MCP_SERVER, "name": MCP_SERVER})
    return json.dumps(config), [f"mcp.servers: + {MCP_SERVER} (the MCP case's server)"]


TRAFFIC = ("conversation", "every-text-new")


def every_text_new(config_text: str) -> tuple[str, list[str]]:
    """The configuration with the memory of clean strings off: every text of every request is
    scanned as if new, whatever was sent before."""
    config = json.loads(config_text) if config_text.strip() else {}
    aegis = config.setdefault("aegis", {})
    change = f"aegis.memo_entries: {aegis.get('memo_entries', 'default')} -> 0"
    aegis["memo_entries"] = 0
    return json.dumps(config), [change]


# Every load-generator run gets its own salt, so that no two requests of a benchmark carry the
# same newest text (wrk.lua, lat-probe).
SALTS = itertools.count(1)


# --- load ------------------------------------------------------------------------------------

def fresh_args(case: dict) -> list[str]:
    """Where the load generator writes each request's newest text, and this run's salt."""
    at = case["fresh_at"]
    return ["-" if at is None else str(at), str(next(SALTS))]


def wrk(envoy: harness.Envoy, case: dict, seconds: int, connections: int) -> dict:
    """One wrk run against an arm; wrk's summary plus the Envoy process's CPU per request."""
    cmd = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(WRK_LUA),
        envoy.url("/"), "--", case["method"], case["path"], case["host"], case["body_file"] or "-",
        *fresh_args(case), *[f"{k}={v}" for k, v in case["headers"].items()],
    ]
    cpu0 = cpu_seconds(envoy.proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=_loadgen_affinity)
    cpu1 = cpu_seconds(envoy.proc.pid)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    s = json.loads(line.removeprefix("BENCH_JSON "))
    n = max(1, s["requests"])
    return {
        "requests": s["requests"],
        "rps": s["requests"] / (s["duration_us"] / 1e6),
        "cpu_us_per_req": (cpu1 - cpu0) * 1e6 / n,
        "p50_us": s["latency_us"]["p50"],
        "p99_us": s["latency_us"]["p99"],
        "non_2xx": s["errors"]["status"],
        "socket_errors": s["errors"]["connect"] + s["errors"]["read"] + s["errors"]["write"] + s["errors"]["timeout"],
    }


def latency(envoys: dict[str, harness.Envoy], case: dict, rounds: int) -> dict:
    """Paired latency: lat-probe sends the case to every arm in turn, `rounds` times, paced."""
    cmd = [str(TOOLS / "lat-probe"), str(rounds), str(LATENCY_GAP_US), case["method"], case["path"], case["host"],
           case["body_file"] or "-", *fresh_args(case), *[f"127.0.0.1:{envoys[a].port}" for a in ARMS],
           "--", *[f"{k}={v}" for k, v in case["headers"].items()]]
    cpu0 = {a: cpu_seconds(envoys[a].proc.pid) for a in ARMS}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, preexec_fn=_loadgen_affinity)
    if out.returncode != 0:
        raise RuntimeError(f"lat-probe failed: {out.stderr}")
    arms = dict(zip(ARMS, json.loads(out.stdout)["arms"]))
    for a in ARMS:
        arms[a]["cpu_us_per_req"] = (cpu_seconds(envoys[a].proc.pid) - cpu0[a]) * 1e6 / max(1, rounds)
    return arms


def sse_probe(envoy: harness.Envoy, path: str, streams: int) -> tuple[dict, float]:
    cpu0 = cpu_seconds(envoy.proc.pid)
    out = subprocess.run([str(TOOLS / "sse-probe"), f"127.0.0.1:{envoy.port}", path, str(streams)],
                         capture_output=True, text=True, timeout=120, preexec_fn=_loadgen_affinity)
    cpu = cpu_seconds(envoy.proc.pid) - cpu0
    if out.returncode != 0:
        raise RuntimeError(f"sse-probe failed: {out.stderr}")
    return json.loads(out.stdout), cpu


def sse(envoy: harness.Envoy, chunks: int, gap_us: int, streams: int) -> dict:
    """The SSE probes through an arm: per-chunk transit and Envoy CPU per chunk on `streams`
    streams of `chunks` events; time to first chunk as the median of 30 short streams."""
    s, cpu = sse_probe(envoy, f"/sse?n={chunks}&gap_us={gap_us}", streams)
    first, _ = sse_probe(envoy, "/sse?n=2&gap_us=0", 30)
    return {**s, "ttfb_us": first["ttfb_us"], "cpu_us_per_chunk": cpu * 1e6 / max(1, s["events"])}


_LOADGEN_CPUS: set[int] | None = None


def _own_process(cpus: set[int] | None) -> None:
    """In a child before exec: its CPUs and niceness."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    if NICE:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)


def _loadgen_affinity() -> None:
    _own_process(_LOADGEN_CPUS)


# --- micro-benchmarks and the wasm host ------------------------------------------------------

def parse_results(text: str) -> dict[str, float]:
    """`RESULT name=value` lines (the convention every bench binary follows) as a dict."""
    out = {}
    for line in text.splitlines():
        m = RESULT_LINE.match(line.strip())
        if m:
            value = float(m.group(2))
            out[m.group(1)] = int(value) if value.is_integer() else value
    return out


def native_benches(smoke: bool, env: dict) -> tuple[dict, list[str]]:
    """Run every bench target in benches/*.rs and collect its RESULT lines."""
    results, notes = {}, []
    for src in sorted((ROOT / "benches").glob("*.rs")):
        cmd = ["cargo", "test" if smoke else "bench", "--bench", src.stem]
        log(f"micro-benchmark: {' '.join(cmd)}")
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
        if out.returncode != 0:
            notes.append(f"{' '.join(cmd)} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        results |= parse_results(out.stdout)
    return results, notes


def wasm_host(wasm: Path, config: Path | None, cases_json: Path, iterations: int) -> dict:
    out = subprocess.run(["node", "--no-warnings", str(WASM_HOST), str(wasm), str(config) if config else "-",
                          str(cases_json), str(iterations)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"wasm-host failed on {wasm.name}: {out.stderr}")
    return parse_results(out.stdout)


# --- the run ---------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def diff(a, b, digits=1):
    return round(a - b, digits) if a is not None and b is not None else None


def envoy_version() -> str:
    out = subprocess.run([str(harness.ENVOY_BIN), "--version"], capture_output=True, text=True).stdout
    m = re.search(r"/(\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else out.strip()


def machine() -> dict:
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "loadavg_start": round(os.getloadavg()[0], 2)}


def check_arms(envoys: dict[str, harness.Envoy]) -> None:
    """Each arm answers, and arm A really runs the filter (its audit line appears)."""
    for arm, envoy in envoys.items():
        req = urllib.request.Request(envoy.url("/v1/models"), headers={"host": "api.openai.com"})
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"arm {arm} answered {r.status}")
        vms = re.search(r"^wasm\.envoy\.wasm\.runtime\.v8\.active: (\d+)", envoy.admin_get("/stats"), re.M)
        has_vm = bool(vms and int(vms.group(1)) > 0)
        if has_vm != (arm != "without"):
            raise RuntimeError(f"arm {arm}: wasm VMs active = {vms and vms.group(1)}")
    if not envoys["with"].wait_for_audit(1):
        raise RuntimeError("arm with: no audit line: is the filter in the path?")


def filter_memory_gauge(envoy: harness.Envoy) -> int | None:
    """A linear-memory gauge the filter may publish (`wasmcustom.authensor.*memory*`), if any."""
    m = re.search(r"^wasmcustom\.authensor\.\S*memory\S*: (\d+)", envoy.admin_get("/stats"), re.M)
    return int(m.group(1)) if m else None


def run(mode: str, out_dir: Path, config: Path, traffic: str, pin_cpus: bool, micro: bool, as_is: bool) -> dict:
    global _LOADGEN_CPUS
    p = MODES[mode]
    started = time.time()
    host = machine()
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = write_cases(out_dir / "bodies", p["cases"])
    cases_json = out_dir / "bodies" / "cases.json"
    config_text, config_changes = (config.read_text(), []) if as_is else out_of_reach(config.read_text())
    if not as_is:
        config_text, served = with_mcp_server(config_text)
        config_changes += served
    # The wasm host sends one body again and again: with the memory on it would measure only the
    # first request's scan, so it always runs with every text new.
    cold_text, cold_changes = every_text_new(config_text)
    if traffic == "every-text-new":
        config_text, config_changes = cold_text, config_changes + cold_changes
    bench_config = out_dir / "config.json"
    bench_config.write_text(config_text)
    cold_config = out_dir / "config-every-text-new.json"
    cold_config.write_text(cold_text)
    warnings: list[str] = []
    envoy_cpus = {0} if pin_cpus else None
    _LOADGEN_CPUS = {1} if pin_cpus else None

    micro_results: dict = {}
    if micro:
        env = {**os.environ, "BENCH_CASES": str(cases_json), "BENCH_CONFIG": str(bench_config)}
        micro_results, notes = native_benches(mode == "tiny", env)
        warnings += notes
    log("wasm host (node): filter and no-op module, each case")
    iterations = 20 if mode == "tiny" else 300
    wasm_with = wasm_host(harness.WASM, cold_config, cases_json, iterations)
    wasm_noop = wasm_host(NOOP_WASM, None, cases_json, iterations)

    runs: dict = {c["name"]: {"tput": {a: [] for a in ARMS}, "lat": {}} for c in cases}
    sse_runs: dict = {a: [] for a in ARMS}
    with contextlib.ExitStack() as stack:
        upstream = Upstream(_LOADGEN_CPUS)
        stack.callback(upstream.stop)
        envoys = start_arms(stack, upstream.port, config_text)
        for envoy in envoys.values():
            pin(envoy.proc.pid, envoy_cpus)
        check_arms(envoys)
        rss_idle = {a: rss_bytes(e.proc.pid) for a, e in envoys.items()}
        for c in cases:
            log(f"case {c['name']} ({c['body_bytes']} bytes): {p['rounds']} rounds x {'/'.join(ARMS)}")
            if p["warmup"]:
                for arm in ARMS:
                    wrk(envoys[arm], c, p["warmup"], CONNECTIONS)
            for _ in range(p["rounds"]):
                for arm in ARMS:
                    runs[c["name"]]["tput"][arm].append(wrk(envoys[arm], c, p["seconds"], CONNECTIONS))
            lat_rounds = max(10, p["lat_rounds"] // LATENCY_ROUNDS_DIVISOR.get(c["name"], 1))
            runs[c["name"]]["lat"] = latency(envoys, c, lat_rounds)
        log(f"case sse: {p['sse_chunks']} chunks, {p['rounds']} rounds")
        for _ in range(p["rounds"]):
            for arm in ARMS:
                sse_runs[arm].append(sse(envoys[arm], p["sse_chunks"], p["sse_gap_us"], p["sse_streams"]))
        rss = {a: rss_bytes(e.proc.pid) for a, e in envoys.items()}
        gauge = filter_memory_gauge(envoys["with"])

    report_cases = []
    for c in cases:
        r = runs[c["name"]]
        tput = {a: {k: median([x[k] for x in r["tput"][a]]) for k in ("rps", "cpu_us_per_req")} for a in ARMS}
        lat = r["lat"]
        for a in ARMS:
            bad = lat[a]["non_2xx"] + sum(x["non_2xx"] + x["socket_errors"] for x in r["tput"][a])
            if bad:
                warnings.append(f"{c['name']}/{a}: {bad} non-2xx answers or socket errors (a denied request is not the path being measured)")
        report_cases.append({
            "name": c["name"],
            "body_bytes": c["body_bytes"],
            "fresh_bytes": c["fresh_bytes"],
            **{f"rps_{a}": round(tput[a]["rps"], 1) for a in ARMS},
            "ratio": ratio(tput["with"]["rps"], tput["without"]["rps"]),
            "ratio_vs_noop": ratio(tput["with"]["rps"], tput["noop"]["rps"]),
            # What the ratios would be if Envoy's CPU were the only limit: steadier on a busy machine.
            "ratio_cpu": ratio(tput["without"]["cpu_us_per_req"], tput["with"]["cpu_us_per_req"]),
            "ratio_vs_noop_cpu": ratio(tput["noop"]["cpu_us_per_req"], tput["with"]["cpu_us_per_req"]),
            **{f"cpu_us_per_req_{a}": round(tput[a]["cpu_us_per_req"], 2) for a in ARMS},
            "cpu_us_added_vs_noop": diff(tput["with"]["cpu_us_per_req"], tput["noop"]["cpu_us_per_req"], 2),
            "p50_added_us": diff(lat["with"]["p50_us"], lat["without"]["p50_us"]),
            "p99_added_us": diff(lat["with"]["p99_us"], lat["without"]["p99_us"]),
            "p50_added_vs_noop_us": diff(lat["with"]["p50_us"], lat["noop"]["p50_us"]),
            "p99_added_vs_noop_us": diff(lat["with"]["p99_us"], lat["noop"]["p99_us"]),
            **{f"p50_us_{a}": lat[a]["p50_us"] for a in ARMS},
            **{f"p99_us_{a}": lat[a]["p99_us"] for a in ARMS},
            "wasm_us_with": wasm_with.get(f"wasm_us_{c['name']}"),
            "wasm_us_noop": wasm_noop.get(f"wasm_us_{c['name']}"),
            "native_ns": micro_results.get(f"native_ns_{c['name']}"),
            "native_ns_conversation": micro_results.get(f"native_ns_{c['name']}_conversation"),
            "native_ns_resent": micro_results.get(f"native_ns_{c['name']}_resent"),
            "runs": r,
        })
        if wasm_with.get(f"wasm_denied_{c['name']}"):
            warnings.append(f"{c['name']}: the filter denied it in the wasm host")
    s = {a: {k: median([x[k] for x in sse_runs[a]]) for k in ("ttfb_us", "transit_p50_us", "transit_p99_us", "cpu_us_per_chunk")} for a in ARMS}
    report_cases.append({
        "name": f"sse_{p['sse_chunks']}_chunks",
        "body_bytes": 0,
        **{f"rps_{a}": None for a in ARMS},
        "ratio": None,
        "ratio_vs_noop": None,
        **{f"cpu_us_per_req_{a}": None for a in ARMS},
        **{f"cpu_us_per_chunk_{a}": round(s[a]["cpu_us_per_chunk"], 2) for a in ARMS},
        "ttfb_added_us": diff(s["with"]["ttfb_us"], s["without"]["ttfb_us"]),
        "chunk_added_us": diff(s["with"]["transit_p50_us"], s["without"]["transit_p50_us"]),
        "p50_added_us": diff(s["with"]["transit_p50_us"], s["without"]["transit_p50_us"]),
        "p99_added_us": diff(s["with"]["transit_p99_us"], s["without"]["transit_p99_us"]),
        **{f"ttfb_us_{a}": s[a]["ttfb_us"] for a in ARMS},
        "runs": sse_runs,
    })

    report = {
        "mode": mode,
        "traffic": traffic,
        "envoy_version": envoy_version(),
        "wasm_bytes": harness.WASM.stat().st_size,
        "noop_wasm_bytes": NOOP_WASM.stat().st_size,
        "config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config),
        "config_changes": config_changes,
        "cases": report_cases,
        "policy_eval_ns": micro_results.get("policy_eval_ns"),
        "scan_mb_per_s_native": micro_results.get("scan_mb_per_s_native"),
        "scan_mb_per_s_wasm": micro_results.get("scan_mb_per_s_wasm") or wasm_with.get("scan_mb_per_s_wasm"),
        "vm_memory_bytes": gauge if gauge is not None else wasm_with.get("vm_memory_bytes"),
        "vm_memory_source": "filter gauge in Envoy" if gauge is not None else "wasm host (node), after every case",
        "vm_memory_bytes_idle": wasm_with.get("vm_memory_bytes_idle"),
        "envoy_rss_bytes": rss,
        "envoy_rss_idle_bytes": rss_idle,
        "rss_added_bytes": rss["with"] - rss["without"],
        "micro": micro_results,
        "wasm_host": {"with": wasm_with, "noop": wasm_noop, "traffic": "every-text-new"},
        "settings": {**p, "connections": CONNECTIONS, "latency_gap_us": LATENCY_GAP_US,
                     "latency_rounds_divisor": LATENCY_ROUNDS_DIVISOR, "pinned": pin_cpus, "nice": NICE},
        "machine": {**host, "loadavg_end": round(os.getloadavg()[0], 2)},
        "seconds": round(time.time() - started, 1),
        "warnings": warnings,
    }
    report["targets"] = targets(report)
    return report


def targets(report: dict) -> list[dict]:
    """Issue 10's targets and where this run stands."""
    by = {c["name"]: c for c in report["cases"]}
    c4, c64 = by.get("chat_4k", {}), by.get("chat_64k", {})
    rows = [
        ("throughput with/noop at 4 KiB", ">= 0.95", c4.get("ratio_vs_noop"), lambda v: v >= 0.95),
        ("throughput with/noop at 64 KiB", ">= 0.85", c64.get("ratio_vs_noop"), lambda v: v >= 0.85),
        ("added CPU over noop per 4 KiB request (us)", "<= 20", c4.get("cpu_us_added_vs_noop"), lambda v: v <= 20),
        ("added latency p50 at 4 KiB (us)", "<= 30", c4.get("p50_added_us"), lambda v: v <= 30),
        ("added latency p99 at 4 KiB (us)", "<= 150", c4.get("p99_added_us"), lambda v: v <= 150),
        ("VM linear memory (bytes)", "<= 8 MiB", report["vm_memory_bytes"], lambda v: v <= 8 << 20),
        (".wasm size (bytes)", "<= 2 MiB", report["wasm_bytes"], lambda v: v <= 2 << 20),
        ("policy evaluation (ns)", "< 2000", report["policy_eval_ns"], lambda v: v < 2000),
        ("scan throughput native (MB/s)", ">= 500", report["scan_mb_per_s_native"], lambda v: v >= 500),
        ("scan throughput wasm (MB/s)", ">= 150", report["scan_mb_per_s_wasm"], lambda v: v >= 150),
    ]
    return [{"target": n, "goal": g, "value": v, "met": None if v is None else bool(ok(v))} for n, g, v, ok in rows]


# --- output ----------------------------------------------------------------------------------

def fmt(v, digits=0) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v)


def table(report: dict) -> str:
    head = ["case", "body", "new", "rps A", "rps B", "rps C", "A/C", "A/B", "cpu/req A", "B", "C", "A-B", "cpu A/B", "p50+", "p99+"]
    rows = []
    for c in report["cases"]:
        if c["rps_with"] is None:
            continue
        rows.append([c["name"], fmt(c["body_bytes"]), fmt(c["fresh_bytes"]), fmt(c["rps_with"]), fmt(c["rps_noop"]), fmt(c["rps_without"]),
                     fmt(c["ratio"], 2), fmt(c["ratio_vs_noop"], 2), fmt(c["cpu_us_per_req_with"], 1),
                     fmt(c["cpu_us_per_req_noop"], 1), fmt(c["cpu_us_per_req_without"], 1),
                     fmt(c["cpu_us_added_vs_noop"], 1), fmt(c["ratio_vs_noop_cpu"], 2), fmt(c["p50_added_us"]), fmt(c["p99_added_us"])])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "| " + " | ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths))) + " |"
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    for c in report["cases"]:
        if c["rps_with"] is None:
            out.append(
                f"\n{c['name']}: time to first chunk +{fmt(c['ttfb_added_us'])} us, per chunk p50 +{fmt(c['p50_added_us'])} us, "
                f"p99 +{fmt(c['p99_added_us'])} us; Envoy CPU per chunk A {fmt(c['cpu_us_per_chunk_with'], 1)} / "
                f"B {fmt(c['cpu_us_per_chunk_noop'], 1)} / C {fmt(c['cpu_us_per_chunk_without'], 1)} us")
    rss = report["envoy_rss_bytes"]
    out.append(
        f"\nwasm {report['wasm_bytes']:,} bytes (noop {report['noop_wasm_bytes']:,}); VM linear memory "
        f"{fmt(report['vm_memory_bytes'])} bytes ({report['vm_memory_source']}); Envoy RSS A {rss['with'] >> 20} MiB, "
        f"B {rss['noop'] >> 20} MiB, C {rss['without'] >> 20} MiB")
    out.append(f"policy_eval_ns {fmt(report['policy_eval_ns'])}; scan MB/s native {fmt(report['scan_mb_per_s_native'])}, "
               f"wasm {fmt(report['scan_mb_per_s_wasm'])}")
    wasm = [f"{c['name']} {fmt(c['wasm_us_with'], 1)}/{fmt(c['wasm_us_noop'], 1)}" for c in report["cases"] if c.get("wasm_us_with") is not None]
    out.append("filter/noop time per request in V8, every text new (us): " + ", ".join(wasm))
    us = lambda ns: fmt(ns / 1000 if ns else None, 1)
    nat = [f"{c['name']} {'/'.join(us(c.get(k)) for k in ('native_ns', 'native_ns_conversation', 'native_ns_resent') if c.get(k))}"
           for c in report["cases"] if c.get("native_ns")]
    out.append("core per request natively, every text new/conversation/resent (us): " + ", ".join(nat))
    out.append(f"arm A: {report['config']}, " + ", ".join(report["config_changes"] or ["as is"]))
    out.append({
        "conversation": "traffic: conversation (each request resends its body with the newest text, column `new`, never "
                        "seen before; arm A's memory of clean strings on, as shipped)",
        "every-text-new": "traffic: every-text-new (arm A's memory of clean strings off: every text of every request "
                          "scanned as new)",
    }[report["traffic"]])
    m = report["machine"]
    out.append(f"machine: {m['nproc']} x {m['cpu_model']}, load average {m['loadavg_start']} at start, {m['loadavg_end']} at end")
    out.append("\ntargets:")
    for t in report["targets"]:
        mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        out.append(f"  {mark:6} {t['target']}: {fmt(t['value'], 2)} (goal {t['goal']})")
    for w in report["warnings"]:
        out.append(f"WARNING: {w}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=MODES, default="full")
    ap.add_argument("--out", type=Path, default=ROOT / "target" / "bench")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="arm A's filter configuration")
    ap.add_argument("--config-as-is", action="store_true", help="do not raise rate and session limits out of reach")
    ap.add_argument("--traffic", choices=TRAFFIC, default=os.environ.get("BENCH_TRAFFIC", "conversation"),
                    help="conversation (default, or $BENCH_TRAFFIC): one new text per request, arm A as shipped; "
                         "every-text-new: arm A's memory of clean strings off")
    ap.add_argument("--no-pin", action="store_true", help="do not pin Envoy to CPU 0 and the load to CPU 1")
    ap.add_argument("--no-micro", action="store_true", help="skip the native micro-benchmarks")
    ap.add_argument("--no-renice", action="store_true", help="run at normal priority (default as root: nice -10)")
    args = ap.parse_args()
    global NICE
    if args.no_renice:
        NICE = 0
    for tool in ("wrk", "node", str(TOOLS / "bench-upstream"), str(NOOP_WASM), str(harness.WASM)):
        if not (shutil.which(tool) or Path(tool).exists()):
            sys.exit(f"missing {tool}: run `make bench` (it builds and installs what the benchmark needs)")
    report = run(args.mode, args.out, args.config.resolve(), args.traffic, not args.no_pin and (os.cpu_count() or 1) >= 2,
                 not args.no_micro, args.config_as_is)
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(table(report))
    print(f"\nreport: {args.out / 'report.json'} ({report['seconds']} s, mode {args.mode}, traffic {args.traffic})")


if __name__ == "__main__":
    main()
