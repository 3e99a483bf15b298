//! What the filter decided about a request, and the protocol-shaped answer a denial gets.

use serde::Serialize;

use crate::policy::approval::ApprovalRequest;
use crate::policy::Verdict;

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
    /// The policy that decided, if a policy did.
    pub policy: Option<String>,
    /// The rule (or setting) that decided, if any.
    pub rule: Option<String>,
    /// Why, in words a person reads.
    pub reasons: Vec<String>,
    /// Seconds for the `Retry-After` header of a rate-limited reply.
    pub retry_after: Option<u64>,
    /// What to approve, for `require_approval`.
    pub approval: Option<ApprovalRequest>,
    /// In shadow: what enforcement would have decided instead (shadow mode, or a shadow policy).
    pub would: Option<Box<Decision>>,
}

impl Decision {
    pub fn allow() -> Decision {
        Decision {
            outcome: Outcome::Allow,
            error_type: "",
            status: 0,
            policy: None,
            rule: None,
            reasons: Vec::new(),
            retry_after: None,
            approval: None,
            would: None,
        }
    }

    /// The reply for a policy verdict: 403 `policy_denied`, 403 `approval_required`,
    /// 429 `rate_limited` (with `Retry-After`), or allowed.
    pub fn from_verdict(v: &Verdict<'_>) -> Decision {
        let (error_type, status) = match v.outcome {
            Outcome::Allow => ("", 0),
            Outcome::Deny => ("policy_denied", 403),
            Outcome::RequireApproval => ("approval_required", 403),
            Outcome::RateLimited => ("rate_limited", 429),
        };
        Decision {
            outcome: v.outcome,
            error_type,
            status,
            policy: v.policy_id.map(str::to_owned),
            rule: v.rule_id.map(str::to_owned),
            reasons: vec![v.reason.clone().into_owned()],
            retry_after: v.retry_after,
            approval: v.approval.clone(),
            would: None,
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
            ..Decision::allow()
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// Shadow this decision: what happens is an allow that carries it as the would-be decision
    /// (a would-be decision it already had, from a shadow policy, is kept).
    pub fn shadowed(self) -> Decision {
        let would = match self.would {
            Some(earlier) => earlier,
            None => Box::new(self),
        };
        Decision {
            would: Some(would),
            ..Decision::allow()
        }
    }

    /// The JSON body of the reply: `{"error":{"type","decision","policy","rule","reason",
    /// "request_id","retry_after","approval"}}` (absent members omitted).
    pub fn reply_body(&self, request_id: &str) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            error: ErrorBody<'a>,
        }
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            r#type: &'a str,
            decision: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            policy: Option<&'a str>,
            rule: Option<&'a str>,
            reason: &'a str,
            request_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            retry_after: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            approval: Option<&'a ApprovalRequest>,
        }
        let body = Body {
            error: ErrorBody {
                r#type: self.error_type,
                decision: self.outcome.as_str(),
                policy: self.policy.as_deref(),
                rule: self.rule.as_deref(),
                reason: self.reasons.first().map_or("", String::as_str),
                request_id,
                retry_after: self.retry_after,
                approval: self.approval.as_ref(),
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
