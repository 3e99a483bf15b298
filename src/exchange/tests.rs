//! The exchange driven through the in-memory host: flows, replies and audit lines.
use super::*;
use crate::fake_host::FakeHost;
use crate::policy::approval::{mint, params_digest, ApprovalKey, Binding};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const CONFIG: &str = r#"{
    "body": {"max_bytes": 64},
    "approval": {"key": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    "policies": [{
        "id": "test", "name": "test", "version": "1.0.0",
        "rules": [
            {"id": "no-admin", "effect": "deny", "description": "admin is off limits",
             "condition": {"field": "action.resource", "operator": "matches", "value": "^[^/]*/admin(/|$)"}},
            {"id": "no-secret", "effect": "deny", "description": "secret marker in body",
             "condition": {"field": "action.parameters.note", "operator": "contains", "value": "TOPSECRET"}},
            {"id": "approve-deletes", "effect": "require_approval", "description": "deletes need a human",
             "condition": {"field": "action.operation", "operator": "eq", "value": "delete"},
             "approvalConfig": {"requiredApprovals": 1, "expiresIn": "30m"}},
            {"id": "limited", "effect": "allow", "description": "two per minute",
             "condition": {"field": "action.resource", "operator": "startsWith", "value": "/limited"},
             "rateLimit": {"requests": 2, "window": "1m", "scope": "principal"}},
            {"id": "allow-rest", "effect": "allow", "description": "everything else"}
        ]
    }]
}"#;

fn exchange(config: &str) -> Exchange {
    Exchange::new(Rc::new(Engine::from_json(config.as_bytes()).unwrap()))
}

fn audit_of(host: &FakeHost) -> serde_json::Value {
    let lines = host.audit_lines();
    assert_eq!(lines.len(), 1, "exactly one audit line: {lines:?}");
    serde_json::from_str(&lines[0]).unwrap()
}

fn reply_json(host: &FakeHost) -> serde_json::Value {
    serde_json::from_slice(&host.reply.as_ref().unwrap().2).unwrap()
}

/// Feed a body in chunks as the proxy would, returning the flow of every callback.
fn send(ex: &mut Exchange, host: &mut FakeHost, chunks: &[&[u8]]) -> Vec<Flow> {
    let mut flows = vec![ex.on_request_headers(host, chunks.is_empty())];
    for (i, chunk) in chunks.iter().enumerate() {
        host.request_body.extend_from_slice(chunk);
        let size = host.request_body.len();
        flows.push(ex.on_request_body(host, size, i + 1 == chunks.len()));
    }
    ex.on_log(host);
    flows
}

#[test]
fn allowed_get_continues_and_is_audited_with_policy_rule_and_action() {
    let mut host = FakeHost::request("GET", "/ok", &[("x-request-id", "r1")]);
    let mut ex = exchange(CONFIG);
    assert_eq!(send(&mut ex, &mut host, &[]), vec![Flow::Continue]);
    assert!(host.reply.is_none());
    let a = audit_of(&host);
    assert_eq!(
        (a["decision"].as_str(), a["request_id"].as_str()),
        (Some("allow"), Some("r1"))
    );
    assert_eq!(
        (
            a["policy"].as_str(),
            a["rule"].as_str(),
            a["action"].as_str()
        ),
        (Some("test"), Some("allow-rest"), Some("http.get"))
    );
}

#[test]
fn denied_path_gets_403_json_and_never_continues() {
    let mut host = FakeHost::request("GET", "/x/../admin/", &[("x-request-id", "r2")]);
    let mut ex = exchange(CONFIG);
    assert_eq!(send(&mut ex, &mut host, &[]), vec![Flow::Pause]);
    let (status, headers, _) = host.reply.clone().unwrap();
    assert_eq!(status, 403);
    assert!(headers.contains(&("x-authensor-decision".into(), "deny".into())));
    let body = reply_json(&host);
    assert_eq!(body["error"]["type"], "policy_denied");
    assert_eq!(body["error"]["rule"], "no-admin");
    assert_eq!(body["error"]["policy"], "test");
    assert_eq!(body["error"]["reason"], "admin is off limits");
    assert_eq!(body["error"]["request_id"], "r2");
    let a = audit_of(&host);
    assert_eq!(
        (a["decision"].as_str(), a["status"].as_u64()),
        (Some("deny"), Some(403))
    );
}

