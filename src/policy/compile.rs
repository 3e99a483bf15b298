//! Policies compiled once per VM: validated with JSON paths, limits enforced, sorted by priority,
//! globs and regexes built, field paths split. The result is what evaluation walks per request.

use std::collections::HashSet;

use super::approval::ApprovalKey;
use super::condition::{Budget, Cond};
use super::glob::Glob;
use super::model::{
    parse_duration, ApproverModel, BudgetPeriod, DefaultEffect, Effect, PolicyModel,
    RateLimitScope, RuleModel, SessionEffect, SessionRulesModel,
};
use super::ratelimit::LastCounter;
use super::session::{Risk, Sequence, SessionRules, Sessions, MAX_HISTORY};
use super::settings::{ApprovalSettings, StateSettings, MAX_SLOTS};
use super::state::Table;
use crate::config::{ConfigError, Environment, PrincipalType};

pub const MAX_POLICIES: usize = 1_000;
pub const MAX_RULES_PER_POLICY: usize = 1_000;
/// Condition nodes plus `in` list members across all policies.
pub const MAX_CONDITION_ITEMS: usize = 200_000;
pub const MAX_ID_LEN: usize = 256;
pub const MAX_SCOPE_ENTRIES: usize = 256;
pub const MAX_SEQUENCES: usize = 64;
pub const MAX_SEQUENCE_STEPS: usize = 16;
/// `lookbackActions` when a forbidden sequence does not say.
pub const DEFAULT_LOOKBACK: usize = 64;

/// A policy ready for evaluation.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: Box<str>,
    pub version: Box<str>,
    pub enabled: bool,
    pub priority: i64,
    pub scope: Scope,
    pub rules: Box<[Rule]>,
    pub default_effect: Option<DefaultEffect>,
    pub session: Option<SessionRules>,
    /// JSON path of the policy in its document, for lint messages.
    pub path: String,
    /// Evaluated for the audit line only, never enforced (`policy_modes`, see [`super::shadow`]).
    pub shadow: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub action_types: Box<[Glob]>,
    pub principal_types: Box<[PrincipalType]>,
    pub environments: Box<[Environment]>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Box<str>,
    pub reason: Box<str>,
    pub effect: Effect,
    pub condition: Option<Cond>,
    pub rate_limit: Option<RateLimit>,
    pub approval: Option<ApprovalInfo>,
    pub constraints: Option<Constraints>,
    pub budget: Option<CostBudget>,
}

#[derive(Debug, Clone)]
pub struct RateLimit {
    pub requests: u64,
    pub window_secs: u64,
    pub window: Box<str>,
    pub scope: RateLimitScope,
    pub counter: LastCounter,
}

#[derive(Debug, Clone)]
pub struct ApprovalInfo {
    pub required: u32,
    pub expires_in: Option<Box<str>>,
    pub approvers: Vec<ApproverModel>,
}

#[derive(Debug, Clone)]
pub struct Constraints {
    pub max_amount: Option<f64>,
    /// Lower-cased; `*.example.com` matches subdomains only.
    pub allowed_domains: Option<Box<[Box<str>]>>,
    pub timeout: Option<u64>,
    pub require: Box<[Box<str>]>,
}

#[derive(Debug, Clone)]
pub struct CostBudget {
    pub max_action_cost: Option<f64>,
    pub max_budget: f64,
    pub period: BudgetPeriod,
    pub scope: RateLimitScope,
    pub counter: LastCounter,
}

/// All policies and the engine's settings, compiled.
#[derive(Debug)]
pub struct PolicyEngine {
    /// Enabled policies in evaluation order (priority descending, stable).
    pub policies: Vec<Policy>,
    /// Disabled policies, kept for lint.
    pub disabled: Vec<Policy>,
    pub approval_key: Option<ApprovalKey>,
    pub approval_header: String,
    pub counters: Table,
    pub sessions: Sessions,
    pub used_tokens: Table,
}

