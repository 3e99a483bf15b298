//! The `aegis` view of scanner results that policy conditions can read, computed once per
//! evaluation from the scanner's [`Detection`]s:
//!
//! | field | value |
//! |---|---|
//! | `aegis.scanned` | `true` when scanner results were attached |
//! | `aegis.threatLevel` | `"none"`, `"low"`, `"medium"`, `"high"` or `"critical"` (highest severity) |
//! | `aegis.threatScore` | the same as a number, 0 (none) to 4 (critical) |
//! | `aegis.count` | number of detections |
//! | `aegis.types` | distinct detection types, e.g. `["injection","pii"]` (`aegis.types.0`) |
//! | `aegis.<type>.level` / `.score` / `.count` | per type (`injection`, `pii`, `credentials`, `code_safety`, `exfiltration`); `"none"`/0/0 when absent |
//! | `aegis.detections.<i>.type` / `.subType` / `.severity` / `.path` / `.rule` / `.confidence` / `.role` | each detection |
//! | `aegis.byRole.<role>.level` / `.score` / `.count` | detections in texts of one role (LLM calls: `system`, `user`, `assistant`, `tool`) |
//! | `aegis.byRole.<role>.<type>.level` / `.score` / `.count` | the same, per type: `aegis.byRole.tool.injection.level` |

use serde::Deserialize;

use crate::detection::{Detection, DetectionType, Severity};

/// Detection types in a fixed order (index into [`Aegis::by_type`]).
pub const TYPES: [DetectionType; 5] = [
    DetectionType::Injection,
    DetectionType::Pii,
    DetectionType::Credentials,
    DetectionType::CodeSafety,
    DetectionType::Exfiltration,
];

/// The roles a text can play in an LLM conversation, in a fixed order (index into
/// [`Aegis::by_role`]).
pub const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

/// Count and highest severity of one detection type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeSummary {
    pub count: u32,
    pub max: Option<Severity>,
}

impl TypeSummary {
    fn add(&mut self, severity: Severity) {
        self.count = self.count.saturating_add(1);
        self.max = self.max.max(Some(severity));
    }
}

/// The detections found in the texts of one role: overall and per type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleSummary {
    pub all: TypeSummary,
    pub by_type: [TypeSummary; 5],
}

/// Scanner results as conditions see them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aegis {
    pub scanned: bool,
    pub max: Option<Severity>,
    pub by_type: [TypeSummary; 5],
    pub detections: Vec<Detection>,
    /// The role of the text each detection was found in (index into [`ROLES`]), when known.
    pub roles: Vec<Option<usize>>,
    pub by_role: [RoleSummary; 4],
}

impl Aegis {
    /// Summarise a scan's detections (an empty slice means "scanned, nothing found").
    pub fn from_detections(detections: &[Detection]) -> Aegis {
        let mut aegis = Aegis {
            scanned: true,
            detections: detections.to_vec(),
            ..Aegis::default()
        };
        for d in detections {
            aegis.max = aegis.max.max(Some(d.severity));
            if let Some(t) = type_index(d.kind).and_then(|i| aegis.by_type.get_mut(i)) {
                t.add(d.severity);
            }
        }
        aegis
    }

    /// Attribute the detections to the roles of the texts they were found in (`roles[i]` for
    /// detection `i`, a name of [`ROLES`]; other names and missing entries count for no role).
    pub fn with_roles(mut self, roles: &[&str]) -> Aegis {
        self.roles = roles
            .iter()
            .map(|r| ROLES.iter().position(|known| known == r))
            .collect();
        for (d, role) in self.detections.iter().zip(&self.roles) {
            let Some(summary) = role.and_then(|r| self.by_role.get_mut(r)) else {
                continue;
            };
            summary.all.add(d.severity);
            if let Some(t) = type_index(d.kind).and_then(|i| summary.by_type.get_mut(i)) {
                t.add(d.severity);
            }
        }
        self
    }

    /// The role of detection `i`, if known.
    pub fn role_of(&self, i: usize) -> Option<&'static str> {
        self.roles
            .get(i)
            .copied()
            .flatten()
            .and_then(|r| ROLES.get(r).copied())
    }

    /// Distinct detection types present, in [`TYPES`] order.
    pub fn types(&self) -> impl Iterator<Item = DetectionType> + '_ {
        TYPES
            .iter()
            .zip(&self.by_type)
            .filter(|(_, s)| s.count > 0)
            .map(|(t, _)| *t)
    }
}

pub fn type_index(kind: DetectionType) -> Option<usize> {
    TYPES.iter().position(|t| *t == kind)
}

pub fn role_index(name: &str) -> Option<usize> {
    ROLES.iter().position(|r| *r == name)
}

pub fn type_named(name: &str) -> Option<DetectionType> {
    TYPES.iter().copied().find(|t| t.as_str() == name)
}

/// Severity as text, `"none"` for no detection.
pub fn level(s: Option<Severity>) -> &'static str {
    s.map_or("none", Severity::as_str)
}

