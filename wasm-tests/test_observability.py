"""What an operator sees besides the audit lines, in a real Envoy: the access-log line of
examples/envoy.yaml carries the filter's decision, policy, rule and top detection (filter state
`wasm.authensor.*`); the trace context reaches the upstream untouched and its trace id is in every
audit line; shadow mode (whole configuration or one policy) lets traffic through unchanged while
the audit line and `authensor_shadow_decisions_total` say what enforcement would have done."""

from __future__ import annotations

import contextlib
import json
import time

import httpx
import yaml

import harness
from test_audit import CONFIG, VALIDATOR  # CONFIG: deny /admin, approve deletes, /limited/ two a minute, allow the rest

EXAMPLE = harness.ROOT / "examples" / "envoy.yaml"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
PII_CONFIG = {**CONFIG, "aegis": {"pii": {"action": "redact"}}}


def example_access_log() -> list[dict]:
    """The access_log block of the shipped example's HTTP connection manager."""
    example = yaml.safe_load(EXAMPLE.read_text())
    [listener] = example["static_resources"]["listeners"]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]["access_log"]


@contextlib.contextmanager
def envoy_logging_access(plugin_config, upstream, **bootstrap_args):
    """Envoy with the filter and the example's access log (to stdout, i.e. Envoy's log file)."""
    config = harness.bootstrap([harness.wasm_filter(plugin_config)], upstream.port, **bootstrap_args)
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["access_log"] = example_access_log()
    with harness.Envoy(config) as envoy:
        yield envoy


def access_lines(envoy: harness.Envoy, count: int) -> list[dict]:
    """The JSON access-log lines once `count` have been written (they follow the response)."""
    lines: list[dict] = []
    for _ in range(100):
        lines = [json.loads(l) for l in envoy.log().splitlines() if l.startswith("{") and "authensor_decision" in l]
        if len(lines) >= count:
            break
        time.sleep(0.1)
    return lines


def test_the_example_access_log_line_carries_decision_policy_rule_and_detection(upstream):
    with envoy_logging_access(PII_CONFIG, upstream) as envoy, httpx.Client(timeout=10) as c:
        ok = c.get(envoy.url("/ok/1"), headers={"x-request-id": "req-ok"})
        denied = c.get(envoy.url("/admin/users"), headers={"x-request-id": "req-denied"})
        noted = c.post(envoy.url("/notes"), json={"note": "mail alice@example.com"}, headers={"x-request-id": "req-pii"})
        assert (ok.status_code, denied.status_code, noted.status_code) == (200, 403, 200)
        lines = {l["request_id"]: l for l in access_lines(envoy, 3)}
    fields = ["status", "authensor_decision", "authensor_would", "authensor_policy", "authensor_rule",
              "authensor_detection_type", "authensor_detection_sub_type"]
    row = lambda rid: [lines[rid][f] for f in fields]  # noqa: E731
    # What the filter did not set is null in a JSON access log.
    assert row("req-ok") == [200, "allow", None, "audit-e2e", "allow-rest", None, None]
    assert row("req-denied") == [403, "deny", None, "audit-e2e", "no-admin", None, None]
    assert row("req-pii") == [200, "allow", None, "audit-e2e", "allow-rest", "pii", "email"]


def test_trace_context_passes_untouched_and_every_audit_line_has_the_trace_id(envoy_with, upstream):
    envoy = envoy_with(PII_CONFIG, upstream)
    headers = {"traceparent": TRACEPARENT, "tracestate": "vendor=opaque"}
    with httpx.Client(timeout=10) as c:
        statuses = [
            c.get(envoy.url("/ok"), headers=headers).status_code,
            c.get(envoy.url("/admin"), headers=headers).status_code,
            c.post(envoy.url("/notes"), json={"note": "mail alice@example.com"}, headers=headers).status_code,
        ]
    assert statuses == [200, 403, 200]
    forwarded = [(r.headers.get("traceparent"), r.headers.get("tracestate")) for r in upstream.requests]
    assert forwarded == [(TRACEPARENT, "vendor=opaque")] * 2, "the denied request never left"
    lines = envoy.wait_for_audit(3)
    assert [l["trace_id"] for l in lines] == [TRACE_ID] * 3


