//! Shadow mode and stream properties driven through the in-memory host: in shadow nothing the
//! client or upstream sees changes, the audit line and metrics say what would have happened.
use super::*;
use crate::decision::Outcome;
use crate::fake_host::FakeHost;
use serde_json::{json, Value};

const POLICY: &str = r#"{"id": "p", "name": "p", "version": "1.0.0", "rules": [
    {"id": "no-admin", "effect": "deny", "description": "admin is off limits",
     "condition": {"field": "action.resource", "operator": "contains", "value": "/admin"}},
    {"id": "rest", "effect": "allow", "description": "the rest"}]}"#;

/// A second policy, evaluated first, that denies what mentions `/new`.
const NEW_POLICY: &str = r#"{"id": "new", "name": "new", "version": "1.0.0", "priority": 5, "rules": [
    {"id": "no-new", "effect": "deny", "description": "not yet",
     "condition": {"field": "action.resource", "operator": "contains", "value": "/new"}}]}"#;

fn exchange(extra: &str) -> Exchange {
    let json =
        format!(r#"{{"body": {{"max_bytes": 256}}, "policies": [{POLICY}, {NEW_POLICY}]{extra}}}"#);
    Exchange::new(Rc::new(Engine::from_json(json.as_bytes()).unwrap()))
}

/// Run a request through headers, body and log; returns the flows and the audit line.
fn run(ex: &mut Exchange, host: &mut FakeHost, body: &[u8]) -> (Vec<Flow>, Value) {
    let mut flows = vec![ex.on_request_headers(host, body.is_empty())];
    if !body.is_empty() {
        host.request_body = body.to_vec();
        flows.push(ex.on_request_body(host, body.len(), true));
    }
    ex.on_log(host);
    let lines = host.audit_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    (flows, serde_json::from_str(&lines[0]).unwrap())
}

fn metric(host: &FakeHost, m: Metric<'_>) -> i64 {
    host.metrics
        .borrow()
        .get(&host.stat(&m))
        .copied()
        .unwrap_or(0)
}

fn property<'h>(host: &'h FakeHost, name: &str) -> &'h str {
    host.stream_properties
        .get(name)
        .map_or("(unset)", String::as_str)
}

