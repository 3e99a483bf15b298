//! The Authensor action envelope (action-envelope.schema.json) as a typed value that is cheap to
//! build per request: action, principal, context, constraints, timestamp, plus the `aegis` view
//! of scanner results. Protocol mappings (HTTP here, MCP and LLM elsewhere) build it with
//! [`Envelope::new`]; the CLI and test files read it from JSON.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::aegis::Aegis;
use crate::config::{Environment, PrincipalType};

/// Authensor's CRUDE operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
    Execute,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Execute => "execute",
        }
    }
}

/// `action`: what is about to happen.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Action {
    /// Action type, e.g. `http.get`, `mcp.github.create_issue`, `llm.openai.chat`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub operation: Option<Operation>,
    /// Action-specific parameters (tool arguments, JSON body fields); `Null` when there are none.
    #[serde(default)]
    pub parameters: Value,
    /// Any other member, reachable by conditions.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Action {
    pub fn new(
        kind: impl Into<String>,
        resource: impl Into<String>,
        operation: Operation,
        parameters: Value,
    ) -> Action {
        Action {
            kind: kind.into(),
            resource: resource.into(),
            operation: Some(operation),
            parameters,
            extra: Map::new(),
        }
    }
}

/// `principal`: who asks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Principal {
    #[serde(rename = "type")]
    pub kind: PrincipalType,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub attributes: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Principal {
    pub fn new(kind: PrincipalType, id: impl Into<String>) -> Principal {
        Principal {
            kind,
            id: id.into(),
            name: None,
            attributes: Value::Null,
            extra: Map::new(),
        }
    }
}

/// `context`: where and when.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub parent_envelope_id: Option<String>,
    #[serde(default)]
    pub parent_receipt_id: Option<String>,
    #[serde(default)]
    pub environment: Option<Environment>,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub metadata: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One action envelope.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    #[serde(default)]
    pub id: String,
    /// The timestamp as given in a JSON envelope; built envelopes use `timestamp_nanos`.
    #[serde(default, rename = "timestamp")]
    pub timestamp_text: Option<String>,
    #[serde(skip)]
    pub timestamp_nanos: u64,
    pub action: Action,
    pub principal: Principal,
    #[serde(default)]
    pub context: Context,
    /// Pre-declared constraints (`maxAmount`, `allowedDomains`, `timeout`, ...); `Null` if none.
    #[serde(default)]
    pub constraints: Value,
    /// Scanner results visible to conditions as `aegis.*` (engine extension).
    #[serde(default)]
    pub aegis: Aegis,
}

impl Envelope {
    /// An envelope for an action about to happen now.
    pub fn new(
        id: impl Into<String>,
        now_nanos: u64,
        action: Action,
        principal: Principal,
        context: Context,
    ) -> Envelope {
        Envelope {
            id: id.into(),
            timestamp_text: None,
            timestamp_nanos: now_nanos,
            action,
            principal,
            context,
            constraints: Value::Null,
            aegis: Aegis::default(),
        }
    }

    /// The declared `constraints.<name>` number, if any.
    pub fn constraint_number(&self, name: &str) -> Option<f64> {
        self.constraints.get(name).and_then(Value::as_f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_authensor_envelope_with_extra_context() {
        let e: Envelope = serde_json::from_str(
            r#"{"id":"e1","timestamp":"2026-01-01T00:00:00Z",
                "action":{"type":"stripe.charges.create","resource":"stripe://charges",
                          "operation":"create","parameters":{"amount":5}},
                "principal":{"type":"agent","id":"a1"},
                "context":{"environment":"production","isRestricted":true},
                "constraints":{"maxAmount":5}}"#,
        )
        .unwrap();
        assert_eq!(e.action.operation, Some(Operation::Create));
        assert_eq!(e.context.environment, Some(Environment::Production));
        assert_eq!(e.context.extra["isRestricted"], Value::Bool(true));
        assert_eq!(e.constraint_number("maxAmount"), Some(5.0));
    }

    #[test]
    fn rejects_unknown_top_level_fields_and_bad_enums() {
        let bad = |s: &str| serde_json::from_str::<Envelope>(s).unwrap_err().to_string();
        let base = r#""action":{"type":"a"},"principal":{"type":"agent","id":"x"}"#;
        assert!(bad(&format!("{{{base},\"extra\":1}}")).contains("unknown field"));
        assert!(
            bad(r#"{"action":{"type":"a"},"principal":{"type":"robot","id":"x"}}"#)
                .contains("unknown variant")
        );
    }
}
