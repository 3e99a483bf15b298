//! The `llm` section of the filter configuration: which routes are LLM calls, masking, what to
//! do with compressed bodies, and stream limits. Parsed strictly and compiled once per VM.

use serde::Deserialize;

use super::{Api, Provider};
use crate::config::ConfigError;

/// `llm` as written by the user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Recognise the providers' standard paths without configuration.
    pub builtin_routes: bool,
    /// Extra routes, tried in order before the built-in ones.
    pub routes: Vec<RouteConfig>,
    pub masking: MaskingConfig,
    /// A compressed request body (or a response the upstream compressed anyway).
    pub on_compressed: OnCompressed,
    /// Largest single server-sent event of a streamed answer.
    pub max_event_bytes: usize,
    /// Largest tool call a streamed answer may carry (arguments are checked whole at its end).
    pub max_tool_call_bytes: usize,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            builtin_routes: true,
            routes: Vec::new(),
            masking: MaskingConfig::default(),
            on_compressed: OnCompressed::Deny,
            max_event_bytes: 1 << 20,
            max_tool_call_bytes: 256 << 10,
        }
    }
}

/// One configured route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Host (without port, case-insensitive); `*.example.com` matches any subdomain. Any host if absent.
    #[serde(default)]
    pub authority: Option<String>,
    /// Whole-segment prefix of the normalised path.
    pub path_prefix: String,
    pub provider: Provider,
    pub api: Api,
}

/// Reversible masking of detected values in requests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaskingConfig {
    pub enabled: bool,
    /// Detection sub-types that are masked (and restored in the answer) instead of redacted.
    pub sub_types: Vec<String>,
}

impl Default for MaskingConfig {
    fn default() -> Self {
        MaskingConfig {
            enabled: false,
            sub_types: vec!["email".into(), "phone".into()],
        }
    }
}

/// The choice for bodies the filter cannot read because they are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnCompressed {
    /// Refuse with a provider-shaped error and an audit line.
    Deny,
    /// Let it through unscanned, with an audit line saying so.
    Pass,
}

/// A route ready for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub authority: Option<String>,
    pub path_prefix: String,
    pub provider: Provider,
    pub api: Api,
}

/// The compiled `llm` section.
#[derive(Debug)]
pub struct LlmSettings {
    pub builtin_routes: bool,
    pub routes: Vec<Route>,
    /// Sub-types to mask; empty when masking is off.
    pub masked_sub_types: Vec<String>,
    pub on_compressed: OnCompressed,
    pub max_event_bytes: usize,
    pub max_tool_call_bytes: usize,
}

/// Limits for the stream settings, so a typo cannot make memory unbounded.
const MAX_EVENT_LIMIT: usize = 16 << 20;

