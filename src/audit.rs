//! The audit line: one JSON object per decided request, written through the host log.
//! Every line starts with `{"audit":"authensor/v1"` so it is easy to pick out of a proxy log.
//! The host bounds and chains each line as it logs it ([`chain`], [`bound`]);
//! [`verify`] checks the chains in a collected log.

pub mod bound;
pub mod chain;
pub mod verify;

use serde::Serialize;

use crate::aegis::Finding;
use crate::decision::Decision;
use crate::request::RequestFacts;
use crate::timefmt::rfc3339_millis;

/// The schema marker that opens every audit line.
pub const SCHEMA: &str = "authensor/v1";

/// The text every audit line starts with.
pub const MARKER: &str = r#"{"audit":"authensor/v1""#;

/// Bytes reserved for an audit line before it is written.
const LINE_CAPACITY: usize = 1024;

/// Whether a log message is an audit line.
pub fn is_audit_line(message: &str) -> bool {
    message.starts_with(MARKER)
}

/// One audit record, borrowed from the request's state.
#[derive(Serialize)]
pub struct AuditRecord<'a> {
    pub audit: &'static str,
    pub ts: String,
    pub request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<&'a str>,
    pub principal: PrincipalRecord<'a>,
    pub method: &'a str,
    pub authority: &'a str,
    pub path: &'a str,
    /// The envelope's action type, when a policy was evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'a str>,
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'a str>,
    pub rule: Option<&'a str>,
    /// The approval reference of a `require_approval` decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<&'a str>,
    pub reasons: &'a [String],
    /// Status the client got, when known (0 when the stream ended before a response).
    pub status: u32,
    pub body_bytes: u64,
    /// Time the filter itself spent on this request, in microseconds.
    pub added_us: f64,
    /// What the scanner found (never the matched text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<DetectionRecord<'a>>,
    /// Spans replaced in the request body.
    #[serde(skip_serializing_if = "is_zero")]
    pub redactions: usize,
    /// What a protocol gateway did along the way (tools removed, results blocked, ...).
    #[serde(skip_serializing_if = "<[AuditEvent]>::is_empty")]
    pub events: &'a [AuditEvent],
    /// For LLM API calls: what the filter did to the call and its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<&'a LlmAudit>,
    /// `shadow` when something was not enforced (shadow mode, or a shadow policy decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    /// In shadow: what enforcement would have done (an outcome, or `redact`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would: Option<&'static str>,
    /// In shadow: the policy, rule and reason of the would-be decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_policy: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_reason: Option<&'a str>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One detection as the audit line records it.
#[derive(Serialize)]
pub struct DetectionRecord<'a> {
    pub r#type: &'static str,
    pub sub_type: &'a str,
    pub severity: &'static str,
    pub rule: &'a str,
    pub path: &'a str,
    /// What the configuration did about it: `block`, `redact` or `log`.
    pub action: &'static str,
}

/// Something a gateway did, for the audit line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub event: &'static str,
    /// The action type, tool or method concerned.
    pub subject: String,
    pub rule: String,
    pub reason: String,
}

/// An LLM API call as the audit line records it (sub-types and counts, never values).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct LlmAudit {
    pub model: Option<String>,
    pub stream: bool,
    /// Sub-type of each value masked in the request (restorable placeholders).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
    /// Placeholders restored to their values in the answer.
    #[serde(skip_serializing_if = "is_zero")]
    pub restored: usize,
    /// Spans redacted in the answer.
    #[serde(skip_serializing_if = "is_zero")]
    pub answer_redactions: usize,
    /// Action types of the tool calls the model made (each was judged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<String>,
    /// Where the call was stopped, if it was: `request`, `answer` or `stream`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<&'static str>,
    /// The first tool call a shadow policy would have refused (the line's `would`, not here).
    #[serde(skip)]
    pub shadowed: Option<Decision>,
}

impl LlmAudit {
    /// Whether the filter changed or stopped anything.
    pub fn is_eventful(&self) -> bool {
        !self.masked.is_empty()
            || self.restored > 0
            || self.answer_redactions > 0
            || self.blocked_at.is_some()
    }
}

