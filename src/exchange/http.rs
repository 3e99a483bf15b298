//! Plain HTTP requests: the body (JSON or text) is scanned, the request becomes an `http.<method>`
//! envelope with the scanner's results attached, the policies decide, and what the scanner is
//! configured to redact is redacted before the body goes upstream.

use super::judge;
use super::BodyVerdict;
use crate::config::Engine;
use crate::decision::Decision;
use crate::host::Host;
use crate::policy::http::http_action;
use crate::request::RequestFacts;

/// Decide on a complete request body.
pub fn request(
    engine: &Engine,
    facts: &RequestFacts,
    host: &mut impl Host,
    body: &[u8],
) -> BodyVerdict {
    let action = match http_action(facts, body) {
        Ok(action) => action,
        Err(e) => return BodyVerdict::decided(Decision::deny("invalid_body", 400, "body", e.0)),
    };
    let report = match judge::scan_body(engine, body) {
        Ok(report) => report,
        Err(e) => return BodyVerdict::unscannable(e),
    };
    let rewrite = if report.to_redact().next().is_some() {
        match engine.scanner.redact_body(body, &report) {
            Ok(bytes) => Some(bytes),
            Err(e) => return BodyVerdict::unscannable(e.to_string()),
        }
    } else {
        None
    };
    let findings = match judge::complete(report) {
        Ok(findings) => findings,
        Err(e) => return BodyVerdict::unscannable(e),
    };
    let (decision, action_type) =
        judge::decide_request(engine, facts, host, action, judge::Scan::of(&findings));
    BodyVerdict {
        decision,
        action: Some(action_type),
        reply: None,
        rewrite,
        findings,
    }
}