impl PolicyEngine {
    /// Compile `models` found at JSON path `base` (`policies` in a filter configuration, `$` for
    /// a file holding a list); `path_of(i)` is the path of policy `i` in error messages.
    pub fn compile(
        models: &[PolicyModel],
        base: &str,
        path_of: &dyn Fn(usize) -> String,
        approval: &ApprovalSettings,
        state: &StateSettings,
    ) -> Result<PolicyEngine, ConfigError> {
        if models.len() > MAX_POLICIES {
            return Err(ConfigError::new(
                base,
                format!(
                    "{} policies exceed the limit of {MAX_POLICIES}",
                    models.len()
                ),
            ));
        }
        let mut budget = Budget {
            remaining: MAX_CONDITION_ITEMS,
            limit: MAX_CONDITION_ITEMS,
        };
        let mut ids = HashSet::new();
        let mut all = Vec::with_capacity(models.len());
        for (i, m) in models.iter().enumerate() {
            let path = path_of(i);
            let policy = compile_policy(m, &path, &mut budget)?;
            if !ids.insert(m.id.as_str()) {
                return Err(ConfigError::new(
                    at(&path, "id"),
                    format!("duplicate policy id {:?}", m.id),
                ));
            }
            all.push(policy);
        }
        // Descending priority; the sort is stable, so ties keep their order in the list.
        all.sort_by_key(|p| std::cmp::Reverse(p.priority));
        let (policies, disabled): (Vec<Policy>, Vec<Policy>) =
            all.into_iter().partition(|p| p.enabled);
        let approval_key = match &approval.key {
            Some(k) => {
                Some(ApprovalKey::from_hex(k).map_err(|e| ConfigError::new("approval.key", e))?)
            }
            None => None,
        };
        if !is_header_name(&approval.header) {
            return Err(ConfigError::new(
                "approval.header",
                format!(
                    "expected a lower-case HTTP header name, got {:?}",
                    approval.header
                ),
            ));
        }
        let slots = |name: &str, n: u32| {
            if n == 0 || n > MAX_SLOTS {
                Err(ConfigError::new(
                    format!("policy_state.{name}"),
                    format!("expected 1 to {MAX_SLOTS}, got {n}"),
                ))
            } else {
                Ok(n)
            }
        };
        let ttl = parse_duration(&state.session_ttl)
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                ConfigError::new(
                    "policy_state.session_ttl",
                    format!(
                        "expected a duration such as \"30m\" or \"1h\", got {:?}",
                        state.session_ttl
                    ),
                )
            })?;
        let capacity = policies
            .iter()
            .filter_map(|p: &Policy| p.session.as_ref())
            .map(SessionRules::history_needed)
            .max()
            .unwrap_or(0);
        Ok(PolicyEngine {
            approval_key,
            approval_header: approval.header.clone(),
            counters: Table {
                name: "counter",
                slots: slots("counter_slots", state.counter_slots)?,
                ways: 4,
                evict_live: true,
            },
            sessions: Sessions {
                table: Table {
                    name: "session",
                    slots: slots("session_slots", state.session_slots)?,
                    ways: 4,
                    evict_live: true,
                },
                ttl_secs: ttl,
                capacity,
            },
            used_tokens: Table {
                name: "approval",
                slots: slots("approval_slots", state.approval_slots)?,
                ways: 8,
                evict_live: false,
            },
            policies,
            disabled,
        })
    }
}

/// `base.field`, or `field` when `base` is empty.
pub fn at(base: &str, field: &str) -> String {
    match (base.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => base.to_owned(),
        (false, false) if field.starts_with('[') => format!("{base}{field}"),
        (false, false) => format!("{base}.{field}"),
    }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn check_id(id: &str, path: String) -> Result<(), ConfigError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(ConfigError::new(
            path,
            format!("expected a non-empty id of at most {MAX_ID_LEN} bytes"),
        ));
    }
    Ok(())
}