#[derive(Serialize)]
pub struct PrincipalRecord<'a> {
    pub id: &'a str,
    pub r#type: &'static str,
    pub source: &'static str,
}

impl<'a> AuditRecord<'a> {
    pub fn new(
        now_nanos: u64,
        facts: &'a RequestFacts,
        action: Option<&'a str>,
        decision: &'a Decision,
        status: u32,
        body_bytes: u64,
        added_nanos: u64,
    ) -> AuditRecord<'a> {
        AuditRecord {
            audit: SCHEMA,
            ts: rfc3339_millis(now_nanos),
            request_id: &facts.request_id,
            trace_id: facts.trace_id.as_deref(),
            principal: PrincipalRecord {
                id: &facts.principal.id,
                r#type: facts.principal.kind,
                source: facts.principal.source.as_str(),
            },
            method: &facts.method,
            authority: &facts.authority,
            path: &facts.path,
            action,
            decision: decision.outcome.as_str(),
            policy: decision.policy.as_deref(),
            rule: decision.rule.as_deref(),
            approval: decision.approval.as_ref().map(|a| a.reference.as_str()),
            reasons: &decision.reasons,
            status,
            body_bytes,
            added_us: (added_nanos as f64 / 100.0).round() / 10.0,
            detections: Vec::new(),
            redactions: 0,
            events: &[],
            llm: None,
            mode: None,
            would: None,
            would_policy: None,
            would_rule: None,
            would_reason: None,
        }
    }

    /// Mark the line as shadowed: `would` is what enforcement would have done, `decision` the
    /// would-be decision behind it, if any.
    pub fn shadow(&mut self, would: &'static str, decision: Option<&'a Decision>) {
        self.mode = Some("shadow");
        self.would = Some(would);
        if let Some(d) = decision {
            self.would_policy = d.policy.as_deref();
            self.would_rule = d.rule.as_deref();
            self.would_reason = d.reasons.first().map(String::as_str);
        }
    }

    /// Add the scanner's findings, the redaction count and gateway events.
    pub fn add_details(
        &mut self,
        findings: &'a [Finding],
        redactions: usize,
        events: &'a [AuditEvent],
    ) {
        self.detections = findings
            .iter()
            .map(|f| DetectionRecord {
                r#type: f.detection.kind.as_str(),
                sub_type: &f.detection.sub_type,
                severity: f.detection.severity.as_str(),
                rule: &f.detection.rule,
                path: &f.detection.path,
                action: f.action.as_str(),
            })
            .collect();
        self.redactions = redactions;
        self.events = events;
    }

    /// The single-line JSON form.
    pub fn to_line(&self) -> String {
        // Most lines are 400-800 bytes: one allocation instead of doubling up to there.
        let mut out = Vec::with_capacity(LINE_CAPACITY);
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => String::from_utf8(out).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_names_the_schema() {
        assert_eq!(MARKER, format!(r#"{{"audit":"{SCHEMA}""#));
    }

    #[test]
    fn line_starts_with_marker_and_carries_the_decision() {
        let facts = RequestFacts {
            method: "POST".into(),
            path: "/x".into(),
            request_id: "r1".into(),
            ..RequestFacts::default()
        };
        let d = Decision::deny("policy_denied", 403, "r", "because".into());
        let line = AuditRecord::new(
            1_000_000_000,
            &facts,
            Some("http.post"),
            &d,
            403,
            12,
            15_250,
        )
        .to_line();
        assert!(is_audit_line(&line));
        assert!(line.starts_with(r#"{"audit":"authensor/v1","ts":"1970-01-01T00:00:01.000Z""#));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["decision"], "deny");
        assert_eq!(v["rule"], "r");
        assert_eq!(v["action"], "http.post");
        assert!(v.get("policy").is_none());
        assert_eq!(v["reasons"][0], "because");
        assert_eq!(v["added_us"], 15.3);
        assert_eq!(v["principal"]["source"], "anonymous");
    }
}
