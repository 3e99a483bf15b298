"""The filter's metrics in a real Envoy's /stats/prometheus: labelled through the stats_tags in
filter-config/envoy-stats-config.json (the same block as examples/envoy.yaml), counted per request:
outcomes, denials by rule (decided on the request or on the answer), detections, redactions, body
limits, parse failures by protocol, configuration loads and the added-latency histogram."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import yaml

import harness
from test_audit import CONFIG  # deny /admin, approve deletes, /limited/ two a minute, allow the rest


def labelled(envoy: harness.Envoy, name: str, **labels) -> float | None:
    return envoy.prometheus().get((name, frozenset(labels.items())))


def start(envoy_with, upstream, config=CONFIG) -> harness.Envoy:
    return envoy_with(config, upstream, stats_tags=True)


def test_requests_are_counted_by_outcome_with_prometheus_labels(envoy_with, upstream):
    envoy = start(envoy_with, upstream)
    with httpx.Client(timeout=10) as c:
        allowed = [c.get(envoy.url(f"/ok/{i}")).status_code for i in range(3)]
        denied = [c.get(envoy.url("/admin/x")).status_code for _ in range(2)]
        oversize = c.post(envoy.url("/upload"), content=b"z" * 10_000).status_code
    assert (allowed, denied, oversize) == ([200] * 3, [403] * 2, 413)
    envoy.wait_for_audit(6)
    assert labelled(envoy, "authensor_requests_total", outcome="allow") == 3
    assert labelled(envoy, "authensor_requests_total", outcome="deny") == 3
    assert labelled(envoy, "authensor_body_limit_total") == 1
    # One configuration load per VM (the main thread's and each worker's).
    assert labelled(envoy, "authensor_config_reloads_total", result="ok") >= 1
    names = {name for name, _ in envoy.prometheus()}
    assert not any("=.=" in n or n.startswith("outcome") for n in names), "every label extracted"


def test_example_config_carries_the_same_stats_tags():
    example = yaml.safe_load((harness.ROOT / "examples" / "envoy.yaml").read_text())
    assert example["stats_config"] == json.loads(harness.STATS_CONFIG_FILE.read_text())


def test_outcomes_denials_and_latency_once_the_exchange_counts_them(envoy_with, upstream):
    envoy = start(envoy_with, upstream)
    with httpx.Client(timeout=10) as c:
        paths = ["/ok", "/admin", "/limited/a", "/limited/b", "/limited/c"]
        statuses = [c.get(envoy.url(p)).status_code for p in paths]
    assert statuses == [200, 403, 200, 200, 429]
    envoy.wait_for_audit(5)
    assert labelled(envoy, "authensor_requests_total", outcome="rate_limited") == 1
    assert labelled(envoy, "authensor_requests_total", outcome="deny") == 1
    assert labelled(envoy, "authensor_denials_total", policy="audit-e2e", rule="no-admin") == 1
    assert labelled(envoy, "authensor_denials_total", policy="audit-e2e", rule="limited") == 1
    deadline = time.monotonic() + 5
    while labelled(envoy, "authensor_added_latency_us_count") != 5 and time.monotonic() < deadline:
        time.sleep(0.1)  # histograms reach the admin at the next stats flush (200 ms here)
    assert labelled(envoy, "authensor_added_latency_us_count") == 5


def test_detections_and_redactions_once_the_scanner_is_wired(envoy_with, upstream):
    config = {**CONFIG, "aegis": {"pii": {"action": "redact"}}}
    envoy = start(envoy_with, upstream, config)
    body = json.dumps({"note": "write to alice@example.com please"}).encode()
    r = httpx.post(envoy.url("/notes"), content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert b"alice@example.com" not in upstream.requests[0].body
    envoy.wait_for_audit(1)
    assert labelled(envoy, "authensor_detections_total", type="pii", sub_type="email") == 1
    assert labelled(envoy, "authensor_redactions_total") == 1


def test_parse_failures_are_counted_by_protocol(envoy_with, upstream):
    envoy = start(envoy_with, upstream)
    r = httpx.post(envoy.url("/notes"), content=b'{"note": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    envoy.wait_for_audit(1)
    assert labelled(envoy, "authensor_parse_failures_total", protocol="http") == 1
    assert labelled(envoy, "authensor_denials_total", policy="none", rule="body") == 1


def test_denials_decided_on_the_answer_are_counted_by_rule(envoy_with):
    """An LLM answer carrying a canary is refused after the request was allowed: it counts as a
    denial by the scanner's rule, like a denial decided on the request."""
    from llm_upstream import CANARY, LlmUpstream
    from test_llm import ALLOW_ALL

    with LlmUpstream() as llm:
        envoy = start(envoy_with, llm, {**ALLOW_ALL, "aegis": {"canaries": [CANARY]}})
        chat = {"model": "gpt-test", "messages": [{"role": "user", "content": "SCRIPT:canary"}]}
        r = httpx.post(envoy.url("/v1/chat/completions"), json=chat, timeout=10)
        assert r.status_code == 403 and CANARY not in r.text
        [line] = envoy.wait_for_audit(1)
    assert (line["decision"], line["rule"], line["llm"]["blocked_at"]) == ("deny", "aegis", "answer")
    assert labelled(envoy, "authensor_requests_total", outcome="allow") == 1, "allowed when asked"
    assert labelled(envoy, "authensor_denials_total", policy="none", rule="aegis") == 1


def test_mcp_results_blocked_in_the_answer_are_denials_by_rule():
    """A tool result carrying an injection is withheld after the call was allowed: a denial by the
    gateway's result rule, beside the allowed request."""
    import mcp_harness
    from test_mcp import gateway_config, text_of

    with mcp_harness.McpServer("json") as server:
        config = harness.bootstrap([harness.wasm_filter(gateway_config())], server.port, stats_tags=True)
        with harness.Envoy(config) as envoy:
            stack = mcp_harness.McpStack(server, envoy)
            result = stack.run(lambda s: s.call_tool("fetch_page", {"url": "https://news.example/today"}))
            assert result.isError is True and "injection" in text_of(result)
            envoy.wait_for_audit(3)
            assert labelled(envoy, "authensor_denials_total", policy="none", rule="mcp.tool_results") == 1
            injections = [v for (name, labels), v in envoy.prometheus().items()
                          if name == "authensor_detections_total" and ("type", "injection") in labels]
            assert sum(injections) >= 1