fn is_semver(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn compile_policy(m: &PolicyModel, path: &str, budget: &mut Budget) -> Result<Policy, ConfigError> {
    check_id(&m.id, at(path, "id"))?;
    if !is_semver(&m.version) {
        return Err(ConfigError::new(
            at(path, "version"),
            format!("expected a version such as \"1.0.0\", got {:?}", m.version),
        ));
    }
    let scope = m.scope.clone().unwrap_or_default();
    if scope.action_types.len() > MAX_SCOPE_ENTRIES {
        return Err(ConfigError::new(
            at(path, "scope.actionTypes"),
            format!("at most {MAX_SCOPE_ENTRIES} patterns"),
        ));
    }
    for (i, t) in scope.action_types.iter().enumerate() {
        if t.is_empty() {
            return Err(ConfigError::new(
                at(path, &format!("scope.actionTypes[{i}]")),
                "expected a non-empty pattern",
            ));
        }
    }
    if m.rules.len() > MAX_RULES_PER_POLICY {
        return Err(ConfigError::new(
            at(path, "rules"),
            format!(
                "{} rules exceed the limit of {MAX_RULES_PER_POLICY}",
                m.rules.len()
            ),
        ));
    }
    let mut rule_ids = HashSet::new();
    let mut rules = Vec::with_capacity(m.rules.len());
    for (i, r) in m.rules.iter().enumerate() {
        let rpath = at(path, &format!("rules[{i}]"));
        if !rule_ids.insert(r.id.as_str()) {
            return Err(ConfigError::new(
                at(&rpath, "id"),
                format!("duplicate rule id {:?} in this policy", r.id),
            ));
        }
        rules.push(compile_rule(r, &rpath, budget)?);
    }
    let session = match &m.session_rules {
        Some(s) => Some(compile_session(s, &at(path, "sessionRules"))?),
        None => None,
    };
    Ok(Policy {
        id: m.id.as_str().into(),
        version: m.version.as_str().into(),
        enabled: m.enabled.unwrap_or(true),
        priority: m.priority.unwrap_or(0),
        scope: Scope {
            action_types: scope.action_types.iter().map(|t| Glob::new(t)).collect(),
            principal_types: scope.principal_types.into(),
            environments: scope.environments.into(),
        },
        rules: rules.into(),
        default_effect: m.default_effect,
        session,
        path: path.to_owned(),
        shadow: false,
    })
}

fn duration(text: &str, path: String) -> Result<u64, ConfigError> {
    parse_duration(text).filter(|s| *s > 0).ok_or_else(|| {
        ConfigError::new(
            path,
            format!("expected a duration such as \"30s\", \"10m\", \"1h\" or \"7d\", got {text:?}"),
        )
    })
}

fn non_negative(x: f64, path: String) -> Result<f64, ConfigError> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(ConfigError::new(
            path,
            format!("expected a non-negative number, got {x}"),
        ))
    }
}

