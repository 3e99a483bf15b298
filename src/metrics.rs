//! What the filter counts and the stat names it counts under. proxy-wasm metrics have names but
//! no labels, so labels are written into the name the way Istio's stats plugin does
//! (`outcome=.=allow;.;authensor_requests_total`), and Envoy's `stats_config.stats_tags`
//! regexes `(outcome=\.=(.*?);\.;)` turn them back into Prometheus labels (under Istio, list the
//! tag names in `extraStatTags`). Cardinality is bounded: label values come from fixed sets
//! (outcomes, detection types), from the configuration (policy and rule ids) or from the filter's
//! own code (built-in rule ids, scanner sub-types); anything else is counted as `other`, and a
//! [`Registry`] defines at most [`MAX_SERIES`] names per VM before folding new ones into `other`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use crate::decision::Outcome;
use crate::detection::DetectionType;
use crate::policy::PolicyEngine;
use crate::protocol::mcp::gateway::{
    RULE_BATCH, RULE_INVALID, RULE_POISONING, RULE_RESULTS, RULE_RUG_PULL,
};

/// One thing to count (or, for [`Metric::AddedLatencyUs`], to record in a histogram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric<'a> {
    /// A decided request, by outcome: `authensor_requests_total{outcome}`.
    Requests(Outcome),
    /// A request stopped by a rule: `authensor_denials_total{policy,rule}`.
    Denial {
        policy: Option<&'a str>,
        rule: Option<&'a str>,
    },
    /// A scanner finding: `authensor_detections_total{type,sub_type}`.
    Detection {
        kind: DetectionType,
        sub_type: &'a str,
    },
    /// Spans redacted: `authensor_redactions_total`.
    Redactions,
    /// Bodies over `body.max_bytes`: `authensor_body_limit_total`.
    BodyTooLarge,
    /// Bodies that could not be parsed as their protocol (`http`, `mcp`, `llm`):
    /// `authensor_parse_failures_total{protocol}`.
    ParseFailures { protocol: &'static str },
    /// A request let through in shadow, by what enforcement would have done (an outcome, or
    /// `redact`) and the rule behind it: `authensor_shadow_decisions_total{outcome,policy,rule}`.
    Shadow {
        would: &'static str,
        policy: Option<&'a str>,
        rule: Option<&'a str>,
    },
    /// Configurations loaded by a VM: `authensor_config_reloads_total{result}`.
    ConfigReloads { ok: bool },
    /// Histogram of the time the filter added to a request: `authensor_added_latency_us`.
    AddedLatencyUs,
    /// Gauge of the filter VMs' linear memory, each VM adding its growth:
    /// `authensor_vm_memory_bytes`.
    VmMemoryBytes,
}

/// How the proxy keeps a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

impl Metric<'_> {
    pub fn metric_type(&self) -> MetricType {
        match self {
            Metric::AddedLatencyUs => MetricType::Histogram,
            Metric::VmMemoryBytes => MetricType::Gauge,
            _ => MetricType::Counter,
        }
    }

    /// The metric's name without labels, as Prometheus shows it.
    pub fn family(&self) -> &'static str {
        match self {
            Metric::Requests(_) => "authensor_requests_total",
            Metric::Denial { .. } => "authensor_denials_total",
            Metric::Detection { .. } => "authensor_detections_total",
            Metric::Redactions => "authensor_redactions_total",
            Metric::BodyTooLarge => "authensor_body_limit_total",
            Metric::ParseFailures { .. } => "authensor_parse_failures_total",
            Metric::Shadow { .. } => "authensor_shadow_decisions_total",
            Metric::ConfigReloads { .. } => "authensor_config_reloads_total",
            Metric::AddedLatencyUs => "authensor_added_latency_us",
            Metric::VmMemoryBytes => "authensor_vm_memory_bytes",
        }
    }
}

/// Every label name used, in the order Envoy's `stats_tags` should list them.
pub const LABELS: [&str; 7] = [
    "outcome", "policy", "rule", "type", "sub_type", "result", "protocol",
];

/// Label value for a rule or policy the configuration does not know.
pub const OTHER: &str = "other";
/// Label value when there is no policy or rule (for example a built-in check decided).
pub const NONE: &str = "none";

