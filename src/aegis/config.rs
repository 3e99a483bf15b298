//! The `aegis` section of the filter configuration as the user writes it, and its validation into
//! the per-type settings the scanner consults on every detection. Parsed strictly like the rest of
//! the configuration: errors name their JSON path (`aegis.custom_rules[1].regex: ...`).

use std::collections::HashSet;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::detection::{DetectionType, Severity};

/// What the filter does with a detection of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Record it in the audit line only.
    Log,
    /// Replace the matched text with `[REDACTED:<SUB_TYPE>]` and let the request go on.
    Redact,
    /// Stop the request.
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Log => "log",
            Action::Redact => "redact",
            Action::Block => "block",
        }
    }
}

/// The whole `aegis` object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AegisConfig {
    /// Master switch for content scanning.
    pub enabled: bool,
    pub injection: DetectorConfig,
    pub pii: DetectorConfig,
    pub credentials: DetectorConfig,
    pub code_safety: DetectorConfig,
    pub exfiltration: DetectorConfig,
    /// Extra rules: literal keywords, optionally confirmed by a regex near them.
    pub custom_rules: Vec<CustomRuleConfig>,
    /// Strings that must never pass (reported as `exfiltration` / `canary_token`, always blocked).
    pub canaries: Vec<String>,
    /// Decoding of encoded segments before they are scanned again.
    pub decode: DecodeConfig,
    /// Deepest JSON nesting accepted; deeper bodies are an error (fail closed).
    pub max_json_depth: usize,
    /// Most detections kept per body; beyond it the report says `truncated`.
    pub max_detections: usize,
    /// Strings of 256 bytes or more found clean that are remembered per VM, so that a
    /// conversation resent with every call is scanned once (16 bytes each; 0 turns it off).
    pub memo_entries: usize,
}

impl Default for AegisConfig {
    fn default() -> Self {
        AegisConfig {
            enabled: true,
            injection: DetectorConfig::default(),
            pii: DetectorConfig::default(),
            credentials: DetectorConfig::default(),
            code_safety: DetectorConfig::default(),
            exfiltration: DetectorConfig::default(),
            custom_rules: Vec::new(),
            canaries: Vec::new(),
            decode: DecodeConfig::default(),
            max_json_depth: 64,
            max_detections: 256,
            memo_entries: 4096,
        }
    }
}

/// Settings of one detector type. Unset `action` and `min_severity` take the type's defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    pub enabled: bool,
    pub action: Option<Action>,
    pub min_severity: Option<Severity>,
    /// Exact values that are never reported (for numbers, separators are ignored:
    /// `4242 4242 4242 4242` allows `4242424242424242`).
    pub allow: Vec<String>,
    /// Domains (and their subdomains) whose e-mail addresses and URLs are never reported.
    pub allow_domains: Vec<String>,
    /// Sub-types of this detector switched off, e.g. `["ip_address"]`.
    pub disabled_sub_types: Vec<String>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            enabled: true,
            action: None,
            min_severity: None,
            allow: Vec::new(),
            allow_domains: Vec::new(),
            disabled_sub_types: Vec::new(),
        }
    }
}

/// A user rule: any of `keywords` (matched on normalised text, case-insensitively) is a candidate;
/// with `regex`, the candidate counts only if the regex matches within `window` bytes of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRuleConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: DetectionType,
    pub sub_type: String,
    #[serde(default = "default_custom_severity")]
    pub severity: Severity,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default = "default_custom_window")]
    pub window: usize,
}

fn default_custom_severity() -> Severity {
    Severity::High
}

fn default_custom_window() -> usize {
    256
}

/// Largest regex window a custom rule may ask for.
pub const MAX_CUSTOM_WINDOW: usize = 4096;

/// Which encodings are decoded and scanned again, and how far.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    pub base64: bool,
    pub hex: bool,
    pub percent: bool,
    /// Nested decoding levels (base64 inside base64...), 0 to 3.
    pub max_depth: u8,
    /// Most decoded bytes per scanned string.
    pub max_bytes: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            base64: true,
            hex: true,
            percent: true,
            max_depth: 2,
            max_bytes: 64 * 1024,
        }
    }
}