/// Severity as a number: none 0, low 1, medium 2, high 3, critical 4.
pub fn score(s: Option<Severity>) -> f64 {
    match s {
        None => 0.0,
        Some(Severity::Low) => 1.0,
        Some(Severity::Medium) => 2.0,
        Some(Severity::High) => 3.0,
        Some(Severity::Critical) => 4.0,
    }
}

/// The JSON form accepted in test files and `policy eval`: `{"detections": [{"type", "severity", ...}]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AegisDoc {
    detections: Vec<DetectionDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DetectionDoc {
    #[serde(rename = "type")]
    kind: String,
    severity: String,
    #[serde(default)]
    sub_type: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    confidence: Option<f32>,
    #[serde(default)]
    role: Option<String>,
}

impl<'de> Deserialize<'de> for Aegis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Aegis, D::Error> {
        use serde::de::Error;
        let doc = AegisDoc::deserialize(d)?;
        let mut detections = Vec::with_capacity(doc.detections.len());
        let mut roles = Vec::with_capacity(doc.detections.len());
        for x in doc.detections {
            if let Some(role) = &x.role {
                if role_index(role).is_none() {
                    return Err(D::Error::custom(format!(
                        "unknown role {role:?}, expected one of {}",
                        ROLES.join(", ")
                    )));
                }
            }
            roles.push(x.role.unwrap_or_default());
            let kind = type_named(&x.kind).ok_or_else(|| {
                D::Error::custom(format!("unknown detection type {:?}, expected one of injection, pii, credentials, code_safety, exfiltration", x.kind))
            })?;
            let severity = [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ]
            .into_iter()
            .find(|s| s.as_str() == x.severity)
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "unknown severity {:?}, expected one of low, medium, high, critical",
                    x.severity
                ))
            })?;
            detections.push(Detection {
                kind,
                sub_type: x.sub_type,
                severity,
                confidence: x.confidence.unwrap_or(1.0),
                rule: x.rule,
                path: x.path,
                start: 0,
                end: 0,
                preview: String::new(),
            });
        }
        let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
        Ok(Aegis::from_detections(&detections).with_roles(&roles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(kind: DetectionType, severity: Severity) -> Detection {
        Detection {
            kind,
            sub_type: "x".into(),
            severity,
            confidence: 0.9,
            rule: "r".into(),
            path: "$.a".into(),
            start: 0,
            end: 1,
            preview: String::new(),
        }
    }

    #[test]
    fn summarises_the_highest_severity_overall_and_per_type() {
        let a = Aegis::from_detections(&[
            detection(DetectionType::Pii, Severity::Low),
            detection(DetectionType::Injection, Severity::High),
            detection(DetectionType::Injection, Severity::Medium),
        ]);
        assert_eq!(level(a.max), "high");
        assert_eq!(
            a.by_type[0],
            TypeSummary {
                count: 2,
                max: Some(Severity::High)
            }
        );
        assert_eq!(
            a.types().collect::<Vec<_>>(),
            vec![DetectionType::Injection, DetectionType::Pii]
        );
        assert_eq!(level(Aegis::default().max), "none");
        assert_eq!(score(Some(Severity::Critical)), 4.0);
    }

    #[test]
    fn summarises_per_role_and_remembers_each_detection_role() {
        let a = Aegis::from_detections(&[
            detection(DetectionType::Injection, Severity::High),
            detection(DetectionType::Injection, Severity::Medium),
            detection(DetectionType::Pii, Severity::Low),
        ])
        .with_roles(&["tool", "user", "nobody"]);
        let tool = a.by_role[role_index("tool").unwrap()];
        assert_eq!(tool.all.count, 1);
        assert_eq!(tool.by_type[0].max, Some(Severity::High));
        let user = a.by_role[role_index("user").unwrap()];
        assert_eq!(user.by_type[0].max, Some(Severity::Medium));
        assert_eq!(a.role_of(0), Some("tool"));
        assert_eq!(a.role_of(2), None, "unknown roles count for none");
        assert_eq!(a.role_of(9), None);
        assert_eq!(a.by_type[0].count, 2, "the overall summary is unchanged");
    }

    #[test]
    fn reads_detections_from_json() {
        let a: Aegis = serde_json::from_str(
            r#"{"detections":[{"type":"credentials","severity":"critical","subType":"aws_key"}]}"#,
        )
        .unwrap();
        assert!(a.scanned);
        assert_eq!(a.by_type[2].count, 1);
        assert!(
            serde_json::from_str::<Aegis>(r#"{"detections":[{"type":"x","severity":"low"}]}"#)
                .is_err()
        );
        let a: Aegis = serde_json::from_str(
            r#"{"detections":[{"type":"injection","severity":"high","role":"tool"}]}"#,
        )
        .unwrap();
        assert_eq!(a.role_of(0), Some("tool"));
        assert!(serde_json::from_str::<Aegis>(
            r#"{"detections":[{"type":"pii","severity":"low","role":"robot"}]}"#
        )
        .is_err());
    }
}