/// Rule ids of the filter's own checks (not from any policy); ids under the prefixes below are
/// accepted too (`aegis.unscannable`, `llm.format`, `llm.on_compressed`, ...).
pub const BUILTIN_RULES: &[&str] = &[
    "body.max_bytes",
    "body",
    "body.hold_headers",
    "stream",
    "canary",
    "aegis",
    RULE_BATCH,
    RULE_INVALID,
    RULE_RUG_PULL,
    RULE_POISONING,
    RULE_RESULTS,
];

/// Families of rule ids the filter's code builds (for example one per scanner rule); accepted
/// when well formed, like sub-types.
const BUILTIN_RULE_PREFIXES: &[&str] = &["aegis.", "mcp.", "llm."];

/// Longest label value written; longer values are cut.
const MAX_LABEL_BYTES: usize = 64;

/// Most distinct names a [`Registry`] defines in one VM before folding new label values into
/// `other`.
pub const MAX_SERIES: usize = 1024;

/// The label values the configuration allows: its policy and rule ids.
#[derive(Debug, Default)]
pub struct MetricCatalog {
    policies: HashSet<Box<str>>,
    rules: HashSet<Box<str>>,
    /// When set, the only sub-types counted by name (per detection type); otherwise any
    /// well-formed sub-type is.
    sub_types: Option<HashSet<(DetectionType, Box<str>)>>,
}

impl MetricCatalog {
    /// The catalog of a compiled policy set (disabled policies included, so that turning one on
    /// does not change names).
    pub fn new(policy: &PolicyEngine) -> MetricCatalog {
        let all = policy.policies.iter().chain(&policy.disabled);
        MetricCatalog {
            policies: all.clone().map(|p| p.id.clone()).collect(),
            rules: all
                .flat_map(|p| p.rules.iter().map(|r| r.id.clone()))
                .collect(),
            sub_types: None,
        }
    }

    /// Restrict detection sub-types to the scanner's list (built-in and configured custom ones).
    pub fn with_sub_types<'s>(
        mut self,
        sub_types: impl IntoIterator<Item = (DetectionType, &'s str)>,
    ) -> MetricCatalog {
        let known = sub_types.into_iter().map(|(t, s)| (t, s.into())).collect();
        self.sub_types = Some(known);
        self
    }

    /// Write the stat name of `metric` into `out` (cleared first).
    pub fn write_name(&self, metric: &Metric<'_>, out: &mut String) {
        self.write(metric, out, false);
    }

    fn write(&self, metric: &Metric<'_>, out: &mut String, overflow: bool) {
        out.clear();
        let mut label = |name: &str, value: &str| {
            let _ = write!(out, "{name}=.=");
            push_label_value(out, value);
            out.push_str(";.;");
        };
        match *metric {
            Metric::Requests(outcome) => label("outcome", outcome.as_str()),
            Metric::Denial { policy, rule } => {
                label("policy", self.policy_label(policy, overflow));
                label("rule", self.rule_label(rule, overflow));
            }
            Metric::Shadow {
                would,
                policy,
                rule,
            } => {
                label("outcome", would);
                label("policy", self.policy_label(policy, overflow));
                label("rule", self.rule_label(rule, overflow));
            }
            Metric::ParseFailures { protocol } => label("protocol", protocol),
            Metric::Detection { kind, sub_type } => {
                let sub_type = if !overflow && self.known_sub_type(kind, sub_type) {
                    sub_type
                } else {
                    OTHER
                };
                label("type", kind.as_str());
                label("sub_type", sub_type);
            }
            Metric::ConfigReloads { ok } => label("result", if ok { "ok" } else { "error" }),
            Metric::Redactions
            | Metric::BodyTooLarge
            | Metric::AddedLatencyUs
            | Metric::VmMemoryBytes => {}
        }
        out.push_str(metric.family());
    }

    fn policy_label<'m>(&self, policy: Option<&'m str>, overflow: bool) -> &'m str {
        match policy {
            None => NONE,
            Some(p) if !overflow && self.policies.contains(p) => p,
            Some(_) => OTHER,
        }
    }

    fn rule_label<'m>(&self, rule: Option<&'m str>, overflow: bool) -> &'m str {
        match rule {
            None => NONE,
            Some(r) if !overflow && self.known_rule(r) => r,
            Some(_) => OTHER,
        }
    }

    fn known_rule(&self, rule: &str) -> bool {
        self.rules.contains(rule)
            || BUILTIN_RULES.contains(&rule)
            || (BUILTIN_RULE_PREFIXES.iter().any(|p| rule.starts_with(p)) && is_code_name(rule))
    }

    fn known_sub_type(&self, kind: DetectionType, sub_type: &str) -> bool {
        match &self.sub_types {
            Some(known) => known.contains(&(kind, Box::from(sub_type))),
            None => is_code_name(sub_type),
        }
    }
}

