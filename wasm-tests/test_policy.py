"""The policy engine's stateful rules in a real Envoy with two workers: a rate limit that trips at
exactly N+1 across concurrent connections, and an approval token that works once, for the same
arguments only."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx

import harness

CLI = harness.ROOT / "target" / "release" / "authensor"
KEY = "5" * 64
PRINCIPAL = "agent-7"


def policy(*rules: dict) -> dict:
    return {"id": "e2e", "name": "e2e", "version": "1.0.0", "rules": list(rules)}


def test_rate_limit_trips_at_exactly_n_plus_one_across_connections(envoy_with, upstream):
    limit = 20
    config = {
        "agent": {"principal": PRINCIPAL},
        "policies": [
            policy(
                {
                    "id": "limited-reads",
                    "effect": "allow",
                    "description": "reads, limited",
                    "rateLimit": {"requests": limit, "window": "1h", "scope": "global"},
                }
            )
        ],
    }
    envoy = envoy_with(config, upstream)

    def one(i: int) -> httpx.Response:
        # A fresh client per request: a new connection each, spread over Envoy's workers.
        with httpx.Client(timeout=10) as c:
            return c.get(envoy.url(f"/items/{i}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(one, range(3 * limit)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == limit
    assert statuses.count(429) == 2 * limit
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["type"] == "rate_limited"
    assert len(upstream.requests) == limit
    lines = envoy.wait_for_audit(3 * limit)
    assert sorted(line["decision"] for line in lines) == ["allow"] * limit + ["rate_limited"] * (2 * limit)


def mint(tmp_path, action: str, resource: str, params: dict) -> str:
    key_file = tmp_path / "approval.key"
    key_file.write_text(KEY)
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(params))
    out = subprocess.run(
        [str(CLI), "approval", "mint", "--key-file", str(key_file), "--principal", PRINCIPAL,
         "--action", action, "--resource", resource, "--params", str(params_file), "--ttl", "10m"],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.strip().split()[-1]


def test_approval_token_passes_once_and_only_with_the_same_arguments(envoy_with, upstream, tmp_path):
    config = {
        "agent": {"principal": PRINCIPAL},
        "approval": {"key": KEY},
        "policies": [
            policy(
                {
                    "id": "approve-payments",
                    "effect": "require_approval",
                    "description": "payments need a human",
                    "condition": {"field": "action.type", "operator": "eq", "value": "http.post"},
                    "approvalConfig": {"requiredApprovals": 1, "expiresIn": "30m"},
                },
                {"id": "allow-rest", "effect": "allow", "description": "the rest"},
            )
        ],
    }
    envoy = envoy_with(config, upstream)
    params = {"amount": 120, "to": "acct-9"}
    url = envoy.url("/payments")

    held = httpx.post(url, json=params)
    assert held.status_code == 403
    error = held.json()["error"]
    assert error["type"] == "approval_required"
    assert error["approval"]["reference"].startswith("apr_")
    assert upstream.requests == []

    resource = f"127.0.0.1/payments"
    token = mint(tmp_path, "http.post", resource, params)
    assert httpx.post(url, json=params, headers={"x-authensor-approval": token}).status_code == 200
    [seen] = upstream.requests
    assert json.loads(seen.body) == params
    assert "x-authensor-approval" not in seen.headers

    replay = httpx.post(url, json=params, headers={"x-authensor-approval": token})
    assert replay.status_code == 403 and "already been used" in replay.json()["error"]["reason"]

    other = mint(tmp_path, "http.post", resource, params)
    changed = httpx.post(url, json={**params, "amount": 99999}, headers={"x-authensor-approval": other})
    assert changed.status_code == 403 and changed.json()["error"]["type"] == "approval_required"
    assert len(upstream.requests) == 1
    decisions = [line["decision"] for line in envoy.wait_for_audit(4)]
    assert decisions == ["require_approval", "allow", "require_approval", "require_approval"]
