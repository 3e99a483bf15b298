//! Plain HTTP requests: the body (JSON or text) is scanned, the request becomes an `http.<method>`
//! envelope with the scanner's results attached, the policies decide, and what the scanner is
//! configured to redact is redacted before the body goes upstream. A compressed body cannot be
//! scanned: it is denied, or passed unscanned with a note, as `body.on_compressed` says.

use super::judge;
use super::BodyVerdict;
use crate::config::Engine;
use crate::decision::Decision;
use crate::host::Host;
use crate::policy::http::http_action;
use crate::protocol::llm::compression;
use crate::request::RequestFacts;

/// Decide on a complete request body.
pub fn request(
    engine: &Engine,
    facts: &RequestFacts,
    host: &mut impl Host,
    body: &[u8],
) -> BodyVerdict {
    let encoding = facts.content_encoding.as_deref();
    let on = engine.body.on_compressed;
    // Only the header is trusted here: a plain body may start like a compressed one, and one
    // that is not text is refused as unscannable anyway.
    match compression::body_decision(COMPRESSED_RULE, encoding, b"", on) {
        Some(note) if !body.is_empty() => return unscanned(engine, facts, host, note),
        _ => {}
    }
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

/// The setting (and rule id) deciding on compressed plain HTTP bodies.
const COMPRESSED_RULE: &str = "body.on_compressed";

/// A compressed body: refused, or decided by policy alone (`aegis.scanned` false, no
/// parameters) with the note that it passed unscanned.
fn unscanned(
    engine: &Engine,
    facts: &RequestFacts,
    host: &mut impl Host,
    note: Decision,
) -> BodyVerdict {
    if !note.is_allowed() {
        return BodyVerdict::decided(note);
    }
    let action = match http_action(facts, b"") {
        Ok(action) => action,
        Err(e) => return BodyVerdict::decided(Decision::deny("invalid_body", 400, "body", e.0)),
    };
    judge::decide_unscanned(engine, facts, host, action, note)
}