fn compile_rule(r: &RuleModel, path: &str, budget: &mut Budget) -> Result<Rule, ConfigError> {
    check_id(&r.id, at(path, "id"))?;
    let condition = match &r.condition {
        Some(c) => Some(Cond::compile(c, &at(path, "condition"), budget)?),
        None => None,
    };
    let rate_limit = match &r.rate_limit {
        Some(rl) => {
            if rl.requests == 0 {
                return Err(ConfigError::new(
                    at(path, "rateLimit.requests"),
                    "expected at least 1",
                ));
            }
            Some(RateLimit {
                requests: rl.requests,
                window_secs: duration(&rl.window, at(path, "rateLimit.window"))?,
                window: rl.window.as_str().into(),
                scope: rl.scope.unwrap_or(RateLimitScope::Principal),
                counter: LastCounter::default(),
            })
        }
        None => None,
    };
    let approval = match &r.approval_config {
        Some(a) => {
            if a.required_approvals == Some(0) {
                return Err(ConfigError::new(
                    at(path, "approvalConfig.requiredApprovals"),
                    "expected at least 1",
                ));
            }
            if let Some(e) = &a.expires_in {
                duration(e, at(path, "approvalConfig.expiresIn"))?;
            }
            Some(ApprovalInfo {
                required: a.required_approvals.unwrap_or(1),
                expires_in: a.expires_in.as_deref().map(Box::from),
                approvers: a.approvers.clone(),
            })
        }
        None => None,
    };
    let constraints = match &r.constraints {
        Some(c) => Some(Constraints {
            max_amount: c
                .max_amount
                .map(|x| non_negative(x, at(path, "constraints.maxAmount")))
                .transpose()?,
            allowed_domains: c
                .allowed_domains
                .as_ref()
                .map(|ds| {
                    ds.iter()
                        .enumerate()
                        .map(|(i, d)| {
                            domain_pattern(d, at(path, &format!("constraints.allowedDomains[{i}]")))
                        })
                        .collect::<Result<Box<[_]>, _>>()
                })
                .transpose()?,
            timeout: c.timeout,
            require: c
                .require_constraints
                .iter()
                .map(|s| Box::from(s.as_str()))
                .collect(),
        }),
        None => None,
    };
    let budget_rule = match &r.cost_budget {
        Some(b) => Some(CostBudget {
            max_action_cost: b
                .max_action_cost
                .map(|x| non_negative(x, at(path, "costBudget.maxActionCost")))
                .transpose()?,
            max_budget: non_negative(b.max_budget, at(path, "costBudget.maxBudget"))?,
            period: b.period,
            scope: b.scope.unwrap_or(RateLimitScope::Principal),
            counter: LastCounter::default(),
        }),
        None => None,
    };
    Ok(Rule {
        id: r.id.as_str().into(),
        reason: r
            .description
            .clone()
            .unwrap_or_else(|| format!("Rule {} ({})", r.id, r.effect.as_str()))
            .into(),
        effect: r.effect,
        condition,
        rate_limit,
        approval,
        constraints,
        budget: budget_rule,
    })
}

fn domain_pattern(d: &str, path: String) -> Result<Box<str>, ConfigError> {
    let bare = d.strip_prefix("*.").unwrap_or(d);
    let valid = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !bare.starts_with('.')
        && !bare.ends_with('.');
    if !valid {
        return Err(ConfigError::new(
            path,
            format!(
                "expected a domain such as \"api.example.com\" or \"*.example.com\", got {d:?}"
            ),
        ));
    }
    Ok(d.to_ascii_lowercase().into())
}

