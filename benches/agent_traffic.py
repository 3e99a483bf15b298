"""Realistic agent request bodies for the benchmark, generated deterministically (fixed seed):
OpenAI-style chat completion requests whose history carries tool calls and tool results (test
output, source files, issue searches, service logs), and MCP `tools/call` JSON-RPC requests.
Every body is benign, valid JSON of exactly the requested size, so a correct filter allows it.

An agent resends its whole conversation with every call; only the newest text is new (in a chat
request the last message, the newest tool result; in an MCP call `params.arguments.content`). That
text starts with the placeholder `FRESH_MARK`, which the load generators (wrk.lua, lat-probe,
exchange.rs) overwrite with a token of the same width unique to each request, so every request
carries one new text and resends the rest, at the same size and still valid JSON.

`write_cases(dir, cases)` writes each body to `<dir>/<name>.json` plus `<dir>/cases.json`, the
manifest the load generator, the native micro-benchmark and the wasm host read: per case the byte
offset of the placeholder (`fresh_at`, null without one) and the newest text's length in bytes
(`fresh_bytes`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

MODULES = ["orders", "inventory", "billing", "shipping", "catalog", "pricing", "returns", "reports"]
NOUNS = ["order", "item", "batch", "invoice", "parcel", "sku", "warehouse", "customer", "discount", "refund"]
VERBS = ["load", "validate", "merge", "apply", "compute", "reserve", "release", "summarise", "export", "retry"]
# Where the newest text starts; replaced per request by a token of the same width (wrk.lua).
FRESH_MARK = "rXXXX-XXXXXX"
WORDS = (
    "the a of to and in for on with that this is was when after before during each every new old "
    "value result request queue cache window limit retry timeout worker thread config default "
    "field record table index query report total count rate error warning check update build"
).split()


def _sentence(rng: random.Random, lo: int = 6, hi: int = 16) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def python_source(rng: random.Random, functions: int) -> str:
    mod = rng.choice(MODULES)
    out = [f'"""Helpers for the {mod} service: loading, validation and reporting."""', "", "import dataclasses", "import logging", "", "log = logging.getLogger(__name__)", ""]
    for _ in range(functions):
        verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
        out += [
            "",
            f"def {verb}_{noun}(records, limit={rng.randint(2, 500)}):",
            f'    """{_sentence(rng)}"""',
            "    total = 0",
            "    for record in records[:limit]:",
            f"        if record.get('{noun}_id') is None:",
            f"            log.warning('skipping {noun} without id: %s', record)",
            "            continue",
            f"        total += record.get('quantity', {rng.randint(0, 9)})",
            "    return total",
        ]
    return "\n".join(out)


def test_output(rng: random.Random, tests: int) -> str:
    mod = rng.choice(MODULES)
    lines = [f"============================= test session starts ==============================", f"collected {tests} items", ""]
    failed = rng.randrange(tests)
    for i in range(tests):
        status = "FAILED" if i == failed else "PASSED"
        name = f"test_{rng.choice(VERBS)}_{rng.choice(NOUNS)}_{i}"
        lines.append(f"tests/test_{mod}.py::{name} {status} [{(i + 1) * 100 // tests:3d}%]")
    lines += ["", "=================================== FAILURES ===================================",
              f"    assert summary.total == {rng.randint(10, 99)}", f"E   AssertionError: expected total to match the ledger, got {rng.randint(100, 999)}",
              f"========================= 1 failed, {tests - 1} passed in {rng.randint(1, 9)}.{rng.randint(10, 99)}s ========================="]
    return "\n".join(lines)


def issue_search(rng: random.Random, issues: int) -> str:
    items = [
        {"number": 400 + i, "title": _sentence(rng, 4, 9).rstrip("."), "state": rng.choice(["open", "closed"]),
         "labels": rng.sample(["bug", "ci", "docs", "performance", "good first issue"], 2), "comments": rng.randint(0, 12)}
        for i in range(issues)
    ]
    return json.dumps({"total_count": issues, "items": items})


def service_log(rng: random.Random, lines: int) -> str:
    out = []
    for i in range(lines):
        level = rng.choice(["INFO", "INFO", "INFO", "WARN", "DEBUG"])
        out.append(f"2026-11-24T03:{i // 60 % 60:02d}:{i % 60:02d}Z {level} worker-{rng.randint(1, 8)} {rng.choice(VERBS)} {rng.choice(NOUNS)} batch {rng.randint(1000, 9999)} in {rng.randint(2, 400)} ms")
    return "\n".join(out)


TOOLS = [
    ("run_tests", "Run the test suite and return its output.", {"path": {"type": "string"}, "verbose": {"type": "boolean"}}),
    ("read_file", "Read a file from the repository.", {"path": {"type": "string"}}),
    ("search_issues", "Search the issue tracker.", {"query": {"type": "string"}, "state": {"type": "string"}}),
    ("tail_logs", "Return the latest lines of a service log.", {"service": {"type": "string"}, "lines": {"type": "integer"}}),
]


def _tool_turn(rng: random.Random, n: int) -> tuple[dict, dict]:
    name = TOOLS[n % len(TOOLS)][0]
    mod = rng.choice(MODULES)
    args, result = {
        "run_tests": ({"path": f"tests/test_{mod}.py", "verbose": True}, lambda: test_output(rng, rng.randint(10, 40))),
        "read_file": ({"path": f"src/{mod}/helpers.py"}, lambda: python_source(rng, rng.randint(3, 12))),
        "search_issues": ({"query": f"{mod} total mismatch", "state": "open"}, lambda: issue_search(rng, rng.randint(4, 15))),
        "tail_logs": ({"service": mod, "lines": 200}, lambda: service_log(rng, rng.randint(20, 80))),
    }[name]
    call_id = f"call_{n:04d}"
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}
    return call, {"role": "tool", "tool_call_id": call_id, "content": result()}


def chat_request(size: int, seed: int = 7) -> bytes:
    """An OpenAI chat completion request with tool calls and results, exactly `size` bytes."""
    rng = random.Random(seed)
    doc = {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "tools": [{"type": "function", "function": {"name": n, "description": d, "parameters": {"type": "object", "properties": p}}} for n, d, p in TOOLS],
        "messages": [
            {"role": "system", "content": "You are a coding agent working in the repository acme/inventory-service. Use the tools to inspect files, logs and tests. Keep answers short and cite file paths."},
            {"role": "user", "content": "The nightly build failed on the reports job. Find out why and propose a minimal fix."},
        ],
    }
    turn = 0
    while len(_dump(doc)) < size:
        doc["messages"].extend(_tool_turn(rng, turn))
        turn += 1
    return _fit(doc, lambda d: d["messages"][-1], size)


def mcp_tools_call(size: int, seed: int = 11) -> bytes:
    """An MCP `tools/call` JSON-RPC request filing an issue with test output, exactly `size` bytes."""
    rng = random.Random(seed)
    args = {"owner": "acme", "repo": "inventory-service", "title": "Nightly reports job fails on the ledger total",
            "labels": ["bug", "ci"], "content": test_output(rng, 8 + size // 60)}
    doc = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "create_issue", "arguments": args, "_meta": {"progressToken": 7}}}
    return _fit(doc, lambda d: d["params"]["arguments"], size)


def _dump(doc) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _fit(doc, holder, size: int) -> bytes:
    """Mark the text field of `holder(doc)` (`content`, the newest text) with `FRESH_MARK` and trim
    it so the document is exactly `size` bytes."""
    obj = holder(doc)
    text = FRESH_MARK + obj["content"]
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that still fits
        mid = (lo + hi + 1) // 2
        obj["content"] = text[:mid]
        if len(_dump(doc)) <= size:
            lo = mid
        else:
            hi = mid - 1
    obj["content"] = text[:lo].rstrip("\\")
    while len(_dump(doc)) < size:  # an escape may leave us a byte or two short
        obj["content"] += " "
    body = _dump(doc)
    if len(body) != size:
        raise ValueError(f"could not fit the body to {size} bytes (got {len(body)})")
    return body


# The MCP server the MCP case calls: its host name, and its name in action types.
MCP_SERVER = "github"

# name, method, path, host, body builder (None: no body)
CASES = [
    ("get", "GET", "/v1/models", "api.openai.com", None),
    # The host names the MCP server (`mcp.github.create_issue` by default).
    ("mcp_call_1k", "POST", "/mcp", MCP_SERVER, lambda: mcp_tools_call(1024)),
    ("chat_4k", "POST", "/v1/chat/completions", "api.openai.com", lambda: chat_request(4096)),
    ("chat_64k", "POST", "/v1/chat/completions", "api.openai.com", lambda: chat_request(65536)),
    ("chat_512k", "POST", "/v1/chat/completions", "api.openai.com", lambda: chat_request(524288)),
]

MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18", "mcp-session-id": "bench-session-1"}


def fresh(body: bytes) -> dict:
    """Where the newest text's placeholder sits in `body` (a byte offset), and that text's length
    in bytes, decoded."""
    doc = body.decode()
    if doc.count(FRESH_MARK) != 1:
        raise ValueError(f"expected one {FRESH_MARK} in the body, found {doc.count(FRESH_MARK)}")
    at = doc.index(FRESH_MARK)
    text, _ = json.decoder.scanstring(doc, at)
    return {"fresh_at": len(doc[:at].encode()), "fresh_bytes": len(text.encode())}


def write_cases(out: Path, names: list[str] | None = None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, method, path, host, build in CASES:
        if names is not None and name not in names:
            continue
        headers = {"content-type": "application/json"} if build else {}
        if path == "/mcp":
            headers |= MCP_HEADERS
        entry = {"name": name, "method": method, "path": path, "host": host, "headers": headers, "body_file": None,
                 "body_bytes": 0, "fresh_at": None, "fresh_bytes": 0}
        if build:
            body = build()
            json.loads(body)
            file = out / f"{name}.json"
            file.write_bytes(body)
            entry |= {"body_file": str(file.resolve()), "body_bytes": len(body), **fresh(body)}
        manifest.append(entry)
    (out / "cases.json").write_text(json.dumps(manifest, indent=1))
    return manifest


if __name__ == "__main__":
    import sys

    for c in write_cases(Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench/bodies")):
        print(c["name"], c["body_bytes"], c["fresh_bytes"])
