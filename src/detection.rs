//! What the Aegis scanner reports: a detection's type, sub-type, severity and where it was found.
//! Shared by the scanner (which produces them), the policy engine (whose conditions can read them)
//! and the audit line (which records them without the matched value).

use serde::{Deserialize, Serialize};

/// Aegis's five detection types; policies and audit lines use these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionType {
    Injection,
    Pii,
    Credentials,
    CodeSafety,
    Exfiltration,
}

impl DetectionType {
    /// Every type, in a fixed order.
    pub const ALL: [DetectionType; 5] = [
        DetectionType::Injection,
        DetectionType::Pii,
        DetectionType::Credentials,
        DetectionType::CodeSafety,
        DetectionType::Exfiltration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DetectionType::Injection => "injection",
            DetectionType::Pii => "pii",
            DetectionType::Credentials => "credentials",
            DetectionType::CodeSafety => "code_safety",
            DetectionType::Exfiltration => "exfiltration",
        }
    }
}

/// How bad a detection is, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One finding. Never holds the matched value itself: `preview` is masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    #[serde(rename = "type")]
    pub kind: DetectionType,
    /// Finer class, e.g. `aws_access_key`, `email`, `instruction_override`.
    pub sub_type: String,
    pub severity: Severity,
    /// 0.0 to 1.0.
    pub confidence: f32,
    /// The rule that fired.
    pub rule: String,
    /// JSON path of the string the detection is in (`$` for a non-JSON body).
    pub path: String,
    /// Byte span within the decoded string at `path`.
    pub start: usize,
    pub end: usize,
    /// A masked preview safe for logs (for secrets: a type and a few characters at most).
    pub preview: String,
}
