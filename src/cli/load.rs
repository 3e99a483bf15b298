//! Reading policy documents for the CLI: a single policy object, a list of policies, a filter
//! configuration (`{"policies": [...], ...}`), or a test file (`{"policy": ..., "tests": [...]}`).
//! Errors carry the JSON path inside that document.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use authensor_filter::config::{parse_strict, ConfigError, Engine};
use authensor_filter::policy::model::PolicyModel;
use authensor_filter::policy::settings::{ApprovalSettings, StateSettings};
use authensor_filter::policy::PolicyEngine;

use super::read_input;

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

/// A compiled policy document and what kind it was.
pub struct Loaded {
    pub engine: PolicyEngine,
    /// A whole filter configuration (engine settings included).
    pub is_config: bool,
}

/// Any policy document at `file`, compiled. A test file whose `policy` is a string names a
/// policy file relative to itself (extension of Authensor's format).
pub fn engine(file: &str) -> Result<Loaded, String> {
    let bytes = read_input(file)?;
    let plain = |engine| Loaded {
        engine,
        is_config: false,
    };
    let value: Value = parse_strict(&bytes).map_err(|e| e.to_string())?;
    let result = match &value {
        Value::Array(_) => parse_strict(&bytes)
            .and_then(|ps| compile(OneOrMany::Many(ps), ""))
            .map(plain),
        Value::Object(m) if m.contains_key("policies") => {
            Engine::from_json(&bytes).map(|e| Loaded {
                engine: e.policy,
                is_config: true,
            })
        }
        Value::Object(m) if m.contains_key("tests") || m.contains_key("policy") => {
            match m.get("policy") {
                Some(Value::String(name)) => {
                    let path = Path::new(file).with_file_name(name);
                    let path = path.to_string_lossy();
                    return engine(&path).map_err(|e| format!("{path}: {e}"));
                }
                Some(policy) => policy_member(policy)
                    .and_then(|p| compile(p, "policy"))
                    .map(plain),
                None => Err(ConfigError::new("policy", "missing field `policy`")),
            }
        }
        Value::Object(_) => parse_strict(&bytes)
            .and_then(|p| compile(OneOrMany::One(Box::new(p)), ""))
            .map(plain),
        _ => Err(ConfigError::new(
            "$",
            "expected a policy object, a list of policies, a filter configuration or a test file",
        )),
    };
    result.map_err(|e| e.to_string())
}