def test_shadow_mode_passes_what_it_would_deny_and_redact_unchanged(envoy_with, upstream):
    envoy = envoy_with({**PII_CONFIG, "mode": "shadow"}, upstream, stats_tags=True)
    body = json.dumps({"note": "mail alice@example.com"}).encode()
    with httpx.Client(timeout=10) as c:
        responses = [
            c.get(envoy.url("/admin/users")),
            c.post(envoy.url("/notes"), content=body, headers={"content-type": "application/json"}),
            c.post(envoy.url("/upload"), content=b"z" * 10_000),
            c.get(envoy.url("/ok")),
        ]
    assert [r.status_code for r in responses] == [200] * 4, "nothing is refused in shadow"
    assert not any("x-authensor-decision" in r.headers or b"authensor" in r.content for r in responses)
    assert [r.path for r in upstream.requests] == ["/admin/users", "/notes", "/upload", "/ok"]
    assert upstream.requests[1].body == body, "nothing is redacted in shadow"
    lines = envoy.wait_for_audit(4)
    assert [list(VALIDATOR.iter_errors(l)) for l in lines] == [[]] * 4
    # `rule` is what decided what happened; `would_rule` what decided the would-be refusal.
    seen = [(l["path"], l["decision"], l["rule"], l["mode"], l["would"], l.get("would_rule")) for l in lines]
    assert seen == [
        ("/admin/users", "allow", None, "shadow", "deny", "no-admin"),
        ("/notes", "allow", "allow-rest", "shadow", "redact", None),
        ("/upload", "allow", None, "shadow", "deny", "body.max_bytes"),
        ("/ok", "allow", "allow-rest", "shadow", "allow", None),
    ]
    assert [d["sub_type"] for d in lines[1]["detections"]] == ["email"]
    assert "redactions" not in lines[1], "nothing was redacted"
    prom = envoy.prometheus()
    shadow = lambda **labels: prom.get(("authensor_shadow_decisions_total", frozenset(labels.items())))  # noqa: E731
    assert shadow(outcome="deny", policy="audit-e2e", rule="no-admin") == 1
    assert shadow(outcome="deny", policy="none", rule="body.max_bytes") == 1
    assert shadow(outcome="redact", policy="none", rule="none") == 1
    assert shadow(outcome="allow", policy="audit-e2e", rule="allow-rest") == 1
    assert prom.get(("authensor_requests_total", frozenset({("outcome", "allow")}))) == 4
    assert prom.get(("authensor_denials_total", frozenset({("policy", "audit-e2e"), ("rule", "no-admin")}))) is None


def test_a_shadow_policy_is_audited_while_the_enforced_ones_decide(envoy_with, upstream):
    trial = {
        "id": "trial",
        "name": "stricter egress, being rolled out",
        "version": "0.1.0",
        "priority": 10,
        "rules": [{"id": "no-reports", "effect": "deny", "description": "reports stay in",
                   "condition": {"field": "action.resource", "operator": "contains", "value": "/reports"}}],
    }
    config = {**CONFIG, "policies": [*CONFIG["policies"], trial], "policy_modes": {"trial": "shadow"}}
    envoy = envoy_with(config, upstream)
    with httpx.Client(timeout=10) as c:
        statuses = [c.get(envoy.url(p)).status_code for p in ["/reports/q3", "/admin/reports", "/ok"]]
    assert statuses == [200, 403, 200]
    lines = envoy.wait_for_audit(3)
    assert [list(VALIDATOR.iter_errors(l)) for l in lines] == [[]] * 3
    seen = [(l["decision"], l["rule"], l.get("mode"), l.get("would"), l.get("would_rule")) for l in lines]
    assert seen == [
        ("allow", "allow-rest", "shadow", "deny", "no-reports"),
        ("deny", "no-admin", "shadow", "deny", "no-reports"),
        ("allow", "allow-rest", None, None, None),
    ]


def test_shadow_mode_on_the_mcp_gateway_changes_nothing_agent_or_server_see(mcp_gateway):
    from test_mcp import gateway_config, text_of, tool_names

    stack = mcp_gateway("sse", {**gateway_config(), "mode": "shadow"})

    async def agent(session):
        listed = await session.list_tools()
        shell = await session.call_tool("run_shell", {"command": "ls"})
        page = await session.call_tool("fetch_page", {"url": "https://news.example/today"})
        return listed, shell, page

    listed, shell, page = stack.run(agent)
    assert {"run_shell", "add_numbers"} <= tool_names(listed), "nothing hidden"
    assert shell.isError is False
    assert page.isError is False and "Ignore all previous instructions" in text_of(page), "result unchanged"
    assert stack.server.tools_called() == ["run_shell", "fetch_page"]
    lines = {l.get("action"): l for l in stack.envoy.audit()}
    shell_line, page_line = lines["mcp.files.run_shell"], lines["mcp.files.fetch_page"]
    assert (shell_line["decision"], shell_line["would"], shell_line["would_rule"]) == ("allow", "deny", "no-shell")
    assert (page_line["decision"], page_line["would"]) == ("allow", "redact")
    assert [e["event"] for e in page_line["events"]] == ["result_blocked"]
    assert all(l["mode"] == "shadow" for l in lines.values())
    assert all(list(VALIDATOR.iter_errors(l)) == [] for l in lines.values())