/// A name the filter's code (not traffic) could have produced: lower-case ASCII letters, digits,
/// `_`, `.` and `-`, at most [`MAX_LABEL_BYTES`].
fn is_code_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LABEL_BYTES
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

/// A label value safe inside a stat name: ASCII letters, digits, `_`, `.` and `-` kept, anything
/// else `_`; cut at [`MAX_LABEL_BYTES`].
fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars().take(MAX_LABEL_BYTES) {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        out.push(if keep { c } else { '_' });
    }
}

/// Stat names defined so far in this VM and their proxy ids: the catalog plus a lazy,
/// bounded cache. The adapter passes the hostcall that defines a metric.
#[derive(Debug, Default)]
pub struct Registry {
    catalog: MetricCatalog,
    ids: HashMap<String, u32>,
    name: String,
}

impl Registry {
    pub fn new(catalog: MetricCatalog) -> Registry {
        Registry {
            catalog,
            ids: HashMap::new(),
            name: String::new(),
        }
    }

    /// The proxy id of `metric`'s series, defining it with `define(name, type)` the first time.
    /// Past [`MAX_SERIES`] names, new label values are folded into `other`.
    pub fn id(
        &mut self,
        metric: &Metric<'_>,
        define: impl FnOnce(&str, MetricType) -> Option<u32>,
    ) -> Option<u32> {
        self.catalog.write(metric, &mut self.name, false);
        if let Some(&id) = self.ids.get(&self.name) {
            return Some(id);
        }
        if self.ids.len() >= MAX_SERIES {
            self.catalog.write(metric, &mut self.name, true);
            if let Some(&id) = self.ids.get(&self.name) {
                return Some(id);
            }
        }
        let id = define(&self.name, metric.metric_type())?;
        self.ids.insert(self.name.clone(), id);
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Engine;

    fn catalog() -> MetricCatalog {
        let engine = Engine::from_json(
            br#"{"policies": [{"id": "egress", "name": "e", "version": "1.0.0",
                "rules": [{"id": "no-admin", "effect": "deny"}, {"id": "ok", "effect": "allow"}]}]}"#,
        )
        .unwrap();
        MetricCatalog::new(&engine.policy)
    }

    fn name(c: &MetricCatalog, m: Metric<'_>) -> String {
        let mut out = String::from("stale");
        c.write_name(&m, &mut out);
        out
    }

    #[test]
    fn labels_are_written_the_istio_way() {
        let c = catalog();
        assert_eq!(
            name(&c, Metric::Requests(Outcome::RateLimited)),
            "outcome=.=rate_limited;.;authensor_requests_total"
        );
        assert_eq!(
            name(
                &c,
                Metric::Denial {
                    policy: Some("egress"),
                    rule: Some("no-admin")
                }
            ),
            "policy=.=egress;.;rule=.=no-admin;.;authensor_denials_total"
        );
        assert_eq!(name(&c, Metric::BodyTooLarge), "authensor_body_limit_total");
        assert_eq!(
            name(&c, Metric::ParseFailures { protocol: "mcp" }),
            "protocol=.=mcp;.;authensor_parse_failures_total"
        );
        let shadow = |policy, rule| {
            let would = "redact";
            name(
                &c,
                Metric::Shadow {
                    would,
                    policy,
                    rule,
                },
            )
        };
        assert_eq!(
            shadow(Some("egress"), Some("no-admin")),
            "outcome=.=redact;.;policy=.=egress;.;rule=.=no-admin;.;authensor_shadow_decisions_total"
        );
        assert!(shadow(Some("unknown"), None).contains("policy=.=other;.;rule=.=none;.;"));
        assert_eq!(
            name(&c, Metric::ConfigReloads { ok: false }),
            "result=.=error;.;authensor_config_reloads_total"
        );
        assert_eq!(
            name(&c, Metric::AddedLatencyUs),
            "authensor_added_latency_us"
        );
        assert_eq!(Metric::AddedLatencyUs.metric_type(), MetricType::Histogram);
        assert_eq!(Metric::Redactions.metric_type(), MetricType::Counter);
        assert_eq!(name(&c, Metric::VmMemoryBytes), "authensor_vm_memory_bytes");
        assert_eq!(Metric::VmMemoryBytes.metric_type(), MetricType::Gauge);
    }

    #[test]
    fn unknown_rules_and_policies_are_other_and_builtins_are_kept() {
        let c = catalog();
        let denial = |policy, rule| name(&c, Metric::Denial { policy, rule });
        assert_eq!(
            denial(Some("attacker-chosen"), Some("x;.;evil")),
            "policy=.=other;.;rule=.=other;.;authensor_denials_total"
        );
        assert_eq!(
            denial(None, Some("body.max_bytes")),
            "policy=.=none;.;rule=.=body.max_bytes;.;authensor_denials_total"
        );
        assert!(denial(None, Some("mcp.tool_poisoning")).contains("rule=.=mcp.tool_poisoning;.;"));
        assert!(denial(None, Some("aegis.injection.override"))
            .contains("rule=.=aegis.injection.override;.;"));
        assert!(denial(None, Some("aegis.Bad Name")).contains("rule=.=other;.;"));
    }

    #[test]
    fn sub_types_are_checked_by_shape_or_against_the_scanner_list() {
        let c = catalog();
        let detection = |c: &MetricCatalog, s| {
            name(
                c,
                Metric::Detection {
                    kind: DetectionType::Pii,
                    sub_type: s,
                },
            )
        };
        assert_eq!(
            detection(&c, "email"),
            "type=.=pii;.;sub_type=.=email;.;authensor_detections_total"
        );
        assert!(detection(&c, "Not;A.Name").contains("sub_type=.=other;.;"));
        let listed = catalog().with_sub_types([(DetectionType::Pii, "email")]);
        assert!(detection(&listed, "email").contains("sub_type=.=email;.;"));
        assert!(detection(&listed, "phone").contains("sub_type=.=other;.;"));
    }

    #[test]
    fn every_label_has_its_envoy_stats_tag() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../filter-config/envoy-stats-config.json")).unwrap();
        let tags: Vec<(&str, &str)> = config["stats_tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["tag_name"].as_str().unwrap(),
                    t["regex"].as_str().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(&str, String)> = LABELS
            .iter()
            .map(|l| (*l, format!(r"({l}=\.=(.*?);\.;)")))
            .collect();
        let expected: Vec<(&str, &str)> = expected.iter().map(|(l, r)| (*l, r.as_str())).collect();
        assert_eq!(tags, expected);
    }

    #[test]
    fn label_values_are_made_safe() {
        let mut out = String::new();
        push_label_value(&mut out, "a;.;b=c d/é");
        assert_eq!(out, "a_._b_c_d__");
        out.clear();
        push_label_value(&mut out, &"x".repeat(100));
        assert_eq!(out.len(), MAX_LABEL_BYTES);
    }

    #[test]
    fn registry_defines_each_name_once_and_folds_past_the_cap() {
        let mut reg = Registry::new(catalog());
        let mut defined: Vec<(String, MetricType)> = Vec::new();
        let mut id = |m: Metric<'_>| {
            reg.id(&m, |name, t| {
                defined.push((name.to_owned(), t));
                Some(defined.len() as u32)
            })
        };
        let first = [
            id(Metric::Requests(Outcome::Allow)),
            id(Metric::Requests(Outcome::Allow)),
            id(Metric::AddedLatencyUs),
        ];
        for i in 0..MAX_SERIES + 10 {
            let sub_type = format!("s{i}");
            id(Metric::Detection {
                kind: DetectionType::Pii,
                sub_type: &sub_type,
            });
        }
        assert_eq!(first, [Some(1), Some(1), Some(2)]);
        assert_eq!(defined[1].1, MetricType::Histogram);
        assert_eq!(
            reg.ids.len(),
            MAX_SERIES + 1,
            "one overflow series past the cap"
        );
        assert!(defined.last().unwrap().0.contains("sub_type=.=other;.;"));
        assert_eq!(
            Registry::default().id(&Metric::Redactions, |_, _| None),
            None
        );
    }
}