#[test]
fn in_shadow_a_denied_request_passes_and_is_audited_as_would_deny() {
    let mut host = FakeHost::request("GET", "/admin/users", &[]);
    let mut ex = exchange(r#", "mode": "shadow""#);
    let (flows, a) = run(&mut ex, &mut host, b"");
    assert_eq!(flows, vec![Flow::Continue]);
    assert!(host.reply.is_none());
    assert_eq!(
        (&a["decision"], &a["mode"], &a["would"]),
        (&json!("allow"), &json!("shadow"), &json!("deny"))
    );
    assert_eq!(
        (&a["would_policy"], &a["would_rule"]),
        (&json!("p"), &json!("no-admin"))
    );
    assert_eq!(a["would_reason"], "admin is off limits");
    let shadow = Metric::Shadow {
        would: "deny",
        policy: Some("p"),
        rule: Some("no-admin"),
    };
    assert_eq!(metric(&host, shadow), 1);
    assert_eq!(metric(&host, Metric::Requests(Outcome::Allow)), 1);
    let denial = Metric::Denial {
        policy: Some("p"),
        rule: Some("no-admin"),
    };
    assert_eq!(
        metric(&host, denial),
        0,
        "a would-be denial is not a denial"
    );
    assert_eq!(property(&host, "authensor.decision"), "allow");
    assert_eq!(property(&host, "authensor.would"), "deny");
}

#[test]
fn in_shadow_an_allowed_request_says_would_allow() {
    let mut host = FakeHost::request("GET", "/ok", &[]);
    let (_, a) = run(&mut exchange(r#", "mode": "shadow""#), &mut host, b"");
    assert_eq!(
        (&a["mode"], &a["would"], &a["rule"]),
        (&json!("shadow"), &json!("allow"), &json!("rest"))
    );
}

#[test]
fn in_shadow_nothing_is_redacted_but_the_line_says_it_would_be() {
    let body = br#"{"note": "write to alice@example.com"}"#;
    let mut host = FakeHost::request("POST", "/notes", &[("content-type", "application/json")]);
    let mut ex = exchange(r#", "mode": "shadow", "aegis": {"pii": {"action": "redact"}}"#);
    let (flows, a) = run(&mut ex, &mut host, body);
    assert_eq!(flows.last(), Some(&Flow::Continue));
    assert_eq!(host.request_body, body, "the body goes upstream unchanged");
    assert_eq!(
        (&a["decision"], &a["would"]),
        (&json!("allow"), &json!("redact"))
    );
    assert_eq!(a["detections"][0]["sub_type"], "email");
    assert!(a.get("redactions").is_none(), "nothing was redacted");
    assert_eq!(metric(&host, Metric::Redactions), 0);
    assert_eq!(property(&host, "authensor.detection_type"), "pii");
    assert_eq!(property(&host, "authensor.detection_sub_type"), "email");
}

#[test]
fn in_shadow_oversized_and_unparseable_bodies_pass_and_are_counted() {
    let mut host = FakeHost::request("POST", "/big", &[]);
    let (flows, a) = run(
        &mut exchange(r#", "mode": "shadow""#),
        &mut host,
        &[b'z'; 300],
    );
    assert_eq!(flows.last(), Some(&Flow::Continue));
    assert!(host.reply.is_none());
    assert_eq!(
        (&a["would"], &a["would_rule"]),
        (&json!("deny"), &json!("body.max_bytes"))
    );

    let mut host = FakeHost::request("POST", "/notes", &[("content-type", "application/json")]);
    let (flows, a) = run(
        &mut exchange(r#", "mode": "shadow""#),
        &mut host,
        b"{\"note\": ",
    );
    assert_eq!(flows.last(), Some(&Flow::Continue));
    assert!(host.reply.is_none());
    assert_eq!(
        (&a["would"], &a["would_rule"]),
        (&json!("deny"), &json!("body"))
    );
    assert_eq!(metric(&host, Metric::ParseFailures { protocol: "http" }), 1);
}

#[test]
fn a_shadow_policy_is_reported_while_enforced_policies_still_decide() {
    let modes = r#", "policy_modes": {"new": "shadow"}"#;
    let mut host = FakeHost::request("GET", "/new/thing", &[]);
    let (flows, a) = run(&mut exchange(modes), &mut host, b"");
    assert_eq!(flows, vec![Flow::Continue]);
    assert_eq!(
        (&a["decision"], &a["rule"]),
        (&json!("allow"), &json!("rest"))
    );
    assert_eq!(
        (&a["mode"], &a["would"], &a["would_rule"]),
        (&json!("shadow"), &json!("deny"), &json!("no-new"))
    );
    // The enforced policy still denies what it denies, the shadow one is only reported.
    let mut host = FakeHost::request("GET", "/new/admin", &[]);
    let (flows, a) = run(&mut exchange(modes), &mut host, b"");
    assert_eq!(flows, vec![Flow::Pause]);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(403));
    assert_eq!(
        (&a["decision"], &a["rule"], &a["would"]),
        (&json!("deny"), &json!("no-admin"), &json!("deny"))
    );
    // Without a shadow policy deciding, the line is an ordinary one.
    let mut host = FakeHost::request("GET", "/ok", &[]);
    let (_, a) = run(&mut exchange(modes), &mut host, b"");
    assert!(a.get("mode").is_none() && a.get("would").is_none(), "{a}");
}

#[test]
fn enforced_decisions_are_published_as_stream_properties() {
    let mut host = FakeHost::request("GET", "/admin", &[]);
    run(&mut exchange(""), &mut host, b"");
    let names = properties::NAMES.map(|n| property(&host, n));
    assert_eq!(
        names,
        ["deny", "(unset)", "p", "no-admin", "(unset)", "(unset)"]
    );
    let mut host = FakeHost::request("GET", "/fine", &[]);
    run(&mut exchange(""), &mut host, b"");
    let names = properties::NAMES.map(|n| property(&host, n));
    assert_eq!(
        names,
        ["allow", "(unset)", "p", "rest", "(unset)", "(unset)"]
    );
}

/// An LLM call with a canary configured; returns the exchange and host after the request.
fn llm_call(mode: &str) -> (Exchange, FakeHost) {
    llm_call_with(&format!(
        r#"{{"mode": "{mode}", "policies": [{POLICY}], "aegis": {{"canaries": ["canary-3f9a1c77"]}}}}"#
    ))
}

fn llm_call_with(json: &str) -> (Exchange, FakeHost) {
    let mut ex = Exchange::new(Rc::new(Engine::from_json(json.as_bytes()).unwrap()));
    let mut host = FakeHost::request(
        "POST",
        "/v1/chat/completions",
        &[
            (":authority", "api.example.com"),
            ("content-type", "application/json"),
        ],
    );
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    host.request_body = body.clone().into_bytes();
    ex.on_request_headers(&mut host, false);
    assert_eq!(
        ex.on_request_body(&mut host, body.len(), true),
        Flow::Continue
    );
    (ex, host)
}

fn answer_with(ex: &mut Exchange, host: &mut FakeHost, content_type: &str, body: &[u8]) -> Flow {
    host.response_headers = vec![
        (":status".into(), "200".into()),
        ("content-type".into(), content_type.into()),
    ];
    ex.on_response_headers(host, false);
    host.response_body = body.to_vec();
    ex.on_response_body(host, body.len(), true)
}

fn chat_answer(text: &str) -> Vec<u8> {
    chat_message(json!({"role": "assistant", "content": text}))
}

fn chat_message(message: Value) -> Vec<u8> {
    json!({"id": "x", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
    .to_string()
    .into_bytes()
}

fn sse_chunks(texts: &[&str]) -> Vec<u8> {
    texts
        .iter()
        .map(|t| {
            let event = json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]});
            format!("data: {event}\n\n")
        })
        .collect::<String>()
        .into_bytes()
}

#[test]
fn an_answer_refusal_is_counted_by_rule_when_enforced_and_passes_in_shadow() {
    let body = chat_answer("the canary-3f9a1c77 is here");
    let (mut ex, mut host) = llm_call("enforce");
    assert_eq!(
        answer_with(&mut ex, &mut host, "application/json", &body),
        Flow::Pause
    );
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(403));
    ex.on_log(&mut host);
    let denial = Metric::Denial {
        policy: None,
        rule: Some("aegis"),
    };
    assert_eq!(
        metric(&host, denial),
        1,
        "denied at answer time, counted by rule"
    );
    assert_eq!(property(&host, "authensor.decision"), "deny");
    // The request's allow named a policy; the answer's denial names none, so it is cleared.
    let rule = (
        property(&host, "authensor.policy"),
        property(&host, "authensor.rule"),
    );
    assert_eq!(rule, ("-", "aegis"));

    let (mut ex, mut host) = llm_call("shadow");
    assert_eq!(
        answer_with(&mut ex, &mut host, "application/json", &body),
        Flow::Continue
    );
    assert!(host.reply.is_none());
    assert_eq!(
        host.response_body, body,
        "the answer reaches the client unchanged"
    );
    ex.on_log(&mut host);
    let a: Value = serde_json::from_str(&host.audit_lines()[0]).unwrap();
    assert_eq!(
        (&a["decision"], &a["would"], &a["would_rule"]),
        (&json!("allow"), &json!("deny"), &json!("aegis"))
    );
    assert_eq!(metric(&host, denial), 0);
    let shadow = Metric::Shadow {
        would: "deny",
        policy: None,
        rule: Some("aegis"),
    };
    assert_eq!(metric(&host, shadow), 1);
}

#[test]
fn in_shadow_a_stream_that_would_be_ended_streams_on_unchanged() {
    let (mut ex, mut host) = llm_call("shadow");
    host.response_headers = vec![("content-type".into(), "text/event-stream".into())];
    ex.on_response_headers(&mut host, false);
    let chunks = [
        sse_chunks(&["harmless words. "]),
        sse_chunks(&["then canary-3f9a1c77 and"]),
        sse_chunks(&[" more words."]),
    ];
    for (i, chunk) in chunks.iter().enumerate() {
        host.response_body = chunk.clone();
        let flow = ex.on_response_body(&mut host, chunk.len(), i + 1 == chunks.len());
        assert_eq!(
            (flow, &host.response_body),
            (Flow::Continue, chunk),
            "chunk {i} unchanged"
        );
    }
    ex.on_log(&mut host);
    let a: Value = serde_json::from_str(&host.audit_lines()[0]).unwrap();
    assert_eq!(
        (&a["decision"], &a["would"], &a["would_rule"]),
        (&json!("allow"), &json!("deny"), &json!("aegis"))
    );
    assert_eq!(property(&host, "authensor.would"), "deny");
}

#[test]
fn a_tool_call_a_shadow_policy_would_refuse_passes_and_is_the_lines_would() {
    let tools = r#"{"id": "tools", "name": "t", "version": "1.0.0", "priority": 5, "rules": [
        {"id": "no-bash", "effect": "deny", "description": "no shell from the model",
         "condition": {"field": "action.type", "operator": "endsWith", "value": "tool_call.bash"}}]}"#;
    let config =
        format!(r#"{{"policies": [{POLICY}, {tools}], "policy_modes": {{"tools": "shadow"}}}}"#);
    let (mut ex, mut host) = llm_call_with(&config);
    let call = json!([{"id": "c1", "type": "function",
        "function": {"name": "bash", "arguments": json!({"command": "ls -l"}).to_string()}}]);
    let body = chat_message(json!({"role": "assistant", "content": "", "tool_calls": call}));
    assert_eq!(
        answer_with(&mut ex, &mut host, "application/json", &body),
        Flow::Continue
    );
    assert!(host.reply.is_none());
    ex.on_log(&mut host);
    let a: Value = serde_json::from_str(&host.audit_lines()[0]).unwrap();
    assert_eq!(
        (&a["decision"], &a["rule"]),
        (&json!("allow"), &json!("rest"))
    );
    assert_eq!(
        (&a["mode"], &a["would"], &a["would_rule"]),
        (&json!("shadow"), &json!("deny"), &json!("no-bash"))
    );
    assert_eq!(a["llm"]["tool_calls"][0], "llm.openai.tool_call.bash");
}
