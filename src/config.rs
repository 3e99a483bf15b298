//! The filter's JSON configuration: parsed strictly (unknown fields, wrong types and impossible
//! values are errors naming their JSON path) and compiled once per VM into an [`Engine`].

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

use crate::aegis::{AegisConfig, Scanner};
use crate::audit::bound;
use crate::policy::model::PolicyModel;
use crate::policy::settings::{ApprovalSettings, StateSettings};
use crate::policy::PolicyEngine;
use crate::protocol::llm::config::{LlmConfig, LlmSettings, OnCompressed};
use crate::protocol::mcp::config::{CompiledMcp, McpConfig};

/// A configuration problem: where it is (JSON path) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The whole configuration document, as written by the user.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// `shadow`: every decision is computed and audited, none is enforced.
    pub mode: Mode,
    /// Per-policy modes by policy id (a policy in `shadow` is audited, never enforced).
    pub policy_modes: BTreeMap<String, Mode>,
    pub agent: AgentConfig,
    pub body: BodyConfig,
    pub audit: AuditConfig,
    /// Authensor-format policies; none means every request is denied (fail-closed).
    pub policies: Vec<PolicyModel>,
    pub approval: ApprovalSettings,
    pub policy_state: StateSettings,
    /// The content scanner (every detector on by default).
    pub aegis: AegisConfig,
    /// The MCP gateway; absent means MCP traffic is treated as plain HTTP.
    pub mcp: Option<McpConfig>,
    /// LLM API recognition, masking and compression handling.
    pub llm: LlmConfig,
}

/// Whether decisions are enforced or only audited (shadow mode, for rolling policy out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    /// Compute and audit every decision (`"would"` in the audit line), change no traffic.
    Shadow,
}

/// Who the agent behind this sidecar is, when the traffic itself does not say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Principal id used when the peer presents no mTLS identity.
    pub principal: Option<String>,
    /// Authensor principal type of this agent.
    pub principal_type: PrincipalType,
    /// Deployment environment, visible to policies.
    pub environment: Option<Environment>,
    /// A request header whose value is trusted as the principal id (only if set).
    pub trusted_principal_header: Option<String>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            principal: None,
            principal_type: PrincipalType::Agent,
            environment: None,
            trusted_principal_header: None,
        }
    }
}

/// Authensor's principal types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalType {
    User,
    Agent,
    Service,
    System,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "user",
            PrincipalType::Agent => "agent",
            PrincipalType::Service => "service",
            PrincipalType::System => "system",
        }
    }
}

/// Authensor's deployment environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Staging,
    Production,
}

/// How request bodies are buffered before a decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BodyConfig {
    /// Largest body buffered and inspected, in bytes.
    pub max_bytes: u64,
    /// What to do with a larger body.
    pub on_oversize: OversizeAction,
    /// Hold the request headers until the body is decided, so a denied request sends nothing
    /// upstream. Needs `allow_on_headers_stop_iteration: true` in Envoy's wasm PluginConfig
    /// (Envoy 1.35+); set false where the proxy cannot (Istio's WasmPlugin), and the headers go
    /// ahead while the body is held, then the upstream stream is reset on denial.
    pub hold_headers: bool,
    /// A plain HTTP body with a `content-encoding` other than identity cannot be scanned: deny
    /// it (415), or pass it unscanned with an audit line saying so.
    pub on_compressed: OnCompressed,
}

impl Default for BodyConfig {
    fn default() -> Self {
        BodyConfig {
            max_bytes: 1024 * 1024,
            on_oversize: OversizeAction::Deny,
            hold_headers: true,
            on_compressed: OnCompressed::Deny,
        }
    }
}

/// The choice for bodies over `body.max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OversizeAction {
    /// Answer 413 and audit it.
    Deny,
    /// Let it through unscanned, with an audit line saying so.
    Pass,
}

/// What goes to the audit log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Also write a line for allowed requests (denials are always written).
    pub log_allowed: bool,
    /// Longest audit line, chain member included; longer records are cut (see `audit::bound`).
    pub max_line_bytes: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            log_allowed: true,
            max_line_bytes: bound::DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// Upper bound for `body.max_bytes`: beyond this the proxy's own buffers are the wrong tool.
pub const MAX_BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// The configuration compiled for the request path: built once per VM, shared by every request.
#[derive(Debug)]
pub struct Engine {
    pub mode: Mode,
    pub agent: AgentConfig,
    pub body: BodyConfig,
    pub audit: AuditConfig,
    pub policy: PolicyEngine,
    pub scanner: Scanner,
    /// The MCP gateway, when the configuration has an `mcp` section.
    pub mcp: Option<CompiledMcp>,
    pub llm: LlmSettings,
}

