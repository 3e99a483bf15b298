//! Policy evaluation time per request with all 15 Authensor templates loaded (target < 2 µs).
//! Harness-free: times N iterations with `Instant` and prints ns/op. Run: `cargo bench --bench policy`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use authensor_filter::config::{parse_strict, AgentConfig};
use authensor_filter::policy::http::http_action;
use authensor_filter::policy::model::PolicyModel;
use authensor_filter::policy::settings::{ApprovalSettings, StateSettings};
use authensor_filter::policy::state::MemoryStore;
use authensor_filter::policy::{Envelope, PolicyEngine, Request};
use authensor_filter::request::RequestFacts;

fn templates() -> Vec<PolicyModel> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/authensor/policy-templates");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| parse_strict(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn compile(models: &[PolicyModel]) -> PolicyEngine {
    PolicyEngine::compile(
        models,
        "policies",
        &|i| format!("policies[{i}]"),
        &ApprovalSettings::default(),
        &StateSettings::default(),
    )
    .unwrap()
}

fn envelope(kind: &str, operation: &str, env: &str, params: &str) -> Envelope {
    serde_json::from_str(&format!(
        r#"{{"action":{{"type":"{kind}","resource":"api.example.com/v1/x","operation":"{operation}","parameters":{params}}},
            "principal":{{"type":"agent","id":"spiffe://cluster.local/ns/agents/sa/coder"}},
            "context":{{"environment":"{env}","sessionId":"s-1"}}}}"#
    ))
    .unwrap()
}

/// Time `f` over `n` iterations after a warm-up; ns per iteration.
fn time(n: u32, mut f: impl FnMut(u32)) -> f64 {
    for i in 0..n / 10 {
        f(i);
    }
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let models = templates();
    assert_eq!(models.len(), 15, "expected the 15 templates");
    let n = 200_000;

    let mix = [
        envelope("filesystem.read", "read", "production", "{}"),
        envelope(
            "filesystem.write",
            "update",
            "production",
            r#"{"path":"/w/a.rs"}"#,
        ),
        envelope("code.exec.npm.install", "execute", "production", "{}"),
        envelope("code.exec.rm", "execute", "production", "{}"),
        envelope(
            "stripe.charges.create",
            "create",
            "production",
            r#"{"amount":500}"#,
        ),
        envelope("http.get", "read", "development", "{}"),
        envelope(
            "mcp.github.create_issue",
            "execute",
            "staging",
            r#"{"title":"x","body":"y"}"#,
        ),
        envelope("unknown.thing", "delete", "production", "{}"),
    ];

    // 1. All 15 in file order: the first unscoped template (code-agent) decides everything.
    let in_order = compile(&models);
    let store = MemoryStore::default();
    let req = Request {
        now_nanos: 1_800_000_000_000_000_000,
        approval_token: None,
    };
    let ns = time(n, |i| {
        black_box(in_order.evaluate(&store, &mix[i as usize % mix.len()], &req));
    });
    println!("policy eval, 15 templates in file order, 8-envelope mix:           {ns:8.0} ns/op");

    // 2. Unscoped templates last: every envelope is checked against the 13 scoped ones first.
    let mut scoped_first = models.clone();
    scoped_first.sort_by_key(|m| m.scope.is_none());
    let scoped = compile(&scoped_first);
    let store = MemoryStore::default();
    let ns = time(n, |i| {
        black_box(scoped.evaluate(&store, &mix[i as usize % mix.len()], &req));
    });
    println!("policy eval, 15 templates, unscoped last (worst-case walk), mix:   {ns:8.0} ns/op");
    // The report's `policy_eval_ns`: the largest template set, worst-case walk (benches/README.md).
    println!("RESULT policy_eval_ns={ns:.0}");

    // 3. A stateless decision (no rate-limit rule reached) and a stateful one (rate-limit hit).
    let stateless = envelope("code.exec.rm", "execute", "production", "{}");
    let ns = time(n, |_| {
        black_box(in_order.evaluate(&store, &stateless, &req));
    });
    println!("policy eval, deny by an `in` rule (no shared state):               {ns:8.0} ns/op");
    let counted = envelope("code.exec.make", "execute", "production", "{}");
    let ns = time(n, |_| {
        black_box(in_order.evaluate(&store, &counted, &req));
    });
    println!("policy eval, rate-limited rule (shared-data read + CAS check):     {ns:8.0} ns/op");

    // 4. Building the envelope of a plain HTTP request.
    let facts = RequestFacts {
        method: "POST".into(),
        authority: "api.example.com".into(),
        path: "/v1/charges".into(),
        raw_path: "/v1/charges?expand=x".into(),
        request_id: "4bf92f3577b34da6".into(),
        content_type: Some("application/json".into()),
        ..RequestFacts::default()
    };
    let agent = AgentConfig::default();
    let body = br#"{"amount": 500, "currency": "usd", "customer": "cus_123"}"#;
    let ns = time(n, |_| {
        let action = http_action(&facts, body).unwrap();
        black_box(Envelope::for_request(&facts, &agent, action, 1));
    });
    println!(
        "HTTP request -> envelope (JSON body of {} bytes):                  {ns:8.0} ns/op",
        body.len()
    );
}
