"""The filter in a real Envoy: allowed traffic passes unchanged, denied traffic is answered with
JSON and never reaches the upstream, bodies are decided whole, limits hold, bad config fails closed."""

from __future__ import annotations

import json

import httpx
import pytest

import harness

def deny_rule(rule_id: str, reason: str, field: str, operator: str, value) -> dict:
    return {
        "id": rule_id,
        "effect": "deny",
        "description": reason,
        "condition": {"field": field, "operator": operator, "value": value},
    }


CONFIG = {
    "body": {"max_bytes": 65536},
    "policies": [
        {
            "id": "e2e",
            "name": "end-to-end test policy",
            "version": "1.0.0",
            "rules": [
                deny_rule("no-admin", "admin API is off limits", "action.resource", "matches", "^[^/]*/admin(/|$)"),
                deny_rule("no-delete", "agents may not delete", "action.type", "eq", "http.delete"),
                deny_rule("no-marker", "marker in body", "action.parameters.note", "contains", "FORBIDDEN-MARKER"),
                {"id": "allow-rest", "effect": "allow", "description": "everything else"},
            ],
        }
    ],
}

PROTOCOLS = {
    "http1": dict(http1=True, http2=False),
    "http2": dict(http1=False, http2=True),
}


@pytest.fixture(params=sorted(PROTOCOLS))
def client(request):
    with httpx.Client(timeout=10, **PROTOCOLS[request.param]) as c:
        c.protocol = request.param
        yield c