impl LlmSettings {
    /// Check and compile. Errors name the path from the document root (`llm.routes[1].api`).
    pub fn compile(config: LlmConfig) -> Result<LlmSettings, ConfigError> {
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, r) in config.routes.into_iter().enumerate() {
            let at = |field: &str| format!("llm.routes[{i}].{field}");
            if !r.path_prefix.starts_with('/') {
                return Err(ConfigError::new(
                    at("path_prefix"),
                    format!(
                        "expected a path starting with \"/\", got {:?}",
                        r.path_prefix
                    ),
                ));
            }
            if let Some(a) = &r.authority {
                let host = a.strip_prefix("*.").unwrap_or(a);
                let valid = !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
                if !valid {
                    return Err(ConfigError::new(
                        at("authority"),
                        format!("expected a host name such as \"api.openai.com\" or \"*.example.com\" (no scheme, port or path), got {a:?}"),
                    ));
                }
            }
            let fits = match r.provider {
                Provider::Anthropic => r.api == Api::Messages,
                Provider::OpenAi | Provider::OpenAiCompatible => r.api != Api::Messages,
            };
            if !fits {
                let expected = match r.provider {
                    Provider::Anthropic => "\"messages\"",
                    _ => "\"chat\" or \"responses\"",
                };
                return Err(ConfigError::new(
                    at("api"),
                    format!(
                        "provider \"{}\" speaks {expected}, got \"{}\"",
                        r.provider.as_str(),
                        r.api.as_str()
                    ),
                ));
            }
            routes.push(Route {
                authority: r.authority.map(|a| a.to_ascii_lowercase()),
                path_prefix: r.path_prefix,
                provider: r.provider,
                api: r.api,
            });
        }
        for (i, s) in config.masking.sub_types.iter().enumerate() {
            let valid = !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(ConfigError::new(
                    format!("llm.masking.sub_types[{i}]"),
                    format!("expected a detection sub-type such as \"email\" (lower-case letters, digits, _), got {s:?}"),
                ));
            }
        }
        if config.max_event_bytes == 0 || config.max_event_bytes > MAX_EVENT_LIMIT {
            return Err(ConfigError::new(
                "llm.max_event_bytes",
                format!(
                    "expected a size from 1 to {MAX_EVENT_LIMIT} bytes, got {}",
                    config.max_event_bytes
                ),
            ));
        }
        if config.max_tool_call_bytes == 0 || config.max_tool_call_bytes > MAX_EVENT_LIMIT {
            return Err(ConfigError::new(
                "llm.max_tool_call_bytes",
                format!(
                    "expected a size from 1 to {MAX_EVENT_LIMIT} bytes, got {}",
                    config.max_tool_call_bytes
                ),
            ));
        }
        Ok(LlmSettings {
            builtin_routes: config.builtin_routes,
            routes,
            masked_sub_types: if config.masking.enabled {
                config.masking.sub_types
            } else {
                Vec::new()
            },
            on_compressed: config.on_compressed,
            max_event_bytes: config.max_event_bytes,
            max_tool_call_bytes: config.max_tool_call_bytes,
        })
    }

    /// Whether detections of this sub-type are masked (reversibly) rather than redacted.
    pub fn masks(&self, sub_type: &str) -> bool {
        self.masked_sub_types.iter().any(|s| s == sub_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_strict;

    /// The section as it sits in the whole document, so error paths start at the root.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        llm: LlmConfig,
    }

    fn compile(json: &str) -> Result<LlmSettings, String> {
        let doc: Doc = parse_strict(json.as_bytes()).map_err(|e| e.to_string())?;
        LlmSettings::compile(doc.llm).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_recognise_builtin_routes_and_deny_compressed() {
        let s = compile(r#"{"llm": {}}"#).unwrap();
        assert!(s.builtin_routes && s.routes.is_empty());
        assert_eq!(s.on_compressed, OnCompressed::Deny);
        assert!(!s.masks("email"), "masking is off by default");
    }

    #[test]
    fn routes_and_masking_compile() {
        let s = compile(
            r#"{"llm": {"routes": [{"authority": "VLLM.internal", "path_prefix": "/v1/chat/completions",
                "provider": "openai_compatible", "api": "chat"}],
                "masking": {"enabled": true, "sub_types": ["email", "us_ssn"]}, "on_compressed": "pass"}}"#,
        )
        .unwrap();
        assert_eq!(s.routes[0].authority.as_deref(), Some("vllm.internal"));
        assert_eq!(s.routes[0].provider, Provider::OpenAiCompatible);
        assert!(s.masks("us_ssn") && !s.masks("phone"));
        assert_eq!(s.on_compressed, OnCompressed::Pass);
    }

    #[test]
    fn mistakes_are_named_by_path() {
        let err = |json: &str| compile(json).unwrap_err();
        assert!(err(
            r#"{"llm": {"routes": [{"path_prefix": "/x", "provider": "google", "api": "chat"}]}}"#
        )
        .starts_with("llm.routes[0].provider: unknown variant `google`"));
        assert!(err(r#"{"llm": {"routes": [{"path_prefix": "/x", "provider": "openai", "api": "chat", "extra": 1}]}}"#)
            .starts_with("llm.routes[0].extra: unknown field"));
        assert!(err(
            r#"{"llm": {"routes": [{"path_prefix": "/x", "provider": "openai", "api": "chat"},
                {"path_prefix": "/y", "provider": "anthropic", "api": "chat"}]}}"#
        )
        .starts_with("llm.routes[1].api: provider \"anthropic\" speaks \"messages\""));
        assert!(err(
            r#"{"llm": {"routes": [{"path_prefix": "v1", "provider": "openai", "api": "chat"}]}}"#
        )
        .starts_with("llm.routes[0].path_prefix: expected a path"));
        assert!(err(r#"{"llm": {"routes": [{"authority": "https://api.openai.com", "path_prefix": "/", "provider": "openai", "api": "chat"}]}}"#)
            .starts_with("llm.routes[0].authority: expected a host name"));
        assert!(err(r#"{"llm": {"masking": {"sub_types": ["Email"]}}}"#)
            .starts_with("llm.masking.sub_types[0]: expected a detection sub-type"));
        assert!(err(r#"{"llm": {"on_compressed": "decode"}}"#)
            .starts_with("llm.on_compressed: unknown variant `decode`"));
        assert!(
            err(r#"{"llm": {"max_event_bytes": 0}}"#).starts_with("llm.max_event_bytes: expected")
        );
    }
}