/// One type's settings, validated and ready for the request path.
#[derive(Debug, Clone)]
pub struct TypeSettings {
    pub enabled: bool,
    pub action: Action,
    pub min_severity: Severity,
    pub allow: HashSet<String>,
    pub allow_domains: Vec<String>,
    pub disabled_sub_types: HashSet<String>,
}

impl TypeSettings {
    /// The action and threshold a type has when the configuration does not say.
    fn defaults(kind: DetectionType) -> (Action, Severity) {
        match kind {
            DetectionType::Injection => (Action::Block, Severity::Medium),
            DetectionType::Pii => (Action::Redact, Severity::Medium),
            DetectionType::Credentials => (Action::Redact, Severity::Medium),
            DetectionType::CodeSafety => (Action::Block, Severity::Medium),
            DetectionType::Exfiltration => (Action::Block, Severity::Medium),
        }
    }

    /// Validate one detector's configuration; `known_sub_types` lists the sub-types it can report.
    pub fn compile(
        kind: DetectionType,
        config: &DetectorConfig,
        known_sub_types: &[&str],
    ) -> Result<TypeSettings, ConfigError> {
        let path = format!("aegis.{}", kind.as_str());
        let (action, min_severity) = TypeSettings::defaults(kind);
        let mut allow = HashSet::new();
        for (i, value) in config.allow.iter().enumerate() {
            if value.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.allow[{i}]"),
                    "expected a non-empty value",
                ));
            }
            allow.insert(allow_key(value));
        }
        let mut allow_domains = Vec::new();
        for (i, domain) in config.allow_domains.iter().enumerate() {
            let d = domain.trim_start_matches('.').to_ascii_lowercase();
            if !is_domain(&d) {
                return Err(ConfigError::new(
                    format!("{path}.allow_domains[{i}]"),
                    format!("expected a domain name like `corp.example.com`, got {domain:?}"),
                ));
            }
            allow_domains.push(d);
        }
        let mut disabled_sub_types = HashSet::new();
        for (i, sub) in config.disabled_sub_types.iter().enumerate() {
            if !known_sub_types.contains(&sub.as_str()) {
                return Err(ConfigError::new(
                    format!("{path}.disabled_sub_types[{i}]"),
                    format!(
                        "unknown sub-type {sub:?}; {} reports: {}",
                        kind.as_str(),
                        known_sub_types.join(", ")
                    ),
                ));
            }
            disabled_sub_types.insert(sub.clone());
        }
        Ok(TypeSettings {
            enabled: config.enabled,
            action: config.action.unwrap_or(action),
            min_severity: config.min_severity.unwrap_or(min_severity),
            allow,
            allow_domains,
            disabled_sub_types,
        })
    }

    /// Whether `domain` is one of the allowed domains or below one.
    pub fn domain_allowed(&self, domain: &str) -> bool {
        let domain = domain.trim_end_matches('.');
        self.allow_domains.iter().any(|allowed| {
            domain.eq_ignore_ascii_case(allowed)
                || (domain.len() > allowed.len()
                    && domain
                        .get(domain.len() - allowed.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(allowed))
                    && domain.as_bytes().get(domain.len() - allowed.len() - 1) == Some(&b'.'))
        })
    }
}

/// The form an allow-list entry and a matched value are compared in: digit-only values lose their
/// separators, everything else is compared as written.
pub fn allow_key(value: &str) -> String {
    let trimmed = value.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let only_digits_and_separators = trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'));
    if only_digits_and_separators && digits.len() >= 4 {
        digits
    } else {
        trimmed.to_owned()
    }
}

