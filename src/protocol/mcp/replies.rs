//! The filter's own MCP answers: a denied call gets a well-formed JSON-RPC answer with its `id`
//! (by default a tool result with `isError: true` the model and the user can read; configurably a
//! JSON-RPC error object), as `application/json` or as one SSE `message` event per answer.

use serde_json::{json, Value};

use super::config::{CompiledMcp, DenyReply, ReplyFormat};
use super::content::error_result;
use super::jsonrpc::{id_value, Id};
use crate::decision::Outcome;

/// Why a call was not forwarded (or an answer withheld).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// `Deny`, `RequireApproval` or `RateLimited`.
    pub outcome: Outcome,
    pub rule: String,
    pub reason: String,
    /// Reference the user quotes to get the call approved (require_approval only).
    pub approval: Option<String>,
}

impl Denial {
    pub fn deny(rule: impl Into<String>, reason: impl Into<String>) -> Denial {
        Denial {
            outcome: Outcome::Deny,
            rule: rule.into(),
            reason: reason.into(),
            approval: None,
        }
    }

    /// The machine-readable type, as in the filter's HTTP error bodies.
    pub fn error_type(&self) -> &'static str {
        match self.outcome {
            Outcome::RequireApproval => "approval_required",
            Outcome::RateLimited => "rate_limited",
            Outcome::Allow | Outcome::Deny => "policy_denied",
        }
    }

    /// One sentence for the model and the user: what, which rule, why, and the approval reference.
    pub fn text(&self, subject: &str) -> String {
        let (what, reason, rule) = (self.outcome, &self.reason, &self.rule);
        let mut text = match what {
            Outcome::RequireApproval => format!(
                "authensor-filter: {subject} needs human approval (rule \"{rule}\"): {reason}"
            ),
            Outcome::RateLimited => {
                format!("authensor-filter: {subject} is rate limited (rule \"{rule}\"): {reason}")
            }
            Outcome::Allow | Outcome::Deny => {
                format!("authensor-filter: {subject} was denied (rule \"{rule}\"): {reason}")
            }
        };
        if let Some(reference) = &self.approval {
            if !text.ends_with('.') {
                text.push('.');
            }
            text.push_str(&format!(" Approval reference: {reference}."));
        }
        text
    }

    /// The `data` of a JSON-RPC error.
    fn data(&self) -> Value {
        let mut data = json!({"type": self.error_type(), "decision": self.outcome.as_str(),
                              "rule": self.rule, "reason": self.reason});
        if let (Some(reference), Value::Object(m)) = (&self.approval, &mut data) {
            m.insert(
                "approval_reference".into(),
                Value::String(reference.clone()),
            );
        }
        data
    }
}

/// The answer to request `id` that was not forwarded. `subject` names the call (its action type).
/// `tools/call` gets a tool error unless configured otherwise; other methods a JSON-RPC error,
/// since a tool result is no valid answer to them.
pub fn denial_response(
    mcp: &CompiledMcp,
    id: Option<&Id>,
    denial: &Denial,
    subject: &str,
    tool_call: bool,
) -> Value {
    let text = denial.text(subject);
    if tool_call && mcp.deny_reply == DenyReply::ToolError {
        json!({"jsonrpc": "2.0", "id": id_value(id), "result": error_result(&text)})
    } else {
        json!({"jsonrpc": "2.0", "id": id_value(id),
               "error": {"code": mcp.error_code, "message": text, "data": denial.data()}})
    }
}

/// The content type of the filter's own answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Sse,
}

/// Choose JSON or SSE from the request's `Accept` and the configured preference.
pub fn format_for(accept: Option<&str>, preference: ReplyFormat) -> Format {
    let (mut json, mut sse) = (false, false);
    for range in accept.unwrap_or("").split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                == Some(0.0)
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "application/json" | "application/*" | "*/*" => json = true,
            "text/event-stream" => sse = true,
            _ => {}
        }
    }
    let use_sse = match preference {
        ReplyFormat::Json => false,
        ReplyFormat::Sse => sse,
        ReplyFormat::Auto => sse && !json,
    };
    if use_sse {
        Format::Sse
    } else {
        Format::Json
    }
}

