//! Policy evaluation on arbitrary envelopes: `<envelope JSON> 0xFF <approval token> 0xFF
//! <policies JSON>`. Without policies, a fixed set using every operator, rate limits, sessions
//! and constraints decides. Properties: no panic; the same envelope against fresh state always
//! gets the same verdict; a verdict names the policy that decided or fails closed.
#![no_main]

use authensor_filter::config::{ConfigError, Engine};
use authensor_filter::decision::Outcome;
use authensor_filter::policy::evaluate::NO_POLICY;
use authensor_filter::policy::model::PolicyModel;
use authensor_filter::policy::settings::{ApprovalSettings, StateSettings};
use authensor_filter::policy::state::MemoryStore;
use authensor_filter::policy::{Envelope, PolicyEngine, Request};
use authensor_filter_fuzz::parts;
use libfuzzer_sys::fuzz_target;

const CONFIG: &str = include_str!("../seeds/policy_eval.config.json");

thread_local! {
    static FIXED: Engine = Engine::from_json(CONFIG.as_bytes()).expect("fixed policies compile");
}

fn compile(policies: &[u8]) -> Option<Result<PolicyEngine, ConfigError>> {
    let models: Vec<PolicyModel> = serde_json::from_slice(policies).ok()?;
    Some(PolicyEngine::compile(
        &models,
        "policies",
        &|i| format!("policies[{i}]"),
        &ApprovalSettings::default(),
        &StateSettings::default(),
    ))
}

fn check(engine: &PolicyEngine, envelope: &Envelope, token: Option<&str>) {
    let req = Request {
        now_nanos: 1_800_000_000_000_000_000,
        approval_token: token,
    };
    let first = engine.evaluate(&MemoryStore::default(), envelope, &req);
    let again = engine.evaluate(&MemoryStore::default(), envelope, &req);
    assert_eq!(
        first, again,
        "evaluation is a function of envelope and state"
    );
    if first.policy_id.is_none() {
        assert_eq!(first.outcome, Outcome::Deny, "{first:?}");
    }
    if first.outcome == Outcome::Allow {
        assert!(
            first.policy_id.is_some(),
            "an allow names its policy: {first:?}"
        );
    }
    if first.reason == NO_POLICY {
        assert_eq!((first.outcome, first.rule_id), (Outcome::Deny, None));
    }
    // Rate limits and sessions write state: the second request on the same store is decided too.
    let store = MemoryStore::default();
    for _ in 0..3 {
        engine.evaluate(&store, envelope, &req);
    }
}

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 3);
    let Ok(envelope) = serde_json::from_slice::<Envelope>(p[0]) else {
        return;
    };
    let token = std::str::from_utf8(p[1]).ok().filter(|t| !t.is_empty());
    match compile(p[2]) {
        Some(Ok(engine)) => check(&engine, &envelope, token),
        Some(Err(_)) => {}
        None => FIXED.with(|e| check(&e.policy, &envelope, token)),
    }
});
