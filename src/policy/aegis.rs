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
//! | `aegis.detections.<i>.type` / `.subType` / `.severity` / `.path` / `.rule` / `.confidence` | each detection |

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

/// Count and highest severity of one detection type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeSummary {
    pub count: u32,
    pub max: Option<Severity>,
}

/// Scanner results as conditions see them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aegis {
    pub scanned: bool,
    pub max: Option<Severity>,
    pub by_type: [TypeSummary; 5],
    pub detections: Vec<Detection>,
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
            if let Some(i) = type_index(d.kind) {
                let t = &mut aegis.by_type[i];
                t.count = t.count.saturating_add(1);
                t.max = t.max.max(Some(d.severity));
            }
        }
        aegis
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
}

impl<'de> Deserialize<'de> for Aegis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Aegis, D::Error> {
        use serde::de::Error;
        let doc = AegisDoc::deserialize(d)?;
        let mut detections = Vec::with_capacity(doc.detections.len());
        for x in doc.detections {
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
        Ok(Aegis::from_detections(&detections))
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
    }
}
