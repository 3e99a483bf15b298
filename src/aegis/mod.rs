//! Aegis: the inline content scanner. A [`Scanner`] is compiled once per VM from the `aegis`
//! configuration; it scans JSON bodies string by string (decoded, with their JSON path) or plain
//! text, and reports detections of five types (`injection`, `pii`, `credentials`, `code_safety`,
//! `exfiltration`) with the action configured for each. Detected spans can then be redacted in
//! place ([`redact_json`], [`redact_text`]).

mod adversarial;
mod byte_class;
mod candidates;
mod checksum;
mod code_safety;
pub mod config;
mod credential_formats;
mod credentials;
mod custom;
mod decode;
mod entropy;
mod exfiltration;
mod finding;
mod generic_secrets;
mod hold;
mod injection;
mod injection_lexicon;
pub mod json_text;
mod keywords;
mod memo;
mod normalize;
mod phrases;
mod pii;
mod redact;
mod scan;
#[cfg(test)]
mod tests;

use std::fmt;

pub use config::{Action, AegisConfig};
pub use finding::fnv1a;
pub use json_text::JsonError;
pub use redact::{marker, redact_json, redact_text};

use crate::config::ConfigError;
use crate::detection::{Detection, DetectionType};
use code_safety::CodeSafety;
use config::{check_limits, DecodeConfig, TypeSettings};
use credentials::Credentials;
use custom::Custom;
use keywords::{KeywordIndex, KeywordSetBuilder};
use pii::Pii;

/// The compiled scanner: keyword automaton, regexes and per-type settings.
pub struct Scanner {
    enabled: bool,
    /// Settings per type, in [`DetectionType::ALL`] order.
    types: [TypeSettings; 5],
    keywords: KeywordIndex,
    /// The same keywords, for streams asking which tails may still become a detection.
    hold: hold::HoldIndex,
    credentials: Credentials,
    pii: Pii,
    code_safety: CodeSafety,
    custom: Custom,
    /// Letter runs every secret-like or phone-like JSON key contains: a quick test before the
    /// per-key checks run on values that matched nothing else.
    key_hints: aho_corasick::AhoCorasick,
    decode: DecodeConfig,
    max_json_depth: usize,
    max_detections: usize,
    /// Strings already found clean (see [`memo`]).
    memo: memo::Memo,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("enabled", &self.enabled)
            .field("keywords", &self.keywords)
            .finish_non_exhaustive()
    }
}

/// A detection and what the configuration says to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub detection: Detection,
    pub action: Action,
}

/// Everything a scan found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScanReport {
    pub findings: Vec<Finding>,
    /// True when limits (detections kept, keyword hits per chunk) cut the scan's report short;
    /// a careful caller treats this as a reason to block.
    pub truncated: bool,
}

impl ScanReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The strongest action among the findings.
    pub fn verdict(&self) -> Option<Action> {
        self.findings.iter().map(|f| f.action).max()
    }

    pub fn detections(&self) -> impl Iterator<Item = &Detection> {
        self.findings.iter().map(|f| &f.detection)
    }

    /// Detections whose action is `redact`.
    pub fn to_redact(&self) -> impl Iterator<Item = &Detection> {
        self.findings
            .iter()
            .filter(|f| f.action == Action::Redact)
            .map(|f| &f.detection)
    }
}

/// Why a body could not be scanned. The caller fails closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    Json(JsonError),
    NotUtf8 { offset: usize },
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Json(e) => write!(f, "body is not acceptable JSON: {e}"),
            ScanError::NotUtf8 { offset } => {
                write!(f, "body is not UTF-8 text (invalid byte at {offset})")
            }
        }
    }
}

impl std::error::Error for ScanError {}

impl From<JsonError> for ScanError {
    fn from(e: JsonError) -> Self {
        ScanError::Json(e)
    }
}

fn sub_types_of(kind: DetectionType, custom: &Custom) -> Vec<String> {
    let builtin: Vec<&str> = match kind {
        DetectionType::Injection => injection::SUB_TYPES.to_vec(),
        DetectionType::Pii => pii::SUB_TYPES.to_vec(),
        DetectionType::Credentials => credentials::sub_types(),
        DetectionType::CodeSafety => code_safety::SUB_TYPES.to_vec(),
        DetectionType::Exfiltration => exfiltration::SUB_TYPES.to_vec(),
    };
    builtin
        .into_iter()
        .chain(custom.sub_types(kind))
        .map(str::to_owned)
        .collect()
}

