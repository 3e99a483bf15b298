//! The scanner and the redactor on arbitrary bodies, the span detectors (PII, credentials,
//! exfiltration, canaries, custom rules) set to `redact`:
//! - scanning never panics; a body that is not JSON or UTF-8 is an error, never a silent pass;
//! - redacted output of valid JSON is valid JSON, with the same shape;
//! - redaction is complete and idempotent: scanning the output finds nothing more to redact, and
//!   redacting it again changes nothing.
#![no_main]

use authensor_filter::aegis::{
    redact_json, redact_text, Action, JsonError, ScanError, ScanReport, Scanner,
};
use authensor_filter::config::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

// Injection and code-safety findings are judged on a whole string's cues (one finding may stand
// for several phrases), so only blocking them is sound; the span detectors redact.
const CONFIG: &str = r#"{"aegis": {
    "injection": {"action": "block"}, "pii": {"action": "redact"},
    "credentials": {"action": "redact"}, "code_safety": {"action": "block"},
    "exfiltration": {"action": "redact"},
    "canaries": ["CANARY-7f3a9"],
    "custom_rules": [{"id": "project-name", "type": "exfiltration", "sub_type": "project_name",
                      "severity": "high", "keywords": ["bluebird"]}]
}}"#;

thread_local! {
    static ENGINE: Engine = Engine::from_json(CONFIG.as_bytes()).expect("fuzz config compiles");
}

/// Same tree with every string replaced by a placeholder: redaction changes strings only
/// (and long numbers, which become strings).
fn shape(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::Null,
        Value::Number(n) if n.to_string().len() >= 9 => Value::Null,
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        // Keys may be redacted too, which can reorder members: compare their values as a set.
        Value::Object(o) => {
            let mut members: Vec<Value> = o.values().map(shape).collect();
            members.sort_by_key(Value::to_string);
            Value::Array(members)
        }
        other => other.clone(),
    }
}

fn redactable(report: &ScanReport) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.action == Action::Redact)
        .map(|f| {
            format!(
                "{} {} at {}",
                f.detection.kind.as_str(),
                f.detection.sub_type,
                f.detection.path
            )
        })
        .collect()
}

fn check(scanner: &Scanner, data: &[u8]) {
    let report = match scanner.scan_body(data) {
        Ok(r) => r,
        Err(_) => return,
    };
    let out = match scanner.redact_body(data, &report) {
        Ok(out) => out,
        // A redacted key equal to a key the object already has: refused, the caller fails closed.
        Err(ScanError::Json(JsonError::DuplicateKey { .. })) => return,
        Err(e) => panic!("a scanned body cannot be redacted: {e}"),
    };
    let input_is_json = data
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    let input_json: Option<Value> = serde_json::from_slice(data).ok();
    if let Some(before) = &input_json {
        if input_is_json {
            let after: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!(
                    "redacted JSON is invalid ({e}): {}",
                    String::from_utf8_lossy(&out)
                )
            });
            assert_eq!(
                shape(&after),
                shape(before),
                "redaction changed the document's shape"
            );
        }
    }
    if report.truncated || redactable(&report).is_empty() {
        return;
    }
    // Scanned as the original was: redacted text may now open with `[` of a marker.
    let again = if input_is_json {
        scanner.scan_json(&out).expect("redacted output scans")
    } else {
        scanner.scan_text(std::str::from_utf8(&out).expect("redacted text is UTF-8"))
    };
    if again.truncated {
        return;
    }
    assert_eq!(
        redactable(&again),
        Vec::<String>::new(),
        "redacted output still holds detections: {}",
        String::from_utf8_lossy(&out)
    );
    let twice = if input_is_json {
        redact_json(&out, again.to_redact(), scanner.max_json_depth()).expect("redacts again")
    } else {
        redact_text(std::str::from_utf8(&out).unwrap_or(""), again.to_redact()).into_bytes()
    };
    assert_eq!(twice, out, "redaction is idempotent");
}

fuzz_target!(|data: &[u8]| {
    ENGINE.with(|e| check(&e.scanner, data));
});