def rbac_denying(key: str, value: str) -> dict:
    """An RBAC filter that refuses requests whose filter state `key` is `value`."""
    principal = {"filter_state": {"key": key, "string_match": {"exact": value}}}
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "DENY", "policies": {"authensor": {"permissions": [{"any": True}], "principals": [principal]}}},
        },
    }


def test_rbac_after_the_filter_can_act_on_its_decision(upstream):
    """The filter in shadow, an RBAC filter after it refusing what the filter would deny: RBAC
    reads `wasm.authensor.would` from the filter state, for bodyless and body-carrying requests."""
    filters = [harness.wasm_filter({**CONFIG, "mode": "shadow"}), rbac_denying("wasm.authensor.would", "deny")]
    with harness.Envoy(harness.bootstrap(filters, upstream.port)) as envoy, httpx.Client(timeout=10) as c:
        statuses = [
            c.get(envoy.url("/admin/users")).status_code,
            c.post(envoy.url("/admin/users"), json={"role": "root"}).status_code,
            c.get(envoy.url("/ok")).status_code,
        ]
    assert statuses == [403, 403, 200]
    assert [r.path for r in upstream.requests] == ["/ok"]


def test_shadow_mode_streams_an_llm_answer_it_would_end_unchanged(envoy_with):
    from llm_upstream import CANARY, LlmUpstream
    from test_llm import ALLOW_ALL, ask

    with LlmUpstream() as llm:
        envoy = envoy_with({**ALLOW_ALL, "mode": "shadow", "aegis": {"canaries": [CANARY]}}, llm)
        text, _ = ask(envoy, "chat", "SCRIPT:canary", True)
        [line] = envoy.wait_for_audit(1)
    assert text == "Some harmless words first. Then the canary: " + CANARY + " and more."
    assert (line["decision"], line["would"], line["would_rule"]) == ("allow", "deny", "aegis")
    assert line["llm"]["blocked_at"] == "stream", "where enforcement would have stopped it"


def test_the_access_log_sees_what_the_filter_found_in_an_llm_answer():
    """Findings made on the answer (a secret redacted on its way back) reach the access-log line:
    the filter publishes them before Envoy writes it."""
    from llm_upstream import SECRET, LlmUpstream
    from test_llm import ALLOW_ALL, ask

    with LlmUpstream() as llm, envoy_logging_access(ALLOW_ALL, llm) as envoy:
        text, _ = ask(envoy, "chat", "SCRIPT:split-secret", False)
        [line] = access_lines(envoy, 1)
    assert SECRET not in text
    assert (line["authensor_decision"], line["authensor_detection_type"]) == ("allow", "credentials")


def test_a_shadow_policy_on_mcp_tool_calls(mcp_gateway):
    from test_mcp import POLICY, gateway_config, text_of

    trial = {
        "id": "trial",
        "name": "no reads under /tmp/private, being rolled out",
        "version": "0.1.0",
        "priority": 10,
        "scope": {"actionTypes": ["mcp.**"]},
        "rules": [{"id": "no-private", "effect": "deny", "description": "private files stay private",
                   "condition": {"field": "action.parameters.path", "operator": "startsWith", "value": "/tmp/private"}}],
    }
    config = {**gateway_config(policies=(POLICY, trial)), "policy_modes": {"trial": "shadow"}}
    stack = mcp_gateway("json", config)
    result = stack.run(lambda s: s.call_tool("read_file", {"path": "/tmp/private/a"}))
    assert result.isError is False and "contents of /tmp/private/a" in text_of(result)
    [line] = [l for l in stack.envoy.wait_for_audit(3) if l.get("action") == "mcp.files.read_file"]
    assert (line["decision"], line["rule"]) == ("allow", "allow-mcp")
    assert (line["mode"], line["would"], line["would_policy"], line["would_rule"]) == ("shadow", "deny", "trial", "no-private")
