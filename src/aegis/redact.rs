//! Redaction: replace detected spans with `[REDACTED:<SUB_TYPE>]`. In a JSON body the affected
//! string values (or keys, or numbers) are decoded, edited and re-encoded, so the body stays valid
//! JSON whatever escapes the original used; overlapping spans are merged first. A redacted key
//! also carries its member position (`[REDACTED:EMAIL]#2`), so that two keys redacted alike do
//! not become duplicate keys.

use std::collections::HashMap;
use std::ops::Range;

use super::json_text::{self, encode_string, JsonError, JsonPath, StringToken, Visitor};
use crate::detection::Detection;

/// The replacement text for a sub-type.
pub fn marker(sub_type: &str) -> String {
    format!("[REDACTED:{}]", sub_type.to_ascii_uppercase())
}

/// Redact `detections` (those with path `$`, as `scan_text` reports them) in plain text.
pub fn redact_text<'a>(text: &str, detections: impl IntoIterator<Item = &'a Detection>) -> String {
    let spans: Vec<(Range<usize>, &str)> = detections
        .into_iter()
        .filter(|d| d.path == "$")
        .map(|d| (d.start..d.end, d.sub_type.as_str()))
        .collect();
    apply(text, spans)
}

/// Redact `detections` in a JSON body. Fails if the body is not the JSON that was scanned, or if
/// a redacted key would equal another key of its object (the caller fails closed).
pub fn redact_json<'a>(
    body: &[u8],
    detections: impl IntoIterator<Item = &'a Detection>,
    max_depth: usize,
) -> Result<Vec<u8>, JsonError> {
    let mut by_path: HashMap<&str, Vec<(Range<usize>, &str)>> = HashMap::new();
    for d in detections {
        by_path
            .entry(d.path.as_str())
            .or_default()
            .push((d.start..d.end, d.sub_type.as_str()));
    }
    if by_path.is_empty() {
        return Ok(body.to_vec());
    }
    let mut editor = Editor {
        by_path,
        edits: Vec::new(),
        keys_edited: false,
    };
    json_text::walk(body, max_depth, &mut editor)?;
    editor.edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for (raw, replacement) in editor.edits {
        out.extend_from_slice(body.get(at..raw.start).unwrap_or(&[]));
        out.extend_from_slice(&replacement);
        at = raw.end;
    }
    out.extend_from_slice(body.get(at..).unwrap_or(&[]));
    if editor.keys_edited {
        // A key the body already had may still equal a redacted one.
        json_text::walk(&out, max_depth, &mut KeysOnly)?;
    }
    Ok(out)
}

struct Editor<'d> {
    by_path: HashMap<&'d str, Vec<(Range<usize>, &'d str)>>,
    edits: Vec<(Range<usize>, Vec<u8>)>,
    keys_edited: bool,
}

impl Editor<'_> {
    fn edit(&mut self, path: &JsonPath<'_>, value: &str, raw: Range<usize>) {
        let rendered = path.render();
        let Some(spans) = self.by_path.get(rendered.as_str()) else {
            return;
        };
        let mut redacted = apply(value, spans.clone());
        if let Some(n) = path.key_position() {
            redacted.push('#');
            redacted.push_str(&n.to_string());
            self.keys_edited = true;
        }
        let mut encoded = Vec::with_capacity(redacted.len() + 2);
        encode_string(&redacted, &mut encoded);
        self.edits.push((raw, encoded));
    }
}

impl Visitor for Editor<'_> {
    fn string(&mut self, path: &JsonPath<'_>, token: StringToken<'_>) {
        self.edit(path, token.value, token.raw);
    }

    fn number(&mut self, path: &JsonPath<'_>, literal: &str, raw: Range<usize>) {
        self.edit(path, literal, raw);
    }
}

/// `text` with the name in every redaction marker `[REDACTED:NAME]` whose name `known` accepts
/// blanked (`[REDACTED:xxxx]`, same length, so offsets hold); `None` when there is none. A marker
/// is the filter's own earlier redaction: its name (`JAILBREAK`, `PHONE_NUMBER`) must not read as
/// a cue or as context for what surrounds it. Any other bracketed text is scanned as it is.
pub(super) fn mask_markers(text: &str, known: impl Fn(&str) -> bool) -> Option<String> {
    const OPEN: &str = "[REDACTED:";
    /// Longest sub-type name considered.
    const MAX_NAME: usize = 64;
    let mut masked: Option<Vec<u8>> = None;
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|rest| rest.find(OPEN)) {
        let name_start = from + at + OPEN.len();
        from = name_start;
        let tail = text.as_bytes().get(name_start..).unwrap_or(&[]);
        let Some(len) = tail
            .iter()
            .take(MAX_NAME + 1)
            .position(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
        else {
            continue;
        };
        let name = text.get(name_start..name_start + len).unwrap_or("");
        if len == 0 || tail.get(len) != Some(&b']') || !known(name) {
            continue;
        }
        let bytes = masked.get_or_insert_with(|| text.as_bytes().to_vec());
        if let Some(span) = bytes.get_mut(name_start..name_start + len) {
            span.fill(b'x');
        }
    }
    // Only ASCII name bytes were replaced by ASCII: still UTF-8.
    masked.and_then(|b| String::from_utf8(b).ok())
}

