//! User-configured detection: custom rules (literal keywords in the shared automaton, optionally
//! confirmed by a regex within a window around the keyword) and canary tokens, strings planted in
//! prompts or data that must never leave; seeing one is an `exfiltration` / `canary_token`.

use std::borrow::Cow;
use std::collections::HashSet;

use regex_lite::Regex;

use super::config::{check_custom_rule, AegisConfig};
use super::finding::{Found, Mask, View};
use super::keywords::{KeywordSetBuilder, Owner};
use crate::config::ConfigError;
use crate::detection::{DetectionType, Severity};

/// The rule id every canary detection carries; canaries are always blocked.
pub const CANARY_RULE: &str = "canary";

#[derive(Debug)]
struct Rule {
    id: String,
    kind: DetectionType,
    sub_type: String,
    severity: Severity,
    keywords: Vec<String>,
    regex: Option<Regex>,
    window: usize,
}

#[derive(Debug, Default)]
pub struct Custom {
    rules: Vec<Rule>,
    canaries: Vec<String>,
}

impl Custom {
    pub fn compile(config: &AegisConfig) -> Result<Custom, ConfigError> {
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for (i, rule) in config.custom_rules.iter().enumerate() {
            check_custom_rule(i, rule, &mut seen)?;
            let regex = rule
                .regex
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| {
                    ConfigError::new(format!("aegis.custom_rules[{i}].regex"), e.to_string())
                })?;
            rules.push(Rule {
                id: rule.id.clone(),
                kind: rule.kind,
                sub_type: rule.sub_type.clone(),
                severity: rule.severity,
                keywords: rule.keywords.clone(),
                regex,
                window: rule.window,
            });
        }
        Ok(Custom {
            rules,
            canaries: config.canaries.clone(),
        })
    }

    /// Sub-types custom rules add to a detection type.
    pub fn sub_types(&self, kind: DetectionType) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .filter(move |r| r.kind == kind)
            .map(|r| r.sub_type.as_str())
    }

    pub fn register(&self, b: &mut KeywordSetBuilder) {
        for (i, rule) in self.rules.iter().enumerate() {
            for keyword in &rule.keywords {
                b.add(Owner::Custom, i as u16, &format!("*{}*", keyword.trim()));
            }
        }
        for (i, canary) in self.canaries.iter().enumerate() {
            b.add(Owner::Canary, i as u16, &format!("*{canary}*"));
        }
    }

    pub fn detect(&self, v: &View<'_>, out: &mut Vec<Found>) {
        for h in v.hits {
            match h.owner() {
                Owner::Custom => {
                    let Some(rule) = self.rules.get(usize::from(h.code())) else {
                        continue;
                    };
                    let span = match &rule.regex {
                        None => Some(h.span()),
                        Some(regex) => {
                            let (window, offset) = v.window(h.span(), rule.window, rule.window);
                            regex
                                .find(window)
                                .map(|m| offset + m.start()..offset + m.end())
                        }
                    };
                    if let Some(span) = span {
                        out.push(Found {
                            kind: rule.kind,
                            sub_type: Cow::Owned(rule.sub_type.clone()),
                            rule: Cow::Owned(format!("custom.{}", rule.id)),
                            ..Found::new(rule.kind, "", rule.severity, 0.9, "", span)
                        });
                    }
                }
                Owner::Canary => out.push(
                    Found::new(
                        DetectionType::Exfiltration,
                        "canary_token",
                        Severity::Critical,
                        1.0,
                        CANARY_RULE,
                        h.span(),
                    )
                    .masked(Mask::Secret),
                ),
                _ => {}
            }
        }
    }
}