fn compile_session(s: &SessionRulesModel, path: &str) -> Result<SessionRules, ConfigError> {
    if s.forbidden_sequences.len() > MAX_SEQUENCES {
        return Err(ConfigError::new(
            at(path, "forbiddenSequences"),
            format!("at most {MAX_SEQUENCES} sequences"),
        ));
    }
    let mut sequences = Vec::with_capacity(s.forbidden_sequences.len());
    for (i, f) in s.forbidden_sequences.iter().enumerate() {
        let spath = at(path, &format!("forbiddenSequences[{i}]"));
        if f.sequence.len() < 2 || f.sequence.len() > MAX_SEQUENCE_STEPS {
            return Err(ConfigError::new(
                at(&spath, "sequence"),
                format!(
                    "expected 2 to {MAX_SEQUENCE_STEPS} action types, got {}",
                    f.sequence.len()
                ),
            ));
        }
        let lookback = f.lookback_actions.map_or(DEFAULT_LOOKBACK, |n| n as usize);
        if lookback < f.sequence.len() || lookback > MAX_HISTORY {
            return Err(ConfigError::new(
                at(&spath, "lookbackActions"),
                format!(
                    "expected {} to {MAX_HISTORY} (at least the sequence length), got {lookback}",
                    f.sequence.len()
                ),
            ));
        }
        sequences.push(Sequence {
            id: f.id.as_deref().map(Box::from),
            steps: f.sequence.iter().map(|t| Glob::new(t)).collect(),
            text: f.sequence.iter().map(|t| Box::from(t.as_str())).collect(),
            lookback,
            effect: f.effect,
            reason: f.reason.as_deref().map(Box::from),
        });
    }
    let risk = match &s.session_risk_threshold {
        Some(r) => {
            let rpath = at(path, "sessionRiskThreshold");
            let max_score = non_negative(r.max_score, at(&rpath, "maxScore"))?;
            if r.risk_weights.len() > MAX_SCOPE_ENTRIES {
                return Err(ConfigError::new(
                    at(&rpath, "riskWeights"),
                    format!("at most {MAX_SCOPE_ENTRIES} weights"),
                ));
            }
            let weights = r
                .risk_weights
                .iter()
                .map(|(k, v)| {
                    let w = v.as_f64().ok_or_else(|| {
                        ConfigError::new(
                            at(&rpath, &format!("riskWeights.{k}")),
                            "expected a number",
                        )
                    })?;
                    Ok((Box::from(k.as_str()), Glob::new(k), w))
                })
                .collect::<Result<Box<[_]>, ConfigError>>()?;
            Some(Risk {
                max_score,
                weights,
                effect: r.effect.unwrap_or(SessionEffect::Deny),
            })
        }
        None => None,
    };
    Ok(SessionRules {
        max_actions: s.max_actions_per_session,
        sequences: sequences.into(),
        risk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_strict;

    fn compile(json: &str) -> Result<PolicyEngine, ConfigError> {
        let models: Vec<PolicyModel> = parse_strict(json.as_bytes())?;
        PolicyEngine::compile(
            &models,
            "policies",
            &|i| format!("policies[{i}]"),
            &ApprovalSettings::default(),
            &StateSettings::default(),
        )
    }

    fn err(json: &str) -> String {
        compile(json).unwrap_err().to_string()
    }

    const P: &str = r#""id":"p","name":"n","version":"1.0.0""#;

    #[test]
    fn sorts_by_priority_keeping_ties_in_order_and_sets_aside_disabled() {
        let e = compile(
            r#"[{"id":"a","name":"n","version":"1.0.0","rules":[]},
                {"id":"b","name":"n","version":"1.0.0","rules":[],"priority":5},
                {"id":"c","name":"n","version":"1.0.0","rules":[]},
                {"id":"d","name":"n","version":"1.0.0","rules":[],"enabled":false}]"#,
        )
        .unwrap();
        let order: Vec<&str> = e.policies.iter().map(|p| &*p.id).collect();
        assert_eq!(order, vec!["b", "a", "c"]);
        assert_eq!(e.disabled.len(), 1);
    }

    #[test]
    fn strict_types_and_values_are_named_by_path() {
        assert!(err(&format!(r#"[{{{P},"rules":[],"enabled":"false"}}]"#))
            .starts_with("[0].enabled: invalid type: string"));
        assert!(err(&format!(r#"[{{{P},"rules":[],"bogus":1}}]"#))
            .starts_with("[0].bogus: unknown field"));
        assert!(err(r#"[{"id":"p","name":"n","version":"1.0","rules":[]}]"#)
            .starts_with("policies[0].version: expected a version"));
        assert!(err(&format!(
            r#"[{{{P},"rules":[{{"id":"r","effect":"allow"}},{{"id":"r","effect":"deny"}}]}}]"#
        ))
        .starts_with("policies[0].rules[1].id: duplicate rule id"));
        assert!(err(&format!(r#"[{{{P},"rules":[]}},{{{P},"rules":[]}}]"#))
            .starts_with("policies[1].id: duplicate policy id"));
        assert!(err(&format!(r#"[{{{P},"rules":[{{"id":"r","effect":"allow","rateLimit":{{"requests":5,"window":"1w"}}}}]}}]"#))
            .starts_with("policies[0].rules[0].rateLimit.window: expected a duration"));
        assert!(err(&format!(r#"[{{{P},"rules":[{{"id":"r","effect":"allow","rateLimit":{{"requests":0,"window":"1m"}}}}]}}]"#))
            .starts_with("policies[0].rules[0].rateLimit.requests"));
        assert!(err(&format!(
            r#"[{{{P},"rules":[{{"id":"r","effect":"maybe"}}]}}]"#
        ))
        .starts_with("[0].rules[0].effect: unknown variant"));
        assert!(err(&format!(
            r#"[{{{P},"rules":[],"scope":{{"environments":["prod"]}}}}]"#
        ))
        .contains("unknown variant `prod`"));
        assert!(err(&format!(
            r#"[{{{P},"rules":[],"sessionRules":{{"forbiddenSequences":[{{"sequence":["a"],"effect":"deny"}}]}}}}]"#
        ))
        .starts_with("policies[0].sessionRules.forbiddenSequences[0].sequence: expected 2"));
        assert!(err(&format!(
            r#"[{{{P},"rules":[{{"id":"r","effect":"allow","constraints":{{"allowedDomains":["http://x"]}}}}]}}]"#
        ))
        .starts_with("policies[0].rules[0].constraints.allowedDomains[0]"));
        assert!(err(&format!(r#"[{{{P},"rules":[{{"id":"r","effect":"allow","condition":{{"field":"a","operator":"eq"}}}}]}}]"#))
            .starts_with("policies[0].rules[0].condition.value: this operator needs a value"));
    }

    #[test]
    fn settings_are_checked_without_echoing_the_key() {
        let bad_key = ApprovalSettings {
            key: Some("secret-but-short".into()),
            ..ApprovalSettings::default()
        };
        let e = PolicyEngine::compile(
            &[],
            "policies",
            &|i| format!("policies[{i}]"),
            &bad_key,
            &StateSettings::default(),
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("approval.key: expected the key as hex"));
        assert!(!e.to_string().contains("secret-but-short"));
        assert!(!format!("{bad_key:?}").contains("secret"));
        let zero = StateSettings {
            counter_slots: 0,
            ..StateSettings::default()
        };
        let e = PolicyEngine::compile(
            &[],
            "policies",
            &|i| format!("policies[{i}]"),
            &ApprovalSettings::default(),
            &zero,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("policy_state.counter_slots"));
    }

    #[test]
    fn hostile_sizes_are_errors_not_panics() {
        let many = vec![r#"{"id":"r","effect":"allow"}"#; MAX_RULES_PER_POLICY + 1].join(",");
        assert!(err(&format!(r#"[{{{P},"rules":[{many}]}}]"#)).contains("exceed the limit"));
        let huge = vec!["1"; MAX_CONDITION_ITEMS + 1].join(",");
        assert!(err(&format!(
            r#"[{{{P},"rules":[{{"id":"r","effect":"allow","condition":{{"field":"a","operator":"in","value":[{huge}]}}}}]}}]"#
        ))
        .contains("condition nodes"));
        let deep = format!("{}{}", r#"{"not":"#.repeat(200), "}".repeat(200));
        let e = err(&format!(
            r#"[{{{P},"rules":[{{"id":"r","effect":"allow","condition":{deep}}}]}}]"#
        ));
        assert!(
            e.contains("recursion limit") || e.contains("nest deeper"),
            "{e}"
        );
        assert!(err(&format!(r#"[{{{P},"rules":{{"id":"r"}}}}]"#))
            .starts_with("[0].rules: invalid type: map"));
        let id = "x".repeat(MAX_ID_LEN + 1);
        assert!(err(&format!(
            r#"[{{"id":"{id}","name":"n","version":"1.0.0","rules":[]}}]"#
        ))
        .contains("at most 256 bytes"));
    }
}
