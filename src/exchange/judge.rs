//! The one place where policy and scanner results become a decision: an action envelope is built
//! for the request, the scanner's detections are attached to it (`aegis.*` for conditions), the
//! policies decide, and a detection whose configured action is `block` denies what policy allowed.

use crate::aegis::{Action as ScanAction, Finding, ScanReport};
use crate::config::Engine;
use crate::decision::Decision;
use crate::detection::Detection;
use crate::policy::aegis::Aegis;
use crate::policy::state::SharedStore;
use crate::policy::{Action, Envelope, Request};
use crate::request::RequestFacts;

/// Rule id of denials made by the scanner's `block` action.
pub const SCAN_RULE: &str = "aegis";
/// Rule id of denials because content could not be scanned completely.
pub const UNSCANNABLE_RULE: &str = "aegis.unscannable";

/// Decide on `action` with the scanner's `findings` attached, against the proxy's shared state
/// (rate limits, sessions, used approval tokens); returns the decision and the action type.
pub fn decide(
    engine: &Engine,
    facts: &RequestFacts,
    store: &(impl SharedStore + ?Sized),
    now_nanos: u64,
    action: Action,
    findings: &[Finding],
    approval_token: Option<&str>,
) -> (Decision, String) {
    let mut envelope = Envelope::for_request(facts, &engine.agent, action, now_nanos);
    let detections: Vec<Detection> = findings.iter().map(|f| f.detection.clone()).collect();
    envelope.aegis = Aegis::from_detections(&detections);
    let verdict = engine.policy.evaluate(
        store,
        &envelope,
        &Request {
            now_nanos,
            approval_token,
        },
    );
    let mut decision = Decision::from_verdict(&verdict);
    if decision.is_allowed() {
        if let Some(blocked) = blocking(findings) {
            decision = Decision::deny("content_blocked", 403, SCAN_RULE, describe(blocked));
        }
    }
    (decision, envelope.action.kind)
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