impl Scanner {
    /// Validate the configuration and build the automaton and regexes.
    pub fn compile(config: &AegisConfig) -> Result<Scanner, ConfigError> {
        check_limits(config)?;
        let custom = Custom::compile(config)?;
        let mut types = Vec::with_capacity(DetectionType::ALL.len());
        for kind in DetectionType::ALL {
            let detector = match kind {
                DetectionType::Injection => &config.injection,
                DetectionType::Pii => &config.pii,
                DetectionType::Credentials => &config.credentials,
                DetectionType::CodeSafety => &config.code_safety,
                DetectionType::Exfiltration => &config.exfiltration,
            };
            let known = sub_types_of(kind, &custom);
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            types.push(TypeSettings::compile(kind, detector, &known)?);
        }
        let mut builder = KeywordSetBuilder::default();
        injection::register(&mut builder);
        Credentials::register(&mut builder);
        Pii::register(&mut builder);
        CodeSafety::register(&mut builder);
        exfiltration::register(&mut builder);
        custom.register(&mut builder);
        if let Some(pii_settings) = types.get_mut(1) {
            pii_settings
                .allow
                .extend(pii::TEST_CARDS.iter().map(|c| (*c).to_owned()));
        }
        let types: [TypeSettings; 5] = types
            .try_into()
            .map_err(|_| ConfigError::new("aegis", "internal: one setting per detection type"))?;
        let hold = hold::HoldIndex::new(builder.owned_patterns());
        Ok(Scanner {
            enabled: config.enabled,
            types,
            hold,
            keywords: builder.build()?,
            credentials: Credentials::new()?,
            pii: Pii::new()?,
            code_safety: CodeSafety::new()?,
            custom,
            key_hints: aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([
                    "pass",
                    "pwd",
                    "secret",
                    "token",
                    "key",
                    "credential",
                    "auth",
                    "bearer",
                    "phone",
                    "mobile",
                    "tel",
                    "fax",
                    "cell",
                ])
                .map_err(|e| ConfigError::new("aegis", format!("key hints: {e}")))?,
            decode: config.decode.clone(),
            max_json_depth: config.max_json_depth,
            max_detections: config.max_detections,
            memo: memo::Memo::new(config.memo_entries),
        })
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn max_json_depth(&self) -> usize {
        self.max_json_depth
    }

    /// Number of literal keywords in the shared automaton.
    pub fn keyword_count(&self) -> usize {
        self.keywords.patterns()
    }

    /// Heap used by the keyword automaton and its tables (the regexes are measured separately
    /// by the benchmark, which counts allocations).
    pub fn automaton_bytes(&self) -> usize {
        self.keywords.heap_bytes()
    }

    fn settings(&self, kind: DetectionType) -> &TypeSettings {
        let i = match kind {
            DetectionType::Injection => 0,
            DetectionType::Pii => 1,
            DetectionType::Credentials => 2,
            DetectionType::CodeSafety => 3,
            DetectionType::Exfiltration => 4,
        };
        &self.types[i]
    }

    /// Whether `name` (any case) is a sub-type this scanner reports, as redaction markers name them.
    fn is_sub_type(&self, name: &str) -> bool {
        DetectionType::ALL.iter().any(|&kind| {
            sub_types_of(kind, &self.custom)
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
        })
    }

    /// The action the configuration gives a detection. Canary tokens are always blocked.
    pub fn action_for(&self, detection: &Detection) -> Action {
        if detection.rule == custom::CANARY_RULE {
            Action::Block
        } else {
            self.settings(detection.kind).action
        }
    }

    /// Scan a JSON body: every string value and key, decoded, with its path.
    pub fn scan_json(&self, body: &[u8]) -> Result<ScanReport, ScanError> {
        if !self.enabled {
            return Ok(ScanReport::default());
        }
        scan::json(self, body)
    }

    /// Scan plain text; detections have path `$`.
    pub fn scan_text(&self, text: &str) -> ScanReport {
        if !self.enabled {
            return ScanReport::default();
        }
        scan::text(self, text)
    }

    /// Scan a body whose type is not known: JSON if it opens like JSON, otherwise UTF-8 text.
    pub fn scan_body(&self, body: &[u8]) -> Result<ScanReport, ScanError> {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => self.scan_json(body),
            _ => match std::str::from_utf8(body) {
                Ok(text) => Ok(self.scan_text(text)),
                Err(e) => Err(ScanError::NotUtf8 {
                    offset: e.valid_up_to(),
                }),
            },
        }
    }

    /// Apply the report's `redact` findings to the body it came from (JSON or text alike).
    pub fn redact_body(&self, body: &[u8], report: &ScanReport) -> Result<Vec<u8>, ScanError> {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Ok(redact_json(body, report.to_redact(), self.max_json_depth)?),
            _ => match std::str::from_utf8(body) {
                Ok(text) => Ok(redact_text(text, report.to_redact()).into_bytes()),
                Err(e) => Err(ScanError::NotUtf8 {
                    offset: e.valid_up_to(),
                }),
            },
        }
    }
}
