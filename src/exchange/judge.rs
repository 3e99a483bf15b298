//! The one place where policy and scanner results become a decision: an action envelope is built
//! for the request, the scanner's detections are attached to it (`aegis.*` for conditions), the
//! policies decide, and a detection whose configured action is `block` denies what policy allowed.

use crate::aegis::{Action as ScanAction, Finding, ScanReport};
use crate::config::Engine;
use crate::decision::Decision;
use crate::detection::Detection;
use crate::host::Host;
use crate::policy::aegis::Aegis;
use crate::policy::state::SharedStore;
use crate::policy::{Action, Envelope, Request};
use crate::request::RequestFacts;

use super::BodyVerdict;

/// Rule id of denials made by the scanner's `block` action.
pub const SCAN_RULE: &str = "aegis";
/// Rule id of denials because content could not be scanned completely.
pub const UNSCANNABLE_RULE: &str = "aegis.unscannable";

/// What the scanner found in an action's content, as policy conditions see it (`aegis.*`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scan<'a> {
    pub findings: &'a [Finding],
    /// The role of the text each finding was found in (LLM messages), parallel to `findings`;
    /// empty when the content has no roles.
    pub roles: &'a [&'static str],
    /// False when the content went unscanned (`aegis.scanned` is then false).
    pub scanned: bool,
}

impl<'a> Scan<'a> {
    pub fn of(findings: &'a [Finding]) -> Scan<'a> {
        Scan {
            findings,
            roles: &[],
            scanned: true,
        }
    }

    pub fn with_roles(findings: &'a [Finding], roles: &'a [&'static str]) -> Scan<'a> {
        Scan {
            findings,
            roles,
            scanned: true,
        }
    }
}

/// Decide on `action` with the scanner's results attached, against the proxy's shared state
/// (rate limits, sessions, used approval tokens); returns the decision and the action type.
pub fn decide(
    engine: &Engine,
    facts: &RequestFacts,
    store: &(impl SharedStore + ?Sized),
    now_nanos: u64,
    action: Action,
    scan: Scan<'_>,
    approval_token: Option<&str>,
) -> (Decision, String) {
    let mut envelope = Envelope::for_request(facts, &engine.agent, action, now_nanos);
    if scan.scanned {
        let detections: Vec<Detection> =
            scan.findings.iter().map(|f| f.detection.clone()).collect();
        envelope.aegis = Aegis::from_detections(&detections).with_roles(scan.roles);
    }
    let findings = scan.findings;
    let request = Request {
        now_nanos,
        approval_token,
    };
    let verdict = engine.policy.evaluate(store, &envelope, &request);
    let mut decision = Decision::from_verdict(&verdict);
    if let Some(would) = engine.policy.shadow_verdict(store, &envelope, &request) {
        decision.would = Some(Box::new(Decision::from_verdict(&would)));
    }
    if decision.is_allowed() {
        if let Some(blocked) = blocking(findings) {
            decision = Decision {
                would: decision.would.take(),
                ..Decision::deny("content_blocked", 403, SCAN_RULE, describe(blocked))
            };
        }
    }
    (decision, envelope.action.kind)
}

/// Decide on a body that passed unscanned (`note` says why, and how it passed): the policies
/// still decide on what is known, and an allowed request carries the note's reasons.
pub fn decide_unscanned(
    engine: &Engine,
    facts: &RequestFacts,
    host: &impl Host,
    action: Action,
    note: Decision,
) -> BodyVerdict {
    let (mut decision, action_type) = decide_request(engine, facts, host, action, Scan::default());
    if decision.is_allowed() {
        decision.reasons.extend(note.reasons);
    }
    BodyVerdict {
        action: Some(action_type),
        ..BodyVerdict::decided(decision)
    }
}

/// Decide on the request's own action, presenting its approval token (read, and taken off the
/// request, at request headers).
pub fn decide_request(
    engine: &Engine,
    facts: &RequestFacts,
    host: &impl Host,
    action: Action,
    scan: Scan<'_>,
) -> (Decision, String) {
    let now = host.now_nanos();
    let token = facts.approval_token.as_deref();
    decide(engine, facts, host, now, action, scan, token)
}

/// The first finding whose configured action is `block`.
pub fn blocking(findings: &[Finding]) -> Option<&Detection> {
    findings
        .iter()
        .find(|f| f.action == ScanAction::Block)
        .map(|f| &f.detection)
}

/// A reason naming what was found and where, never the matched text.
pub fn describe(d: &Detection) -> String {
    format!(
        "{} ({}, {}) detected at {} by rule {}",
        d.kind.as_str(),
        d.sub_type,
        d.severity.as_str(),
        d.path,
        d.rule
    )
}

/// A scan report as findings, failing closed when the scan was cut short.
pub fn complete(report: ScanReport) -> Result<Vec<Finding>, String> {
    if report.truncated {
        return Err("the scan hit its detection limit; the content was not fully scanned".into());
    }
    Ok(report.findings)
}

/// Scan a request body of any type (JSON, text); empty bodies have no findings.
pub fn scan_body(engine: &Engine, body: &[u8]) -> Result<ScanReport, String> {
    if body.is_empty() {
        return Ok(ScanReport::default());
    }
    engine.scanner.scan_body(body).map_err(|e| e.to_string())
}

/// Scan a JSON value (tool arguments, message parameters) string by string.
pub fn scan_value(engine: &Engine, value: &serde_json::Value) -> Result<Vec<Finding>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    engine
        .scanner
        .scan_json(&bytes)
        .map_err(|e| e.to_string())
        .and_then(complete)
}
