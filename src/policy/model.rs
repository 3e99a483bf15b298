//! The Authensor policy format as written (policy.schema.json plus the engine's extensions
//! `sessionRules`, rule `constraints` and `costBudget`), deserialized strictly: unknown fields and
//! wrong types are errors naming their JSON path. Semantic checks happen in `compile`.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::config::{Environment, PrincipalType};

/// One policy document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyModel {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub version: String,
    /// Strictly a boolean: `"false"` is a type error, not "enabled".
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub scope: Option<ScopeModel>,
    pub rules: Vec<RuleModel>,
    #[serde(default)]
    pub default_effect: Option<DefaultEffect>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub session_rules: Option<SessionRulesModel>,
}

/// When a policy applies. Empty lists impose no restriction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScopeModel {
    #[serde(default)]
    pub action_types: Vec<String>,
    #[serde(default)]
    pub principal_types: Vec<PrincipalType>,
    #[serde(default)]
    pub environments: Vec<Environment>,
}

/// A rule's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
    RequireApproval,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::RequireApproval => "require_approval",
        }
    }
}

/// A policy's `defaultEffect` (the schema allows only these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultEffect {
    Allow,
    Deny,
}

/// What a session rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEffect {
    Deny,
    RequireApproval,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleModel {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub effect: Effect,
    #[serde(default)]
    pub condition: Option<ConditionModel>,
    #[serde(default)]
    pub rate_limit: Option<RateLimitModel>,
    #[serde(default)]
    pub approval_config: Option<ApprovalConfigModel>,
    #[serde(default)]
    pub constraints: Option<ConstraintsModel>,
    #[serde(default)]
    pub cost_budget: Option<CostBudgetModel>,
}

/// A condition node: exactly one of `all`, `any`, `not`, or a leaf `{field, operator, value}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionModel {
    #[serde(default)]
    pub all: Option<Vec<ConditionModel>>,
    #[serde(default)]
    pub any: Option<Vec<ConditionModel>>,
    #[serde(default)]
    pub not: Option<Box<ConditionModel>>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub operator: Option<Operator>,
    /// `Some(Value::Null)` for an explicit `null`, `None` when absent.
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Value>,
}

/// The 13 comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Exists,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitModel {
    pub requests: u64,
    pub window: String,
    #[serde(default)]
    pub scope: Option<RateLimitScope>,
}

/// Whose requests a rate limit or budget counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    Principal,
    #[serde(alias = "action_type")]
    Action,
    Global,
}

impl RateLimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::Principal => "principal",
            RateLimitScope::Action => "action",
            RateLimitScope::Global => "global",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalConfigModel {
    #[serde(default)]
    pub approvers: Vec<ApproverModel>,
    #[serde(default)]
    pub expires_in: Option<String>,
    #[serde(default)]
    pub required_approvals: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApproverModel {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Rule-level constraints (engine extension), checked when the rule matches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConstraintsModel {
    #[serde(default)]
    pub max_amount: Option<f64>,
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default)]
    pub timeout: Option<u64>,
    #[serde(default)]
    pub require_constraints: Vec<String>,
}

/// Rule-level cost budget (engine extension).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CostBudgetModel {
    #[serde(default)]
    pub max_action_cost: Option<f64>,
    pub max_budget: f64,
    pub period: BudgetPeriod,
    #[serde(default)]
    pub scope: Option<RateLimitScope>,
    #[serde(default)]
    pub alert_thresholds: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Hourly,
    Daily,
    Monthly,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Hourly => "hourly",
            BudgetPeriod::Daily => "daily",
            BudgetPeriod::Monthly => "monthly",
        }
    }

    /// Length of the period in seconds (a month is 30 days).
    pub fn seconds(self) -> u64 {
        match self {
            BudgetPeriod::Hourly => 3_600,
            BudgetPeriod::Daily => 86_400,
            BudgetPeriod::Monthly => 30 * 86_400,
        }
    }
}

/// Policy-level session rules (engine extension).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionRulesModel {
    #[serde(default)]
    pub max_actions_per_session: Option<u64>,
    #[serde(default)]
    pub forbidden_sequences: Vec<ForbiddenSequenceModel>,
    #[serde(default)]
    pub session_risk_threshold: Option<RiskThresholdModel>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForbiddenSequenceModel {
    #[serde(default)]
    pub id: Option<String>,
    pub sequence: Vec<String>,
    #[serde(default)]
    pub lookback_actions: Option<u32>,
    pub effect: SessionEffect,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RiskThresholdModel {
    pub max_score: f64,
    #[serde(default)]
    pub risk_weights: Map<String, Value>,
    #[serde(default)]
    pub effect: Option<SessionEffect>,
}

/// Keeps an explicit JSON `null` as `Some(Value::Null)` (serde would map it to `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Parse a duration such as `30s`, `10m`, `1h`, `7d` (the schema's `^\d+[smhd]$`) into seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let unit = match text.as_bytes().last()? {
        b's' => 1,
        b'm' => 60,
        b'h' => 3_600,
        b'd' => 86_400,
        _ => return None,
    };
    let digits = text.get(..text.len() - 1)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_schema_pattern() {
        assert_eq!(parse_duration("30s"), Some(30));
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("7d"), Some(604_800));
        for bad in [
            "",
            "m",
            "1",
            "1w",
            "-1h",
            "1.5h",
            " 1h",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn explicit_null_value_is_kept_apart_from_absent() {
        let c: ConditionModel =
            serde_json::from_str(r#"{"field":"a","operator":"eq","value":null}"#).unwrap();
        assert_eq!(c.value, Some(Value::Null));
        let c: ConditionModel =
            serde_json::from_str(r#"{"field":"a","operator":"exists"}"#).unwrap();
        assert_eq!(c.value, None);
    }
}