#[test]
fn body_split_across_chunks_is_decided_whole() {
    let mut host = FakeHost::request("POST", "/upload", &[("content-type", "application/json")]);
    let mut ex = exchange(CONFIG);
    let flows = send(
        &mut ex,
        &mut host,
        &[br#"{"note":"aaa TOP"#, b"SEC", br#"RET bbb"}"#],
    );
    assert_eq!(
        flows,
        vec![Flow::Pause, Flow::Pause, Flow::Pause, Flow::Pause]
    );
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(403));
    assert_eq!(audit_of(&host)["rule"], "no-secret");
}

#[test]
fn clean_body_continues_after_the_last_chunk() {
    let mut host = FakeHost::request("POST", "/upload", &[]);
    let mut ex = exchange(CONFIG);
    let flows = send(&mut ex, &mut host, &[b"hello ", b"world"]);
    assert_eq!(flows, vec![Flow::Pause, Flow::Pause, Flow::Continue]);
    let a = audit_of(&host);
    assert_eq!(
        (a["body_bytes"].as_u64(), a["action"].as_str()),
        (Some(11), Some("http.post"))
    );
}

#[test]
fn invalid_json_body_is_refused_with_400() {
    let mut host = FakeHost::request("POST", "/upload", &[("content-type", "application/json")]);
    let mut ex = exchange(CONFIG);
    send(&mut ex, &mut host, &[b"{\"note\": "]);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(400));
    assert_eq!(reply_json(&host)["error"]["type"], "invalid_body");
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let mut host = FakeHost::request("GET", "/limited/x", &[]);
    let statuses: Vec<Option<u32>> = (0..3)
        .map(|_| {
            host.reply = None;
            send(&mut exchange(CONFIG), &mut host, &[]);
            host.reply.as_ref().map(|r| r.0)
        })
        .collect();
    assert_eq!(statuses, vec![None, None, Some(429)]);
    let (_, headers, _) = host.reply.clone().unwrap();
    let retry: u64 = headers
        .iter()
        .find(|(k, _)| k == "retry-after")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = reply_json(&host);
    assert_eq!(body["error"]["type"], "rate_limited");
    assert_eq!(body["error"]["retry_after"], retry);
    assert_eq!(host.audit_lines().len(), 3);
}