impl Engine {
    /// Parse and compile configuration bytes. Empty input means the defaults.
    pub fn from_json(bytes: &[u8]) -> Result<Engine, ConfigError> {
        let config: FilterConfig = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => FilterConfig::default(),
            Some(b'{') => parse_strict(bytes)?,
            Some(_) => return Err(ConfigError::new("$", "expected a JSON object")),
        };
        Engine::compile(config)
    }

    fn compile(config: FilterConfig) -> Result<Engine, ConfigError> {
        if config.body.max_bytes == 0 || config.body.max_bytes > MAX_BODY_LIMIT {
            return Err(ConfigError::new(
                "body.max_bytes",
                format!(
                    "expected a size from 1 to {MAX_BODY_LIMIT} bytes, got {}",
                    config.body.max_bytes
                ),
            ));
        }
        let line = config.audit.max_line_bytes;
        if !(bound::MIN_LINE_BYTES..=bound::MAX_LINE_BYTES).contains(&line) {
            return Err(ConfigError::new(
                "audit.max_line_bytes",
                format!(
                    "expected a size from {} to {} bytes, got {line}",
                    bound::MIN_LINE_BYTES,
                    bound::MAX_LINE_BYTES
                ),
            ));
        }
        if let Some(header) = &config.agent.trusted_principal_header {
            if header.is_empty() || header.bytes().any(|b| !b.is_ascii_graphic() || b == b':') {
                return Err(ConfigError::new(
                    "agent.trusted_principal_header",
                    format!("expected an HTTP header name, got {header:?}"),
                ));
            }
        }
        let mut policy = PolicyEngine::compile(
            &config.policies,
            "policies",
            &|i| format!("policies[{i}]"),
            &config.approval,
            &config.policy_state,
        )?;
        policy.set_modes(&config.policy_modes)?;
        Ok(Engine {
            mode: config.mode,
            agent: config.agent,
            body: config.body,
            audit: config.audit,
            policy,
            scanner: Scanner::compile(&config.aegis)?,
            mcp: config.mcp.map(CompiledMcp::compile).transpose()?,
            llm: LlmSettings::compile(config.llm)?,
        })
    }
}

/// Deserialize JSON into `T`, reporting the JSON path of the first error.
pub fn parse_strict<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, ConfigError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // An unknown empty key at the top renders as "": still say where.
        let path = if path.is_empty() || path == "." || path == "?" {
            "$".to_owned()
        } else {
            path
        };
        ConfigError::new(path, e.inner().to_string())
    })?;
    de.end()
        .map_err(|e| ConfigError::new("$", format!("trailing data after the document: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        Engine::from_json(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn empty_config_gives_defaults() {
        let engine = Engine::from_json(b"").unwrap();
        assert_eq!(engine.body.max_bytes, 1024 * 1024);
        assert_eq!(engine.body.on_oversize, OversizeAction::Deny);
        assert!(engine.audit.log_allowed);
        assert_eq!(engine.audit.max_line_bytes, 15 * 1024);
        assert_eq!(engine.mode, Mode::Enforce);
    }

    #[test]
    fn mode_is_enforce_or_shadow() {
        let engine = Engine::from_json(br#"{"mode": "shadow"}"#).unwrap();
        assert_eq!(engine.mode, Mode::Shadow);
        assert!(error_of(r#"{"mode": "audit"}"#).starts_with("mode: unknown variant `audit`"));
    }

    /// Fuzzing finding: an empty unknown key at the top gave an error with an empty path.
    #[test]
    fn an_empty_unknown_key_is_still_placed() {
        assert!(error_of(r#"{"": 1}"#).starts_with("$: unknown field ``"));
    }

    #[test]
    fn unknown_field_is_named_by_path() {
        let e = error_of(r#"{"body": {"max_bytez": 10}}"#);
        assert!(
            e.starts_with("body.max_bytez: unknown field `max_bytez`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_and_bad_enum_are_named_by_path() {
        let e = error_of(r#"{"body": {"max_bytes": "big"}}"#);
        assert!(e.starts_with("body.max_bytes: invalid type: string"), "{e}");
        let e = error_of(
            r#"{"policies": [{"id": "p", "name": "n", "version": "1.0.0",
                "rules": [{"id": "a", "effect": "allow"}, {"id": "b", "effect": "permit"}]}]}"#,
        );
        assert!(
            e.starts_with(
                "policies[0].rules[1].effect: unknown variant `permit`, expected one of `allow`"
            ),
            "{e}"
        );
    }

    #[test]
    fn impossible_values_are_rejected() {
        assert!(error_of(r#"{"body": {"max_bytes": 0}}"#).starts_with("body.max_bytes: expected"));
        assert!(
            error_of(r#"{"agent": {"trusted_principal_header": "x y"}}"#)
                .starts_with("agent.trusted_principal_header: expected an HTTP header name")
        );
        assert!(error_of(r#"{"audit": {}} x"#).starts_with("$: trailing data"));
        assert_eq!(
            error_of(r#"{"audit": {"max_line_bytes": 100}}"#),
            "audit.max_line_bytes: expected a size from 4096 to 1048576 bytes, got 100"
        );
        let e = error_of("[1]");
        assert_eq!(e, "$: expected a JSON object");
    }
}
