//! The 15 Authensor policy templates, read in place from ../shared: each loads without error and
//! allows one request and denies or holds another, through the engine.

use std::path::PathBuf;

use authensor_filter::config::{parse_strict, Engine};
use authensor_filter::decision::Outcome;
use authensor_filter::policy::model::PolicyModel;
use authensor_filter::policy::settings::{ApprovalSettings, StateSettings};
use authensor_filter::policy::state::MemoryStore;
use authensor_filter::policy::{Envelope, PolicyEngine, Request};

fn templates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/authensor/policy-templates")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(templates_dir().join(name)).unwrap()
}

fn template(name: &str) -> PolicyEngine {
    let model: PolicyModel = parse_strict(&read(name)).unwrap();
    PolicyEngine::compile(
        &[model],
        "",
        &|_| String::new(),
        &ApprovalSettings::default(),
        &StateSettings::default(),
    )
    .unwrap()
}

/// An envelope for `kind` with `operation`, plus optional environment and amount.
fn envelope(
    kind: &str,
    operation: &str,
    environment: Option<&str>,
    amount: Option<u64>,
) -> Envelope {
    let context = environment.map_or(String::new(), |e| {
        format!(r#","context":{{"environment":"{e}"}}"#)
    });
    let constraints = amount.map_or(String::new(), |a| {
        format!(r#","constraints":{{"maxAmount":{a}}}"#)
    });
    serde_json::from_str(&format!(
        r#"{{"action":{{"type":"{kind}","resource":"r","operation":"{operation}"}},"principal":{{"type":"agent","id":"a"}}{context}{constraints}}}"#
    ))
    .unwrap()
}

struct Case {
    file: &'static str,
    allow: (Envelope, Option<&'static str>),
    stop: (Envelope, Outcome, Option<&'static str>),
}

fn cases() -> Vec<Case> {
    use Outcome::{Deny, RequireApproval};
    let e = envelope;
    vec![
        Case {
            file: "code-agent.json",
            allow: (
                e("filesystem.read", "read", None, None),
                Some("allow-file-reads"),
            ),
            stop: (
                e("code.exec.rm", "execute", None, None),
                Deny,
                Some("deny-destructive"),
            ),
        },
        Case {
            file: "customer-support.json",
            allow: (
                e("ticketing.ticket", "read", None, None),
                Some("allow-read-tickets"),
            ),
            stop: (e("crm.purge", "delete", None, None), Deny, None),
        },
        Case {
            file: "data-pipeline.json",
            allow: (e("data.query", "read", None, None), Some("allow-read-data")),
            stop: (
                e("data.transform", "execute", None, None),
                RequireApproval,
                Some("approve-transform"),
            ),
        },
        Case {
            file: "database-agent.json",
            allow: (e("sql.select", "read", None, None), Some("allow-select")),
            stop: (e("sql.drop", "delete", None, None), Deny, Some("deny-ddl")),
        },
        Case {
            file: "email-comms.json",
            allow: (
                e("email.inbox", "read", None, None),
                Some("allow-read-messages"),
            ),
            stop: (
                e("email.send", "create", None, None),
                RequireApproval,
                Some("approve-send-email"),
            ),
        },
        Case {
            file: "eu-ai-act-high-risk.json",
            allow: (
                e("crm.lookup", "read", Some("production"), None),
                Some("allow-reads-with-logging"),
            ),
            stop: (
                e("crm.update", "update", Some("staging"), None),
                RequireApproval,
                Some("approve-all-updates"),
            ),
        },
        Case {
            file: "financial-compliance.json",
            allow: (
                e("finance.invoice", "create", Some("production"), None),
                Some("rate-limit-transactions"),
            ),
            stop: (
                e("finance.payment", "create", Some("production"), Some(5_000)),
                RequireApproval,
                Some("approve-transaction-small"),
            ),
        },
        Case {
            file: "github-agent.json",
            allow: (
                e("github.repos", "read", None, None),
                Some("allow-read-ops"),
            ),
            stop: (e("github.delete", "delete", None, None), Deny, None),
        },
        Case {
            file: "healthcare-agent.json",
            allow: (
                e("patient.lookup", "execute", Some("production"), None),
                Some("rate-limit-phi-access"),
            ),
            stop: (
                e("ehr.export", "read", Some("production"), None),
                Deny,
                None,
            ),
        },
        Case {
            file: "infrastructure.json",
            allow: (
                e("aws.describe", "read", None, None),
                Some("allow-describe-list"),
            ),
            stop: (
                e("aws.create", "create", None, None),
                RequireApproval,
                Some("approve-create-resources"),
            ),
        },
        Case {
            file: "mcp-gateway.json",
            allow: (
                e("mcp.tools", "read", None, None),
                Some("allow-tool-discovery"),
            ),
            stop: (
                e("mcp.fs", "delete", None, None),
                RequireApproval,
                Some("approve-delete-ops"),
            ),
        },
        Case {
            file: "minimal-starter.json",
            allow: (
                e("anything.at.all", "read", None, None),
                Some("allow-reads"),
            ),
            stop: (e("anything.at.all", "execute", None, None), Deny, None),
        },
        Case {
            file: "payment-agent.json",
            allow: (e("stripe.charges", "read", None, None), Some("allow-reads")),
            stop: (e("stripe.transfer", "create", None, Some(100)), Deny, None),
        },
        Case {
            file: "production-lockdown.json",
            allow: (
                e("db.query", "read", Some("production"), None),
                Some("rate-limit-reads"),
            ),
            stop: (
                e("db.drop", "delete", Some("production"), None),
                RequireApproval,
                Some("approve-all-mutations"),
            ),
        },
        Case {
            file: "research-browsing.json",
            allow: (
                e("http.get", "read", None, None),
                Some("allow-get-requests"),
            ),
            stop: (
                e("http.delete", "delete", None, None),
                Deny,
                Some("deny-delete-requests"),
            ),
        },
    ]
}

#[test]
fn every_template_allows_one_request_and_stops_another() {
    let cases = cases();
    let mut files: Vec<String> = std::fs::read_dir(templates_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut covered: Vec<&str> = cases.iter().map(|c| c.file).collect();
    covered.sort();
    assert_eq!(files, covered, "one case per template");
    for case in &cases {
        let engine = template(case.file);
        let store = MemoryStore::default();
        let v = engine.evaluate(&store, &case.allow.0, &Request::default());
        assert_eq!(
            (v.outcome, v.rule_id),
            (Outcome::Allow, case.allow.1),
            "{} allow",
            case.file
        );
        let v = engine.evaluate(&store, &case.stop.0, &Request::default());
        assert_eq!(
            (v.outcome, v.rule_id),
            (case.stop.1, case.stop.2),
            "{} stop",
            case.file
        );
        assert!(
            v.policy_id.is_some(),
            "{} decided by the template",
            case.file
        );
    }
}

#[test]
fn environment_scoped_templates_do_not_apply_without_an_environment() {
    // Authensor would apply these to an envelope without environment; we fail closed instead.
    for file in [
        "production-lockdown.json",
        "eu-ai-act-high-risk.json",
        "healthcare-agent.json",
        "financial-compliance.json",
    ] {
        let engine = template(file);
        let v = engine.evaluate(
            &MemoryStore::default(),
            &envelope("patient.lookup", "read", None, None),
            &Request::default(),
        );
        assert_eq!((v.outcome, v.policy_id), (Outcome::Deny, None), "{file}");
    }
}

#[test]
fn rate_limit_rules_of_templates_are_enforced() {
    let engine = template("healthcare-agent.json");
    let store = MemoryStore::default();
    let call = envelope("patient.lookup", "execute", Some("production"), None);
    let outcomes: Vec<Outcome> = (0..21)
        .map(|_| engine.evaluate(&store, &call, &Request::default()).outcome)
        .collect();
    assert!(outcomes[..20].iter().all(|o| *o == Outcome::Allow));
    assert_eq!(
        outcomes[20],
        Outcome::RateLimited,
        "21st call within the hour"
    );
}

#[test]
fn all_fifteen_load_together_in_a_filter_configuration() {
    let mut names: Vec<_> = std::fs::read_dir(templates_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let policies: Vec<serde_json::Value> = names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    let config = serde_json::json!({ "policies": policies });
    let engine = Engine::from_json(config.to_string().as_bytes()).unwrap();
    assert_eq!(engine.policy.policies.len(), 15);
    // None sets a priority: the first unscoped template in the list decides everything.
    let v = engine.policy.evaluate(
        &MemoryStore::default(),
        &envelope("stripe.charges", "read", None, None),
        &Request::default(),
    );
    assert_eq!(v.policy_id, Some("code-agent-safety"));
}
