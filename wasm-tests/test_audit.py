"""Audit lines from a real Envoy: every line matches the published schema
(filter-config/audit-line.schema.json), long fields are cut rather than dropped, the lines form
hash chains that `authensor audit verify` accepts on the raw Envoy log, and every kind of tampering
with that log (an edited, deleted, swapped or duplicated line) is reported with its kind and line."""

from __future__ import annotations

import contextlib
import copy
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

import harness

SCHEMA = json.loads((harness.ROOT / "filter-config" / "audit-line.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
CLI = harness.ROOT / "target" / "release" / "authensor"

CONFIG = {
    "body": {"max_bytes": 4096},
    "policies": [
        {
            "id": "audit-e2e",
            "name": "audit test policy",
            "version": "1.0.0",
            "rules": [
                {
                    "id": "no-admin",
                    "effect": "deny",
                    "description": "admin is off limits",
                    "condition": {"field": "action.resource", "operator": "matches", "value": "^[^/]*/admin(/|$)"},
                },
                {
                    "id": "approve-deletes",
                    "effect": "require_approval",
                    "description": "deletes need a human",
                    "condition": {"field": "action.operation", "operator": "eq", "value": "delete"},
                },
                {
                    "id": "limited",
                    "effect": "allow",
                    "description": "two a minute",
                    "condition": {"field": "action.resource", "operator": "matches", "value": "^[^/]*/limited/"},
                    "rateLimit": {"requests": 2, "window": "1m", "scope": "global"},
                },
                {"id": "allow-rest", "effect": "allow", "description": "everything else"},
            ],
        }
    ],
}

LONG_PATH = "/long/" + "p" * 20_000


def traffic(client: httpx.Client, url) -> list[int]:
    """Allowed, denied, held for approval, rate limited, oversized, one very long request and one
    whose body the scanner reports on."""
    statuses = []
    for path in ["/ok/1", "/admin/users", "/ok/2", "/limited/a", "/limited/b", "/limited/c", "/ok/3"]:
        statuses.append(client.get(url(path)).status_code)
    statuses.append(client.delete(url("/items/7")).status_code)
    statuses.append(client.get(url("/admin")).status_code)
    statuses.append(client.get(url(LONG_PATH)).status_code)
    for i in range(4, 8):
        statuses.append(client.get(url(f"/ok/{i}")).status_code)
    statuses.append(client.post(url("/upload"), content=b"z" * 10_000).status_code)
    statuses.append(client.post(url("/notes"), json={"note": "mail the report to alice@example.com"}).status_code)
    return statuses


@pytest.fixture(scope="module")
def run():
    """One Envoy for the module: the traffic above, then its log and audit lines."""
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(harness.RecordingUpstream())
        envoy = stack.enter_context(harness.Envoy(harness.bootstrap([harness.wasm_filter(CONFIG)], upstream.port)))
        with httpx.Client(timeout=10) as client:
            statuses = traffic(client, envoy.url)
        lines = envoy.wait_for_audit(len(statuses))
        yield {"statuses": statuses, "lines": lines, "log": envoy.log()}


def verify(path: Path, *args: str) -> tuple[int, dict]:
    result = subprocess.run([str(CLI), "audit", "verify", "--json", *args, str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode, json.loads(result.stdout)


def test_every_line_matches_the_schema(run):
    lines = run["lines"]
    assert len(lines) == len(run["statuses"])
    for line in lines:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(line)]
        assert errors == [], line
    assert {line["decision"] for line in lines} == {"allow", "deny", "require_approval", "rate_limited"}
    [noted] = [line for line in lines if line["path"] == "/notes"]
    assert {(d["type"], d["sub_type"], d["path"]) for d in noted["detections"]} == {("pii", "email", "$.note")}
    assert sorted(line["status"] for line in lines) == sorted(run["statuses"])


def test_long_fields_are_cut_to_the_line_bound_not_dropped(run):
    raw = [l[l.index(harness.AUDIT_MARKER):] for l in run["log"].splitlines() if harness.AUDIT_MARKER in l]
    assert max(len(l.encode()) for l in raw) <= 15 * 1024  # audit.max_line_bytes default
    [long] = [l for l in run["lines"] if l["path"].startswith("/long/")]
    assert long["path"].startswith("/long/ppp") and long["path"].endswith(" bytes]")
    assert "…[truncated " in long["path"]
    assert long["truncated"]["original_bytes"] > 20_000
    assert long["decision"] == "allow" and long["status"] == 200


def test_the_schema_takes_the_fields_integration_adds_and_rejects_values_and_drift(run):
    line = copy.deepcopy(run["lines"][0])
    line.update(
        mode="shadow",
        would="deny",
        redactions=2,
        detections=[{"type": "pii", "sub_type": "email", "severity": "medium", "rule": "pii.email", "path": "$.messages[0].content", "action": "redact"}],
        events=[{"event": "mcp.tool_removed", "subject": "delete_repo", "rule": "mcp.tool_poisoning", "reason": "hidden instruction"}],
    )
    assert list(VALIDATOR.iter_errors(line)) == []
    bad = [
        {**line, "detections": [{**line["detections"][0], "value": "alice@example.com"}]},
        {k: v for k, v in line.items() if k != "would"},
        {**line, "chain": {**line["chain"], "prev": "0" * 63}},
        {**line, "decision": "maybe"},
        {**line, "unexpected": 1},
    ]
    for b in bad:
        assert list(VALIDATOR.iter_errors(b)) != [], b


def test_the_real_envoy_log_verifies(run, tmp_path):
    log = tmp_path / "envoy.log"
    log.write_text(run["log"])
    code, report = verify(log)
    assert (code, report["ok"], report["problems"]) == (0, True, [])
    assert report["lines"] == len(run["lines"])
    assert sum(c["lines"] for c in report["chains"]) == len(run["lines"])
    assert all(c["first_seq"] == 1 and c["last_seq"] == c["lines"] for c in report["chains"])
    text = subprocess.run([str(CLI), "audit", "verify", str(log)], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0
    assert text.stdout.splitlines()[-1] == f"chains: {len(report['chains'])}, lines: {len(run['lines'])}, problems: 0 (ok)"


def chained(log_lines: list[str]) -> list[tuple[int, str, int]]:
    """(index, chain id, seq) of every audit line in the longest chain."""
    entries = []
    for i, text in enumerate(log_lines):
        at = text.find(harness.AUDIT_MARKER)
        if at >= 0:
            chain = json.loads(text[at:])["chain"]
            entries.append((i, chain["id"], chain["seq"]))
    longest = max({e[1] for e in entries}, key=lambda c: sum(1 for e in entries if e[1] == c))
    return [e for e in entries if e[1] == longest]


def edit(lines, chain):
    i = chain[1][0]
    before = lines[i]
    lines[i] = before.replace('"status":', '"status":1', 1)
    assert lines[i] != before
    return [("edited", i + 1)]


def delete(lines, chain):
    del lines[chain[1][0]]
    return [("deleted", chain[2][0])]  # the next line of the chain moved up by one


def swap(lines, chain):
    a, b = chain[1][0], chain[2][0]
    lines[a], lines[b] = lines[b], lines[a]
    return [("reordered", b + 1)]


def duplicate(lines, chain):
    i = chain[1][0]
    lines.insert(i + 1, lines[i])
    return [("duplicated", i + 2)]


@pytest.mark.parametrize("tamper", [edit, delete, swap, duplicate], ids=lambda f: f.__name__)
def test_tampering_is_reported_with_kind_and_line(run, tmp_path, tamper):
    lines = run["log"].split("\n")
    chain = chained(lines)
    assert len(chain) >= 4, "the test needs a chain of four lines or more"
    expected = tamper(lines, chain)
    log = tmp_path / "tampered.log"
    log.write_text("\n".join(lines))
    code, report = verify(log)
    assert code == 1 and report["ok"] is False
    assert [(p["kind"], p["line"]) for p in report["problems"]] == expected
    assert report["problems"][0]["chain"] == chain[0][1]
