//! Reading policy documents for the CLI: a single policy object, a list of policies, a filter
//! configuration (`{"policies": [...], ...}`), or a test file (`{"policy": ..., "tests": [...]}`).
//! Errors carry the JSON path inside that document.

use serde::Deserialize;
use serde_json::Value;

use authensor_filter::config::{parse_strict, ConfigError, Engine};
use authensor_filter::policy::model::PolicyModel;
use authensor_filter::policy::settings::{ApprovalSettings, StateSettings};
use authensor_filter::policy::PolicyEngine;

/// One policy or several, as a test file's `policy` member allows.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Box<PolicyModel>),
    Many(Vec<PolicyModel>),
}

/// Compile policies found at `base` with default engine settings.
pub fn compile(doc: OneOrMany, base: &str) -> Result<PolicyEngine, ConfigError> {
    let (approval, state) = (ApprovalSettings::default(), StateSettings::default());
    match doc {
        OneOrMany::One(p) => {
            PolicyEngine::compile(&[*p], base, &|_| base.to_owned(), &approval, &state)
        }
        OneOrMany::Many(ps) => {
            PolicyEngine::compile(&ps, base, &|i| format!("{base}[{i}]"), &approval, &state)
        }
    }
}

/// Parse the `policy` member of a test file (a policy or a list) with paths under `policy`.
pub fn policy_member(value: &Value) -> Result<OneOrMany, ConfigError> {
    let bytes = serde_json::to_vec(value).map_err(|e| ConfigError::new("policy", e.to_string()))?;
    let prefix = |e: ConfigError| {
        ConfigError::new(
            if e.path == "$" {
                "policy".into()
            } else {
                format!("policy.{}", e.path).replace("policy.[", "policy[")
            },
            e.message,
        )
    };
    if value.is_array() {
        parse_strict::<Vec<PolicyModel>>(&bytes)
            .map(OneOrMany::Many)
            .map_err(prefix)
    } else {
        parse_strict::<PolicyModel>(&bytes)
            .map(|p| OneOrMany::One(Box::new(p)))
            .map_err(prefix)
    }
}

/// Any policy document, compiled.
pub fn engine(bytes: &[u8]) -> Result<PolicyEngine, ConfigError> {
    let value: Value = parse_strict(bytes)?;
    match &value {
        Value::Array(_) => compile(OneOrMany::Many(parse_strict(bytes)?), ""),
        Value::Object(m) if m.contains_key("policies") => {
            Engine::from_json(bytes).map(|e| e.policy)
        }
        Value::Object(m) if m.contains_key("tests") || m.contains_key("policy") => {
            let policy = m
                .get("policy")
                .ok_or_else(|| ConfigError::new("policy", "missing field `policy`"))?;
            compile(policy_member(policy)?, "policy")
        }
        Value::Object(_) => compile(OneOrMany::One(Box::new(parse_strict(bytes)?)), ""),
        _ => Err(ConfigError::new(
            "$",
            "expected a policy object, a list of policies, a filter configuration or a test file",
        )),
    }
}