/// Visits nothing: the walk only checks the redacted body (duplicate keys above all).
struct KeysOnly;

impl Visitor for KeysOnly {
    fn string(&mut self, _path: &JsonPath<'_>, _token: StringToken<'_>) {}
}

/// Replace the (merged) spans of `text`, snapping them outwards to character boundaries.
fn apply(text: &str, mut spans: Vec<(Range<usize>, &str)>) -> String {
    spans.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<(Range<usize>, &str)> = Vec::new();
    for (r, sub_type) in spans {
        let mut start = r.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = r.end.clamp(start, text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        match merged.last_mut() {
            Some((last, _)) if start <= last.end => last.end = last.end.max(end),
            _ => merged.push((start..end, sub_type)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, sub_type) in merged {
        out.push_str(text.get(at..r.start).unwrap_or(""));
        out.push_str(&marker(sub_type));
        at = r.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::{DetectionType, Severity};

    fn det(path: &str, start: usize, end: usize, sub_type: &str) -> Detection {
        Detection {
            kind: DetectionType::Credentials,
            sub_type: sub_type.into(),
            severity: Severity::High,
            confidence: 0.9,
            rule: "t".into(),
            path: path.into(),
            start,
            end,
            preview: String::new(),
        }
    }

    #[test]
    fn overlapping_spans_merge_and_text_around_stays() {
        let d = [
            det("$", 4, 10, "a"),
            det("$", 8, 16, "b"),
            det("$", 21, 23, "c"),
        ];
        assert_eq!(
            redact_text("abc secret-token xyz zz end", &d),
            "abc [REDACTED:A] xyz [REDACTED:C] end"
        );
    }

    #[test]
    fn json_stays_valid_with_escapes_and_keys() {
        // The value uses escapes, so decoded offsets differ from raw offsets.
        let body =
            br#"{"msg": "key=\u0073k_live_abc \"q\" done", "n": 4111111111111111, "ok": "x"}"#;
        let value: serde_json::Value = serde_json::from_slice(body).unwrap();
        let msg = value["msg"].as_str().unwrap();
        let start = msg.find("sk_").unwrap();
        let d = [
            det("$.msg", start, start + 11, "stripe_live_key"),
            det("$.n", 0, 16, "payment_card"),
        ];
        let out = redact_json(body, &d, 64).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["msg"], "key=[REDACTED:STRIPE_LIVE_KEY] \"q\" done");
        assert_eq!(v["n"], "[REDACTED:PAYMENT_CARD]");
        assert_eq!(v["ok"], "x");
    }

    /// Fuzzing finding: two keys redacted alike became one duplicated key, which JSON parsers
    /// read differently (most keep one value and drop the other).
    #[test]
    fn keys_redacted_alike_stay_distinct_and_a_collision_fails() {
        let body = br#"{"ann@mail.test": {"n": 1}, "bob@mail.test": {"n": 2}}"#;
        let d = [det("$#key0", 0, 13, "email"), det("$#key1", 0, 13, "email")];
        let out = redact_json(body, &d, 64).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["[REDACTED:EMAIL]#0", "[REDACTED:EMAIL]#1"]);
        assert_eq!(
            (
                v["[REDACTED:EMAIL]#0"]["n"].as_u64(),
                v["[REDACTED:EMAIL]#1"]["n"].as_u64()
            ),
            (Some(1), Some(2))
        );

        let body = br#"{"ann@mail.test": 1, "[REDACTED:EMAIL]#0": 2}"#;
        assert!(matches!(
            redact_json(body, &[det("$#key0", 0, 13, "email")], 64),
            Err(JsonError::DuplicateKey { .. })
        ));
    }

    #[test]
    fn known_marker_names_are_blanked_and_others_kept() {
        let known = |name: &str| name == "JAILBREAK" || name == "EMAIL";
        assert_eq!(
            mask_markers("a [REDACTED:JAILBREAK] b [REDACTED:EMAIL]]", known).as_deref(),
            Some("a [REDACTED:xxxxxxxxx] b [REDACTED:xxxxx]]")
        );
        assert_eq!(
            mask_markers("[REDACTED:OTHER] [REDACTED:lower]", known),
            None
        );
        assert_eq!(mask_markers("[REDACTED:EMAIL", known), None);
        assert_eq!(
            mask_markers("é [REDACTED:EMAIL] ü", known).as_deref(),
            Some("é [REDACTED:xxxxx] ü")
        );
        assert_eq!(mask_markers("plain text", known), None);
    }

    #[test]
    fn spans_snap_to_char_boundaries() {
        let d = [det("$", 1, 2, "x")];
        assert_eq!(redact_text("é!", &d), "[REDACTED:X]!");
    }
}