fn is_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Check a custom rule's plain fields (the regex is compiled by the caller).
pub fn check_custom_rule(
    i: usize,
    rule: &CustomRuleConfig,
    seen: &mut HashSet<String>,
) -> Result<(), ConfigError> {
    let path = format!("aegis.custom_rules[{i}]");
    let id_ok = !rule.id.is_empty()
        && rule
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !id_ok {
        return Err(ConfigError::new(
            format!("{path}.id"),
            format!(
                "expected letters, digits, `_`, `-` or `.`, got {:?}",
                rule.id
            ),
        ));
    }
    if !seen.insert(rule.id.clone()) {
        return Err(ConfigError::new(
            format!("{path}.id"),
            format!("duplicate rule id {:?}", rule.id),
        ));
    }
    let sub_ok = !rule.sub_type.is_empty()
        && rule
            .sub_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !sub_ok {
        return Err(ConfigError::new(
            format!("{path}.sub_type"),
            format!("expected letters, digits or `_`, got {:?}", rule.sub_type),
        ));
    }
    if rule.keywords.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.keywords"),
            "expected at least one keyword (keywords are the rule's prefilter)",
        ));
    }
    for (k, keyword) in rule.keywords.iter().enumerate() {
        if keyword.trim().chars().count() < 3 {
            return Err(ConfigError::new(
                format!("{path}.keywords[{k}]"),
                format!("expected at least 3 characters, got {keyword:?}"),
            ));
        }
    }
    if rule.window == 0 || rule.window > MAX_CUSTOM_WINDOW {
        return Err(ConfigError::new(
            format!("{path}.window"),
            format!(
                "expected 1 to {MAX_CUSTOM_WINDOW} bytes, got {}",
                rule.window
            ),
        ));
    }
    Ok(())
}

/// Check the global limits and canaries.
pub fn check_limits(config: &AegisConfig) -> Result<(), ConfigError> {
    if config.max_json_depth == 0 || config.max_json_depth > 512 {
        return Err(ConfigError::new(
            "aegis.max_json_depth",
            format!("expected 1 to 512, got {}", config.max_json_depth),
        ));
    }
    if config.max_detections == 0 || config.max_detections > 10_000 {
        return Err(ConfigError::new(
            "aegis.max_detections",
            format!("expected 1 to 10000, got {}", config.max_detections),
        ));
    }
    if config.memo_entries > 1 << 20 {
        return Err(ConfigError::new(
            "aegis.memo_entries",
            format!("expected 0 to 1048576, got {}", config.memo_entries),
        ));
    }
    if config.decode.max_depth > 3 {
        return Err(ConfigError::new(
            "aegis.decode.max_depth",
            format!("expected 0 to 3, got {}", config.decode.max_depth),
        ));
    }
    if config.decode.max_bytes > 1024 * 1024 {
        return Err(ConfigError::new(
            "aegis.decode.max_bytes",
            format!(
                "expected at most 1048576 bytes, got {}",
                config.decode.max_bytes
            ),
        ));
    }
    for (i, canary) in config.canaries.iter().enumerate() {
        if canary.chars().count() < 8 || canary.chars().any(char::is_whitespace) {
            return Err(ConfigError::new(
                format!("aegis.canaries[{i}]"),
                "expected a token of at least 8 characters without whitespace",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_keys_ignore_number_separators_only() {
        assert_eq!(allow_key("4242 4242-4242 4242"), "4242424242424242");
        assert_eq!(allow_key(" alice@corp.example "), "alice@corp.example");
    }

    #[test]
    fn allowed_domains_cover_subdomains_but_not_lookalikes() {
        let config = DetectorConfig {
            allow_domains: vec!["corp.example".into()],
            ..DetectorConfig::default()
        };
        let s = TypeSettings::compile(DetectionType::Pii, &config, &[]).unwrap();
        assert!(s.domain_allowed("corp.example"));
        assert!(s.domain_allowed("mail.CORP.example"));
        assert!(!s.domain_allowed("evilcorp.example"));
        assert!(!s.domain_allowed("corp.example.evil"));
    }

    #[test]
    fn unknown_sub_type_and_bad_domain_are_named_by_path() {
        let config = DetectorConfig {
            disabled_sub_types: vec!["ip_adress".into()],
            ..DetectorConfig::default()
        };
        let e = TypeSettings::compile(DetectionType::Pii, &config, &["ip_address"]).unwrap_err();
        assert_eq!(e.path, "aegis.pii.disabled_sub_types[0]");
        let config = DetectorConfig {
            allow_domains: vec!["not a domain".into()],
            ..DetectorConfig::default()
        };
        let e = TypeSettings::compile(DetectionType::Exfiltration, &config, &[]).unwrap_err();
        assert_eq!(e.path, "aegis.exfiltration.allow_domains[0]");
    }
}
