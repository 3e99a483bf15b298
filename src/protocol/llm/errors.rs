//! Denials in the provider's own error shape, so the client SDK raises its usual exception:
//! OpenAI `{"error":{"message","type","param","code"}}`, Anthropic
//! `{"type":"error","error":{"type","message"}}`, each carrying our decision, rule, reason and
//! request id; and the matching error events that end a stream so that a streaming client raises.

use serde_json::{json, Value};

use super::{Format, Malformed};
use crate::decision::Decision;

/// A complete reply: status, headers, JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    pub status: u32,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl ErrorReply {
    /// Headers as `Host::send_reply` takes them.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// The reply to a denied call. The status is the decision's (403 policy, 400 malformed, 413 too
/// large, 415 compressed, 429 rate limited), which the SDKs map to their exception classes
/// (`PermissionDeniedError`, `BadRequestError`, ...). `x-should-retry: false` stops the SDKs'
/// automatic retries, except for rate limits.
pub fn error_reply(format: Format, decision: &Decision, request_id: &str) -> ErrorReply {
    let body = if format.speaks_anthropic() {
        json!({"type": "error", "error": anthropic_error(decision, request_id), "request_id": request_id})
    } else {
        json!({"error": openai_error(decision, request_id)})
    };
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("x-authensor-decision", decision.outcome.as_str().to_owned()),
    ];
    if decision.status != 429 {
        headers.push(("x-should-retry", "false".to_owned()));
    }
    ErrorReply {
        status: decision.status,
        headers,
        body: body.to_string(),
    }
}

/// The event that ends a stream with an error the SDK raises: for OpenAI a `data:` event whose
/// JSON has an `error` member (named `error` with `type: "error"` on the Responses API, whose
/// clients also read typed events); for Anthropic `event: error`.
pub fn stream_error_event(format: Format, decision: &Decision, request_id: &str) -> Vec<u8> {
    let (name, data) = if format.speaks_anthropic() {
        (
            Some("error"),
            json!({"type": "error", "error": anthropic_error(decision, request_id)}),
        )
    } else if format.api == super::Api::Responses {
        let error = openai_error(decision, request_id);
        let data = json!({"type": "error", "code": error["code"], "message": error["message"],
            "param": null, "error": error});
        (Some("error"), data)
    } else {
        (None, json!({"error": openai_error(decision, request_id)}))
    };
    crate::protocol::sse::Event {
        event: name.map(str::to_owned),
        data: data.to_string(),
        ..Default::default()
    }
    .to_bytes()
}

/// The decision for a body that is not what its API expects: refused, 400.
pub fn malformed(format: Format, m: &Malformed) -> Decision {
    Decision::deny(
        "llm_request_malformed",
        400,
        "llm.format",
        format!("not a valid {} request: {m}", format.action_type()),
    )
}

fn message(decision: &Decision, request_id: &str) -> String {
    let reason = decision.reasons.first().map_or("denied", String::as_str);
    let rule = decision.rule.as_deref().unwrap_or("-");
    format!("authensor-filter: {reason} (rule {rule}, request {request_id})")
}

/// Our fields, beside the provider's: the same as the filter's generic error body.
fn ours(decision: &Decision, request_id: &str) -> [(&'static str, Value); 4] {
    [
        ("decision", json!(decision.outcome.as_str())),
        ("rule", json!(decision.rule)),
        ("reason", json!(decision.reasons.first())),
        ("request_id", json!(request_id)),
    ]
}

fn openai_error(decision: &Decision, request_id: &str) -> Value {
    let mut e = json!({
        "message": message(decision, request_id),
        "type": decision.error_type,
        "param": null,
        "code": decision.rule.as_deref().unwrap_or(decision.error_type),
    });
    extend(&mut e, decision, request_id);
    e
}

fn anthropic_error(decision: &Decision, request_id: &str) -> Value {
    let kind = match decision.status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    };
    let mut e = json!({"type": kind, "message": message(decision, request_id)});
    extend(&mut e, decision, request_id);
    e
}

fn extend(e: &mut Value, decision: &Decision, request_id: &str) {
    if let Value::Object(map) = e {
        for (k, v) in ours(decision, request_id) {
            map.insert(k.to_owned(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::llm::{Api, Provider};
    use crate::protocol::sse::parse_all;

    const CHAT: Format = Format {
        provider: Provider::OpenAi,
        api: Api::Chat,
    };
    const MESSAGES: Format = Format {
        provider: Provider::Anthropic,
        api: Api::Messages,
    };

    fn denial() -> Decision {
        Decision::deny(
            "policy_denied",
            403,
            "no-injection",
            "prompt injection in a tool result".into(),
        )
    }

    #[test]
    fn openai_reply_has_the_sdk_shape_and_our_fields() {
        let r = error_reply(CHAT, &denial(), "req-9");
        assert_eq!(r.status, 403);
        assert!(r.header_pairs().contains(&("x-should-retry", "false")));
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            v,
            json!({"error": {"message": "authensor-filter: prompt injection in a tool result (rule no-injection, request req-9)",
                "type": "policy_denied", "param": null, "code": "no-injection",
                "decision": "deny", "rule": "no-injection", "reason": "prompt injection in a tool result", "request_id": "req-9"}})
        );
    }

    #[test]
    fn anthropic_reply_maps_status_to_error_type() {
        let v: Value = serde_json::from_str(&error_reply(MESSAGES, &denial(), "r").body).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "permission_error");
        assert_eq!(v["request_id"], "r");
        let m = malformed(MESSAGES, &Malformed("no messages".into()));
        assert_eq!(m.status, 400);
        let v: Value = serde_json::from_str(&error_reply(MESSAGES, &m, "r").body).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        let limited = Decision {
            status: 429,
            ..denial()
        };
        assert!(!error_reply(MESSAGES, &limited, "r")
            .header_pairs()
            .iter()
            .any(|(k, _)| *k == "x-should-retry"));
    }

    #[test]
    fn stream_error_events_parse_as_the_sdks_expect() {
        let parse = |bytes: Vec<u8>| parse_all(&bytes).remove(0);
        let chat = parse(stream_error_event(CHAT, &denial(), "r"));
        assert_eq!(chat.event, None);
        let v: Value = serde_json::from_str(&chat.data).unwrap();
        assert_eq!(v["error"]["code"], "no-injection");
        let responses = parse(stream_error_event(
            Format {
                api: Api::Responses,
                ..CHAT
            },
            &denial(),
            "r",
        ));
        assert_eq!(responses.event.as_deref(), Some("error"));
        let v: Value = serde_json::from_str(&responses.data).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["error"]["type"].as_str()),
            (Some("error"), Some("policy_denied"))
        );
        let anthropic = parse(stream_error_event(MESSAGES, &denial(), "r"));
        assert_eq!(anthropic.event.as_deref(), Some("error"));
        let v: Value = serde_json::from_str(&anthropic.data).unwrap();
        assert_eq!(v["error"]["type"], "permission_error");
    }
}