#[test]
fn approval_required_then_a_token_passes_exactly_once() {
    let mut host = FakeHost::request("DELETE", "/items/7", &[]);
    send(&mut exchange(CONFIG), &mut host, &[]);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(403));
    let body = reply_json(&host);
    assert_eq!(body["error"]["type"], "approval_required");
    let approval = &body["error"]["approval"];
    assert!(approval["reference"].as_str().unwrap().starts_with("apr_"));
    assert_eq!(approval["action"], "http.delete");
    assert_eq!(approval["resource"], "/items/7");
    assert_eq!(audit_of(&host)["approval"], approval["reference"]);

    let key = ApprovalKey::from_hex(KEY).unwrap();
    let binding = Binding {
        principal: "",
        action: "http.delete",
        resource: "/items/7",
        params_sha256: params_digest(&serde_json::json!({})),
    };
    let token = mint(&key, &binding, [1; 16], 4_000_000_000);
    let header = [("x-authensor-approval", token.as_str())];
    let mut host = FakeHost::request("DELETE", "/items/7", &header);
    send(&mut exchange(CONFIG), &mut host, &[]);
    assert!(host.reply.is_none(), "approved call goes through");
    assert!(
        host.request_headers
            .iter()
            .all(|(k, _)| k != "x-authensor-approval"),
        "token stripped"
    );
    // Same token again (another exchange, same shared data): used up.
    let shared = host.shared.take();
    let mut again = FakeHost::request("DELETE", "/items/7", &header);
    again.shared.replace(shared);
    send(&mut exchange(CONFIG), &mut again, &[]);
    assert_eq!(again.reply.as_ref().map(|r| r.0), Some(403));
    assert!(reply_json(&again)["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("already been used"));
    // A token for another resource does not approve this one.
    let mut other = FakeHost::request("DELETE", "/items/8", &header);
    send(&mut exchange(CONFIG), &mut other, &[]);
    assert!(reply_json(&other)["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("does not match"));
}

#[test]
fn no_policies_means_fail_closed() {
    let mut host = FakeHost::request("GET", "/", &[]);
    send(&mut exchange(""), &mut host, &[]);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(403));
    assert_eq!(
        reply_json(&host)["error"]["reason"],
        "No matching policy found (fail-closed)"
    );
}

#[test]
fn oversize_body_gets_413_or_passes_unscanned_when_configured() {
    let big = [b'x'; 40];
    let mut host = FakeHost::request("POST", "/", &[]);
    let mut ex = exchange(CONFIG);
    let flows = send(&mut ex, &mut host, &[&big, &big, &big]);
    assert_eq!(flows[2], Flow::Pause);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(413));
    assert_eq!(audit_of(&host)["rule"], "body.max_bytes");

    let pass = r#"{"body": {"max_bytes": 64, "on_oversize": "pass"}}"#;
    let mut host = FakeHost::request("POST", "/", &[]);
    let mut ex = exchange(pass);
    let flows = send(&mut ex, &mut host, &[&big, &big, &big]);
    assert_eq!(
        flows,
        vec![Flow::Pause, Flow::Pause, Flow::Continue, Flow::Continue]
    );
    assert!(host.reply.is_none());
    let a = audit_of(&host);
    assert_eq!(a["decision"], "allow");
    assert!(a["reasons"][0]
        .as_str()
        .unwrap()
        .contains("passed unscanned"));
}

#[test]
fn declared_oversize_is_refused_before_the_body_arrives() {
    let mut host = FakeHost::request("POST", "/", &[("content-length", "1000")]);
    let mut ex = exchange(CONFIG);
    assert_eq!(ex.on_request_headers(&mut host, false), Flow::Pause);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(413));
}