/// A complete HTTP answer the filter sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u32,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// An HTTP answer carrying JSON-RPC messages: a single object (or a batch array) as JSON, or one
/// SSE `message` event per message.
pub fn http_reply(status: u32, messages: &[Value], batch: bool, format: Format) -> HttpReply {
    match format {
        Format::Sse => HttpReply {
            status,
            content_type: "text/event-stream",
            body: sse_events(messages),
        },
        Format::Json => {
            let body = match messages {
                [single] if !batch => single.to_string(),
                many => Value::Array(many.to_vec()).to_string(),
            };
            HttpReply {
                status,
                content_type: "application/json",
                body: body.into_bytes(),
            }
        }
    }
}

/// One `message` event per JSON-RPC message.
pub fn sse_events(messages: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let event = crate::protocol::sse::Event {
            event: Some("message".into()),
            ..crate::protocol::sse::Event::data(m.to_string())
        };
        out.extend_from_slice(&event.to_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::mcp::config::McpConfig;
    use crate::protocol::sse::parse_all;

    fn mcp(deny_reply: DenyReply) -> CompiledMcp {
        CompiledMcp::compile(McpConfig {
            deny_reply,
            ..McpConfig::default()
        })
        .unwrap()
    }

    fn denial() -> Denial {
        Denial::deny("no-shell", "agents may not run shell commands")
    }

    #[test]
    fn a_denied_tool_call_is_a_readable_tool_error_with_the_same_id() {
        let id = Id::Num(42.into());
        let r = denial_response(
            &mcp(DenyReply::ToolError),
            Some(&id),
            &denial(),
            "mcp.files.run_shell",
            true,
        );
        assert_eq!(r["id"], 42);
        assert_eq!(r["result"]["isError"], true);
        let text = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("mcp.files.run_shell") && text.contains("no-shell"));
        assert!(text.contains("agents may not run shell commands"));
    }

    #[test]
    fn jsonrpc_errors_carry_rule_reason_and_approval_reference() {
        let id = Id::Str("x".into());
        let held = Denial {
            outcome: Outcome::RequireApproval,
            approval: Some("apr_123".into()),
            ..denial()
        };
        let r = denial_response(&mcp(DenyReply::JsonrpcError), Some(&id), &held, "t", true);
        assert_eq!(r["id"], "x");
        assert_eq!(r["error"]["code"], -32001);
        assert_eq!(
            r["error"]["data"],
            json!({"type": "approval_required", "decision": "require_approval", "rule": "no-shell",
                   "reason": "agents may not run shell commands", "approval_reference": "apr_123"})
        );
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("shell commands. Approval reference: apr_123."));
        // Other methods always get an error object: a tool result would not fit them.
        let r = denial_response(&mcp(DenyReply::ToolError), Some(&id), &denial(), "r", false);
        assert!(r.get("result").is_none() && r["error"]["code"] == -32001);
    }

    #[test]
    fn accept_chooses_the_format() {
        use ReplyFormat::*;
        let both = Some("application/json, text/event-stream");
        assert_eq!(format_for(both, Auto), Format::Json);
        assert_eq!(format_for(both, Sse), Format::Sse);
        assert_eq!(format_for(both, Json), Format::Json);
        assert_eq!(format_for(Some("text/event-stream"), Auto), Format::Sse);
        assert_eq!(
            format_for(Some("application/json;q=0, text/event-stream"), Auto),
            Format::Sse
        );
        assert_eq!(format_for(Some("application/json"), Sse), Format::Json);
        assert_eq!(format_for(None, Sse), Format::Json);
    }

    #[test]
    fn replies_render_as_json_or_sse() {
        let a = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        let b = json!({"jsonrpc": "2.0", "id": 2, "result": {}});
        let r = http_reply(200, std::slice::from_ref(&a), false, Format::Json);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), a);
        let r = http_reply(200, &[a.clone(), b.clone()], true, Format::Json);
        assert_eq!(
            serde_json::from_slice::<Value>(&r.body).unwrap(),
            json!([a, b])
        );
        let r = http_reply(200, &[a.clone(), b.clone()], true, Format::Sse);
        assert_eq!(r.content_type, "text/event-stream");
        let events = parse_all(&r.body);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event.as_deref(), Some("message"));
        assert_eq!(serde_json::from_str::<Value>(&events[1].data).unwrap(), b);
    }
}