def pieces(data: bytes, size: int):
    """A streamed body: the client sends each piece as its own chunk (HTTP/1.1) or DATA frame (HTTP/2)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def only_audit_line(envoy: harness.Envoy) -> dict:
    lines = envoy.wait_for_audit(1)
    assert len(lines) == 1, lines
    return lines[0]


def test_allowed_request_reaches_upstream_unchanged(envoy_with, upstream, client):
    envoy = envoy_with(CONFIG, upstream)
    body = json.dumps({"messages": [{"role": "user", "content": "hello"}]}).encode()
    r = client.post(envoy.url("/v1/chat?x=1"), content=body, headers={"x-custom": "kept"})
    assert r.status_code == 200
    assert r.http_version == ("HTTP/2" if client.protocol == "http2" else "HTTP/1.1")
    [seen] = upstream.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/v1/chat?x=1", body)
    assert seen.headers["x-custom"] == "kept"
    line = only_audit_line(envoy)
    assert (line["decision"], line["method"], line["path"], line["status"]) == ("allow", "POST", "/v1/chat", 200)
    assert line["body_bytes"] == len(body)
    assert line["request_id"] == seen.headers["x-request-id"]
    assert line["added_us"] > 0


def test_denied_path_gets_403_json_and_upstream_sees_nothing(envoy_with, upstream, client):
    envoy = envoy_with(CONFIG, upstream)
    r = client.get(envoy.url("/v1/../admin/users"))
    assert r.status_code == 403
    assert r.headers["x-authensor-decision"] == "deny"
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert (error["type"], error["rule"], error["reason"]) == ("policy_denied", "no-admin", "admin API is off limits")
    assert error["policy"] == "e2e"
    assert upstream.requests == []
    line = only_audit_line(envoy)
    assert (line["decision"], line["rule"], line["status"]) == ("deny", "no-admin", 403)
    assert line["request_id"] == error["request_id"]


def test_denied_method_with_body_never_reaches_upstream(envoy_with, upstream, client):
    envoy = envoy_with(CONFIG, upstream)
    r = client.request("DELETE", envoy.url("/items/1"), content=b'{"really": true}')
    assert (r.status_code, r.json()["error"]["rule"]) == (403, "no-delete")
    assert upstream.requests == []
    assert only_audit_line(envoy)["rule"] == "no-delete"


def test_body_split_across_many_chunks_is_decided_whole(envoy_with, upstream, client):
    envoy = envoy_with(CONFIG, upstream)
    body = json.dumps({"note": "x" * 5000 + "FORBIDDEN-MARKER" + "y" * 5000}).encode()
    # 7-byte pieces: the marker is cut across chunk boundaries.
    r = client.post(envoy.url("/upload"), content=pieces(body, 7))
    assert (r.status_code, r.json()["error"]["rule"]) == (403, "no-marker")
    assert upstream.requests == []
    line = only_audit_line(envoy)
    assert (line["rule"], line["body_bytes"]) == ("no-marker", len(body))


def test_clean_chunked_body_arrives_whole(envoy_with, upstream, client):
    envoy = envoy_with(CONFIG, upstream)
    body = "".join(f"line {i}: the quick brown fox\n" for i in range(1000)).encode()
    r = client.post(envoy.url("/upload"), content=pieces(body, 1000))
    assert r.status_code == 200
    [seen] = upstream.requests
    assert seen.body == body
    assert only_audit_line(envoy)["decision"] == "allow"


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_over_limit_body_gets_413(envoy_with, upstream, client, streamed):
    # Smaller than HTTP/2's initial flow-control window, so the client finishes sending before it
    # reads the early answer (an HTTP/2 client blocked on flow control sees a reset instead).
    envoy = envoy_with({**CONFIG, "body": {"max_bytes": 16384}}, upstream)
    body = b"z" * 40_000
    r = client.post(envoy.url("/upload"), content=pieces(body, 8192) if streamed else body)
    assert r.status_code == 413
    error = r.json()["error"]
    assert (error["type"], error["rule"]) == ("body_too_large", "body.max_bytes")
    assert upstream.requests == []
    line = only_audit_line(envoy)
    assert (line["decision"], line["status"], line["rule"]) == ("deny", 413, "body.max_bytes")


def test_a_body_that_is_not_text_is_refused_not_passed_unscanned(envoy_with, upstream):
    envoy = envoy_with(CONFIG, upstream)
    r = httpx.post(envoy.url("/upload"), content=bytes(range(256)) * 10)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "unscannable_body"
    assert upstream.requests == []
    assert only_audit_line(envoy)["rule"] == "aegis.unscannable"


def test_over_limit_body_can_pass_unscanned_with_audit(envoy_with, upstream):
    config = {**CONFIG, "body": {"max_bytes": 65536, "on_oversize": "pass"}}
    envoy = envoy_with(config, upstream)
    body = b"z" * 100_000
    r = httpx.post(envoy.url("/upload"), content=pieces(body, 8192))
    assert r.status_code == 200
    assert upstream.requests[0].body == body
    line = only_audit_line(envoy)
    assert line["decision"] == "allow"
    assert "passed unscanned" in line["reasons"][0]


def test_every_request_gets_exactly_one_audit_line(envoy_with, upstream):
    envoy = envoy_with(CONFIG, upstream)
    statuses = []
    with httpx.Client(timeout=10) as c:
        for i in range(30):
            path = "/admin" if i % 3 == 0 else f"/ok/{i}"
            statuses.append(c.get(envoy.url(path)).status_code)
    lines = envoy.wait_for_audit(30)
    assert len(lines) == 30
    assert [line["decision"] for line in lines].count("deny") == statuses.count(403) == 10
    assert len({line["request_id"] for line in lines}) == 30


@pytest.mark.parametrize(
    "bad, path",
    [
        (
            {"policies": [{"id": "p", "name": "p", "version": "1.0.0", "rules": [
                {"id": "a", "effect": "allow"}, {"id": "b", "effect": "deny"}, {"id": "c", "effect": "maybe"}]}]},
            "policies[0].rules[2].effect",
        ),
        ({"body": {"max_bytes": 0}}, "body.max_bytes"),
        ({"bodies": {}}, "bodies"),
        ("{not json", "$"),
    ],
)
def test_invalid_config_refuses_to_start_and_names_the_field(upstream, bad, path):
    config = harness.bootstrap([harness.wasm_filter(bad)], upstream.port)
    with pytest.raises(harness.EnvoyFailed) as failed:
        with harness.Envoy(config):
            pass
    errors = [l for l in failed.value.log.splitlines() if "invalid configuration" in l]
    assert len(errors) == 1, failed.value.log
    assert f"invalid configuration: {path}" in errors[0]
    assert upstream.requests == []


def test_a_header_that_is_not_utf8_is_read_not_fatal(envoy_with, upstream):
    # Envoy accepts bytes 0x80-0xFF in header values; the filter must neither crash its VM on
    # them nor stop deciding: the next requests on the same worker are served as usual.
    envoy = envoy_with(CONFIG, upstream)
    with httpx.Client(timeout=10) as c:
        odd = c.get(envoy.url("/v1/ok"), headers={"traceparent": b"00-\xff\xfe-01", "x-note": b"caf\xe9"})
        assert odd.status_code == 200
        assert c.get(envoy.url("/admin")).status_code == 403
        assert c.get(envoy.url("/v1/ok")).status_code == 200
    assert [line["decision"] for line in envoy.wait_for_audit(3)] == ["allow", "deny", "allow"]
    assert "panic" not in envoy.log()