#[test]
fn headers_go_ahead_when_holding_is_off_but_the_body_is_still_held() {
    let config = CONFIG.replace(
        r#""max_bytes": 64"#,
        r#""max_bytes": 64, "hold_headers": false"#,
    );
    let mut host = FakeHost::request("POST", "/notes", &[]);
    let mut ex = exchange(&config);
    let flows = send(&mut ex, &mut host, &[br#"{"note": "TOP"#, br#"SECRET"}"#]);
    assert_eq!(flows, vec![Flow::Continue, Flow::Pause, Flow::Pause]);
    assert_eq!(host.reply.as_ref().map(|r| r.0), Some(403));
}

#[test]
fn aborted_request_is_still_audited() {
    let mut host = FakeHost::request("POST", "/", &[]);
    let mut ex = exchange(CONFIG);
    ex.on_request_headers(&mut host, false);
    ex.on_log(&mut host);
    assert_eq!(audit_of(&host)["rule"], "stream");
}

#[test]
fn allowed_lines_can_be_turned_off() {
    let mut host = FakeHost::request("GET", "/", &[]);
    let config = CONFIG.replacen('{', r#"{"audit": {"log_allowed": false},"#, 1);
    let mut ex = exchange(&config);
    send(&mut ex, &mut host, &[]);
    assert!(host.reply.is_none());
    assert!(host.audit_lines().is_empty());
}

/// Headers, then body chunks that never end the stream, then trailers with `fields` fields.
fn send_with_trailers(ex: &mut Exchange, host: &mut FakeHost, body: &[u8], fields: usize) -> Flow {
    assert_eq!(ex.on_request_headers(host, false), Flow::Pause);
    host.request_body = body.to_vec();
    if !body.is_empty() {
        assert_eq!(ex.on_request_body(host, body.len(), false), Flow::Pause);
    }
    let flow = ex.on_request_trailers(host, fields);
    ex.on_log(host);
    flow
}

#[test]
fn request_trailers_are_refused_and_never_release_the_body() {
    for body in [&br#"{"note": "fine"}"#[..], b""] {
        let mut host = FakeHost::request("POST", "/x", &[("content-type", "application/json")]);
        let mut ex = exchange(CONFIG);
        assert_eq!(send_with_trailers(&mut ex, &mut host, body, 2), Flow::Pause);
        let (status, _, _) = host.reply.as_ref().unwrap();
        assert_eq!(*status, 400);
        assert_eq!(reply_json(&host)["error"]["type"], "trailers_unsupported");
        let a = audit_of(&host);
        assert_eq!(
            (a["decision"].as_str(), a["rule"].as_str()),
            (Some("deny"), Some("request.trailers"))
        );
    }
}

#[test]
fn empty_request_trailers_end_the_body_which_is_then_decided() {
    let mut host = FakeHost::request("POST", "/x", &[("content-type", "application/json")]);
    let mut ex = exchange(CONFIG);
    let flow = send_with_trailers(&mut ex, &mut host, br#"{"note": "TOPSECRET plans"}"#, 0);
    assert_eq!(flow, Flow::Pause);
    assert_eq!(reply_json(&host)["error"]["rule"], "no-secret");

    let mut host = FakeHost::request("POST", "/x", &[("content-type", "application/json")]);
    let mut ex = exchange(CONFIG);
    assert_eq!(
        send_with_trailers(&mut ex, &mut host, br#"{"note": "ok"}"#, 0),
        Flow::Continue
    );
    assert!(host.reply.is_none());
}

#[test]
fn compressed_bodies_are_refused_or_passed_with_a_note_when_configured() {
    let gz: &[u8] = &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x4b, 0x4c, 0x2a];
    let headers = [("content-type", "text/plain"), ("content-encoding", "GZip")];
    let mut host = FakeHost::request("POST", "/x", &headers);
    let mut ex = exchange(CONFIG);
    assert_eq!(
        send(&mut ex, &mut host, &[gz]),
        vec![Flow::Pause, Flow::Pause]
    );
    assert_eq!(host.reply.as_ref().unwrap().0, 415);
    let error = &reply_json(&host)["error"];
    assert_eq!(
        (error["type"].as_str(), error["rule"].as_str()),
        (Some("compressed_body"), Some("body.on_compressed"))
    );

    let passing = CONFIG.replace(
        r#""max_bytes": 64"#,
        r#""max_bytes": 64, "on_compressed": "pass""#,
    );
    let mut host = FakeHost::request("POST", "/x", &headers);
    let mut ex = exchange(&passing);
    assert_eq!(
        send(&mut ex, &mut host, &[gz]),
        vec![Flow::Pause, Flow::Continue]
    );
    let a = audit_of(&host);
    assert_eq!(a["decision"], "allow");
    assert!(
        a["reasons"]
            .to_string()
            .contains("passed unscanned (body.on_compressed: pass)"),
        "{a}"
    );
    // Policy still decides on what it can see without the body.
    let mut host = FakeHost::request("POST", "/admin", &headers);
    let mut ex = exchange(&passing);
    send(&mut ex, &mut host, &[gz]);
    assert_eq!(host.reply.as_ref().unwrap().0, 403);
}
