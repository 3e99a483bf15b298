//! What the filter decided about a request, and the protocol-shaped answer a denial gets.

use serde::Serialize;

/// Authensor's decision outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    RequireApproval,
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::RequireApproval => "require_approval",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

/// A decision with everything the reply and the audit line need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Machine-readable error type of the reply (`policy_denied`, `body_too_large`, ...).
    pub error_type: &'static str,
    /// HTTP status of the reply when the request is stopped.
    pub status: u32,
    /// The rule (or setting) that decided, if any.
    pub rule: Option<String>,
    /// Why, in words a person reads.
    pub reasons: Vec<String>,
}

impl Decision {
    pub fn allow() -> Decision {
        Decision {
            outcome: Outcome::Allow,
            error_type: "",
            status: 0,
            rule: None,
            reasons: Vec::new(),
        }
    }

    /// Allowed, with a note for the audit line (for example a body passed unscanned).
    pub fn allow_noting(rule: &str, reason: String) -> Decision {
        Decision {
            rule: Some(rule.to_owned()),
            reasons: vec![reason],
            ..Decision::allow()
        }
    }

    pub fn deny(error_type: &'static str, status: u32, rule: &str, reason: String) -> Decision {
        Decision {
            outcome: Outcome::Deny,
            error_type,
            status,
            rule: Some(rule.to_owned()),
            reasons: vec![reason],
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// The JSON body of the reply: `{"error":{"type","rule","reason","request_id"}}`.
    pub fn reply_body(&self, request_id: &str) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            error: ErrorBody<'a>,
        }
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            r#type: &'a str,
            decision: &'a str,
            rule: Option<&'a str>,
            reason: &'a str,
            request_id: &'a str,
        }
        let body = Body {
            error: ErrorBody {
                r#type: self.error_type,
                decision: self.outcome.as_str(),
                rule: self.rule.as_deref(),
                reason: self.reasons.first().map_or("", String::as_str),
                request_id,
            },
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_body_is_the_documented_json() {
        let d = Decision::deny(
            "policy_denied",
            403,
            "no-admin",
            "admin is off limits".into(),
        );
        let v: serde_json::Value = serde_json::from_str(&d.reply_body("req-1")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"type": "policy_denied", "decision": "deny",
                "rule": "no-admin", "reason": "admin is off limits", "request_id": "req-1"}})
        );
    }
}
