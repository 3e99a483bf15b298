"""Mixed agent traffic through the real Envoy, bounded in count and time, for the load test,
the reload test and `make soak` (`python wasm-tests/load_harness.py --requests 100000`).

The traffic cycles through `CASES` (plain HTTP allowed, denied and held for approval, MCP
`tools/call` allowed and denied, LLM chat requests clean and carrying a credential) under the
shipped default configuration (rate limits out of reach, two MCP servers added). benches/bench-tools' `load-gen`
sends it over keep-alive connections, each request with its own `x-request-id` (Envoy is told to
keep it), and benches/bench-tools' `bench-upstream` answers. `check` holds the run to what a user
relies on: every request answered, exactly one audit line per request id, the decision each case
should get, no 5xx, and the filter VMs' linear memory (the `authensor_vm_memory_bytes` gauge, the
sum over Envoy's worker VMs) flat from the first 10% of requests to the end.

"Flat" allows each VM one 64 KiB wasm page of late growth: the allocator's high-water mark rises
once when several large bodies happen to be in flight on one worker at the same moment, which may
first happen late in a run. A leak of even one byte per request grows by more than that over a
100,000-request soak, and keeps growing; a high-water mark does not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT / "benches"))
from agent_traffic import MCP_HEADERS, chat_request, mcp_tools_call  # noqa: E402
from bench import out_of_reach  # noqa: E402

TOOLS = harness.ROOT / "target" / "bench-tools" / "release"
CLI = harness.ROOT / "target" / "release" / "authensor"
DEFAULT_CONFIG = harness.ROOT / "filter-config" / "config.json"
MEMORY_STAT = "authensor_vm_memory_bytes"
ID_PREFIX = "load"
WASM_PAGE = 65_536


@dataclass
class Case:
    name: str
    method: str
    path: str
    host: str
    decision: str
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def _chat_with_credential() -> bytes:
    # A key of the AWS access-key shape, built here (not a real key).
    key = "AKIA" + "Q7X2M4P9R1T6W3Z8"
    doc = json.loads(chat_request(4096))
    doc["messages"].append({"role": "user", "content": f"Deploy with access key {key} please."})
    return json.dumps(doc).encode()


def _mcp_call(tool: str, arguments: dict) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}).encode()


JSON = {"content-type": "application/json"}
MCP = JSON | MCP_HEADERS


def cases() -> list[Case]:
    """One cycle of the mixed traffic, each with the decision the default configuration gives."""
    return [
        Case("http_read", "GET", "/v1/models", "api.openai.com", "allow"),
        Case("http_admin", "GET", "/admin/users", "internal.example", "deny"),
        Case("mcp_call", "POST", "/mcp", "github", "allow", mcp_tools_call(1024), MCP),
        Case("chat_4k", "POST", "/v1/chat/completions", "api.openai.com", "allow", chat_request(4096), JSON),
        Case("http_write", "POST", "/v1/items", "api.example.com", "allow", b'{"name":"widget","qty":3}', JSON),
        Case("mcp_denied", "POST", "/mcp", "fs", "deny", _mcp_call("read_file", {"path": "/etc/shadow"}), MCP),
        Case("http_delete", "DELETE", "/v1/files/f1", "api.example.com", "require_approval"),
        Case("chat_secret", "POST", "/v1/chat/completions", "api.openai.com", "deny", _chat_with_credential(), JSON),
        Case("http_read2", "GET", "/v1/status", "api.example.com", "allow"),
        Case("chat_64k", "POST", "/v1/chat/completions", "api.openai.com", "allow", chat_request(65536), JSON),
    ]


def raw_request(case: Case) -> bytes:
    head = [f"{case.method} {case.path} HTTP/1.1", f"host: {case.host}"]
    head += [f"{k}: {v}" for k, v in case.headers.items()]
    if case.body or case.method in ("POST", "PUT", "PATCH"):
        head.append(f"content-length: {len(case.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + case.body


def load_config() -> dict:
    """The shipped default configuration with its request-counting limits out of reach, plus
    the MCP servers the traffic calls (`github`, `fs`)."""
    config = json.loads(out_of_reach(DEFAULT_CONFIG.read_text())[0])
    config["mcp"] = {"servers": [{"authority": name, "name": name} for name in ("github", "fs")]}
    return config


def keep_request_ids(bootstrap: dict) -> dict:
    """Have Envoy keep the client's `x-request-id`, so audit lines can be matched to requests."""
    for listener in bootstrap["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for f in chain["filters"]:
                f["typed_config"]["preserve_external_request_id"] = True
    return bootstrap


class Upstream:
    """benches/bench-tools' `bench-upstream` in its own process."""

    def __enter__(self) -> "Upstream":
        self.proc = subprocess.Popen([str(TOOLS / "bench-upstream"), "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            harness.stop_process(self.proc)
            raise RuntimeError(f"bench-upstream did not start: {line}")
        self.port = int(line[1])
        return self

    def __exit__(self, *exc) -> None:
        harness.stop_process(self.proc)


def memory_bytes(envoy: harness.Envoy) -> int:
    for line in envoy.admin_get(f"/stats?filter={MEMORY_STAT}").splitlines():
        name, _, value = line.partition(": ")
        if name.endswith(MEMORY_STAT):
            return int(value)
    return 0


def send(envoy: harness.Envoy, case_list: list[Case], total: int, connections: int, max_seconds: int, on_progress=None) -> dict:
    """Drive `total` requests cycling through `case_list`; `on_progress(answered)` is called about
    every 5%. Returns load-gen's summary."""
    with tempfile.TemporaryDirectory(prefix="authensor-load-") as tmp:
        files = []
        for i, case in enumerate(case_list):
            path = Path(tmp) / f"{i:02d}-{case.name}.http"
            path.write_bytes(raw_request(case))
            files.append(str(path))
        cmd = [str(TOOLS / "load-gen"), f"127.0.0.1:{envoy.port}", str(total), str(connections), str(max_seconds), ID_PREFIX, *files]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        summary = None
        try:
            for line in proc.stdout:
                if line.startswith("PROGRESS "):
                    if on_progress:
                        on_progress(int(line.split()[1]))
                elif line.startswith("{"):
                    summary = json.loads(line)
        finally:
            harness.stop_process(proc)
    if proc.returncode != 0 or summary is None:
        raise RuntimeError(f"load-gen failed ({proc.returncode})")
    return summary


def audit_by_request(envoy: harness.Envoy, expected: int) -> dict[str, list[dict]]:
    """The run's audit lines grouped by request id, once `expected` lines are in the log."""
    by_id: dict[str, list[dict]] = {}
    for line in envoy.wait_for_audit(expected, timeout=30):
        by_id.setdefault(line["request_id"], []).append(line)
    return by_id


@dataclass
class Result:
    total: int
    summary: dict
    audit_lines: int
    duplicate_ids: list
    missing_ids: list
    wrong: Counter
    statuses: Counter
    memory: list  # (answered, bytes) samples
    chains: dict  # `authensor audit verify --json` on Envoy's log
    vms: int  # Envoy workers, one filter VM each

    def memory_at(self, fraction: float) -> int:
        """The largest sample taken up to `fraction` of the run."""
        return max((b for n, b in self.memory if n <= fraction * self.total), default=0)

    def memory_flat(self) -> bool:
        """No growth from 10% to the end beyond one page per VM (see the module's doc)."""
        return 0 < self.memory_at(1.0) <= self.memory_at(0.1) + self.vms * WASM_PAGE

    def figures(self) -> dict:
        return {
            "requests": self.summary["answered"],
            "wire_errors": self.summary["errors"],
            "seconds": self.summary["seconds"],
            "rps": self.summary["rps"],
            "audit_lines": self.audit_lines,
            "missing_audit": len(self.missing_ids),
            "duplicate_audit": len(self.duplicate_ids),
            "wrong_decisions": sum(self.wrong.values()),
            "status_5xx": sum(n for s, n in self.statuses.items() if s >= 500),
            "statuses": dict(sorted(self.statuses.items())),
            "memory_at_10pct": self.memory_at(0.1),
            "memory_at_end": self.memory_at(1.0),
            "memory_flat": self.memory_flat(),
            "memory_changes": [[n, b] for i, (n, b) in enumerate(self.memory) if i == 0 or b != self.memory[i - 1][1]],
            "chains_ok": self.chains.get("ok"),
            "chained_lines": self.chains.get("lines"),
        }


def run(total: int, connections: int = 8, max_seconds: int = 600, concurrency: int = 2) -> Result:
    """The load run: Envoy with the filter under the default configuration, `total` requests."""
    case_list = cases()
    with Upstream() as up, harness.Envoy(
        keep_request_ids(harness.bootstrap([harness.wasm_filter(load_config())], up.port)), concurrency=concurrency
    ) as envoy:
        memory = [(0, memory_bytes(envoy))]
        summary = send(envoy, case_list, total, connections, max_seconds,
                       on_progress=lambda n: memory.append((n, memory_bytes(envoy))))
        memory.append((total, memory_bytes(envoy)))
        by_id = audit_by_request(envoy, summary["answered"])
        chains = verify_chains(envoy.log_path)
    shutil.rmtree(envoy.dir, ignore_errors=True)
    statuses = Counter()
    for f in summary["files"]:
        statuses.update({int(s): n for s, n in f.items()})
    wrong = Counter()
    missing = []
    for i in range(summary["answered"]):
        lines = by_id.get(f"{ID_PREFIX}-{i}", [])
        if not lines:
            missing.append(i)
            continue
        case = case_list[i % len(case_list)]
        if lines[0]["decision"] != case.decision:
            wrong[(case.name, lines[0]["decision"])] += 1
    return Result(
        total=total,
        summary=summary,
        audit_lines=sum(len(v) for v in by_id.values()),
        duplicate_ids=[k for k, v in by_id.items() if len(v) > 1],
        missing_ids=missing,
        wrong=wrong,
        statuses=statuses,
        memory=memory,
        chains=chains,
        vms=concurrency,
    )


def verify_chains(log: Path) -> dict:
    """`authensor audit verify --json` on a proxy log."""
    out = subprocess.run([str(CLI), "audit", "verify", "--json", str(log)], capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout) if out.stdout.strip() else {"ok": False, "error": out.stderr}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-seconds", type=int, default=1800)
    args = parser.parse_args()
    result = run(args.requests, args.connections, args.max_seconds)
    figures = result.figures()
    for name, value in figures.items():
        print(f"{name}: {json.dumps(value)}")
    ok = (
        figures["requests"] == args.requests
        and figures["wire_errors"] == 0
        and figures["audit_lines"] == args.requests
        and not figures["missing_audit"]
        and not figures["duplicate_audit"]
        and not figures["wrong_decisions"]
        and not figures["status_5xx"]
        and figures["memory_flat"]
        and figures["chains_ok"]
        and figures["chained_lines"] == args.requests
    )
    print("soak: OK" if ok else f"soak: FAILED {dict(result.wrong)}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
