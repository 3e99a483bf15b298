//! Route rules: deny requests by method, host and path prefix, optionally only when the body
//! contains a literal. A deliberately small rule language that proves the whole request path.

use serde::Deserialize;
use std::collections::HashSet;

use crate::config::ConfigError;
use crate::path;
use crate::request::RequestFacts;

/// HTTP methods a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Method {
    GET,
    HEAD,
    POST,
    PUT,
    PATCH,
    DELETE,
    OPTIONS,
    CONNECT,
    TRACE,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            Method::CONNECT => "CONNECT",
            Method::TRACE => "TRACE",
        }
    }
}

/// One rule as written in the configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub id: String,
    #[serde(default, rename = "match")]
    pub matcher: MatchConfig,
    #[serde(default)]
    pub body_contains: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a rule matches on; absent fields match anything.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    #[serde(default)]
    pub method: Option<Method>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// A rule ready for the request path.
#[derive(Debug)]
struct Rule {
    id: String,
    method: Option<Method>,
    host: Option<String>,
    path_prefix: Option<String>,
    body_contains: Option<Vec<u8>>,
    reason: String,
}

/// The rules in configuration order.
#[derive(Debug, Default)]
pub struct CompiledRules {
    rules: Vec<Rule>,
}

/// The rule that matched and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMatch<'a> {
    pub rule: &'a str,
    pub reason: &'a str,
}

impl CompiledRules {
    pub fn compile(configs: &[RuleConfig]) -> Result<CompiledRules, ConfigError> {
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(configs.len());
        for (i, c) in configs.iter().enumerate() {
            let at = |field: &str| format!("rules[{i}].{field}");
            if c.id.is_empty() {
                return Err(ConfigError::new(at("id"), "expected a non-empty string"));
            }
            if !seen.insert(c.id.as_str()) {
                return Err(ConfigError::new(
                    at("id"),
                    format!("duplicate rule id {:?}", c.id),
                ));
            }
            if let Some(prefix) = &c.matcher.path_prefix {
                if !prefix.starts_with('/') {
                    return Err(ConfigError::new(
                        at("match.path_prefix"),
                        format!("expected a path starting with \"/\", got {prefix:?}"),
                    ));
                }
            }
            if c.body_contains.as_deref() == Some("") {
                return Err(ConfigError::new(
                    at("body_contains"),
                    "expected a non-empty string",
                ));
            }
            rules.push(Rule {
                id: c.id.clone(),
                method: c.matcher.method,
                host: c.matcher.host.as_ref().map(|h| h.to_ascii_lowercase()),
                path_prefix: c.matcher.path_prefix.clone(),
                body_contains: c.body_contains.as_ref().map(|s| s.as_bytes().to_vec()),
                reason: c
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("denied by rule {}", c.id)),
            });
        }
        Ok(CompiledRules { rules })
    }

    /// Whether any rule looks at the body (so the body must be buffered).
    pub fn needs_body(&self) -> bool {
        self.rules.iter().any(|r| r.body_contains.is_some())
    }

    /// The first rule that denies this request. `body` is `None` while it has not arrived yet:
    /// then only rules without a body condition can match.
    pub fn first_denial(&self, req: &RequestFacts, body: Option<&[u8]>) -> Option<RuleMatch<'_>> {
        self.rules
            .iter()
            .find(|r| {
                r.matches_route(req)
                    && match (&r.body_contains, body) {
                        (None, _) => true,
                        (Some(_), None) => false,
                        (Some(needle), Some(body)) => contains(body, needle),
                    }
            })
            .map(|r| RuleMatch {
                rule: &r.id,
                reason: &r.reason,
            })
    }
}

impl Rule {
    fn matches_route(&self, req: &RequestFacts) -> bool {
        self.method.is_none_or(|m| m.as_str() == req.method)
            && self
                .host
                .as_deref()
                .is_none_or(|h| h == req.host_without_port())
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path::has_segment_prefix(&req.path, p))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_strict;

    fn rules(json: &str) -> CompiledRules {
        CompiledRules::compile(&parse_strict::<Vec<RuleConfig>>(json.as_bytes()).unwrap()).unwrap()
    }

    fn req(method: &str, host: &str, path: &str) -> RequestFacts {
        RequestFacts {
            method: method.into(),
            authority: host.into(),
            path: path.into(),
            ..RequestFacts::default()
        }
    }

    #[test]
    fn route_rules_match_method_host_and_segment_prefix() {
        let r = rules(
            r#"[{"id":"no-admin","match":{"method":"DELETE","host":"API.example","path_prefix":"/admin"}}]"#,
        );
        assert_eq!(
            r.first_denial(&req("DELETE", "api.example:8080", "/admin/users"), None)
                .map(|m| m.rule),
            Some("no-admin")
        );
        assert!(r
            .first_denial(&req("DELETE", "api.example", "/administrator"), None)
            .is_none());
        assert!(r
            .first_denial(&req("GET", "api.example", "/admin"), None)
            .is_none());
        assert!(r
            .first_denial(&req("DELETE", "other", "/admin"), None)
            .is_none());
    }

    #[test]
    fn body_rules_wait_for_the_body() {
        let r = rules(r#"[{"id":"no-secret","body_contains":"TOPSECRET","reason":"leak"}]"#);
        assert!(r.needs_body());
        let q = req("POST", "h", "/");
        assert!(r.first_denial(&q, None).is_none());
        assert!(r.first_denial(&q, Some(b"hello")).is_none());
        let m = r.first_denial(&q, Some(b"x TOPSECRET y")).unwrap();
        assert_eq!((m.rule, m.reason), ("no-secret", "leak"));
    }

    #[test]
    fn bad_rules_are_rejected_with_paths() {
        let bad = |json: &str| {
            CompiledRules::compile(&parse_strict::<Vec<RuleConfig>>(json.as_bytes()).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(bad(r#"[{"id":"a"},{"id":"a"}]"#).starts_with("rules[1].id: duplicate"));
        assert!(bad(r#"[{"id":"a","match":{"path_prefix":"admin"}}]"#)
            .starts_with("rules[0].match.path_prefix: expected a path"));
        assert!(bad(r#"[{"id":"a","body_contains":""}]"#).starts_with("rules[0].body_contains"));
    }
}
