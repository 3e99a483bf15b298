//! Bounded audit lines. A record whose JSON is longer than its budget is shortened without losing
//! a field: the longest string values are cut first (their start kept, then a
//! `…[truncated N bytes]` marker), then, only if that is not enough, trailing items of the longest
//! arrays are dropped; a `truncated` member says how much was cut. Works on the compact JSON text
//! serde_json writes, in one pass per step, so key order (and the audit marker prefix) is kept.

use std::borrow::Cow;
use std::fmt::Write;

/// Default for `audit.max_line_bytes`: with the proxy's log prefix, a line stays below the 16 KiB
/// at which container runtimes (Docker, containerd's CRI) split log lines.
pub const DEFAULT_MAX_LINE_BYTES: usize = 15 * 1024;
/// Smallest `audit.max_line_bytes` accepted: room for every fixed field with long strings cut.
pub const MIN_LINE_BYTES: usize = 4 * 1024;
/// Largest `audit.max_line_bytes` accepted.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// A cut string keeps at least this many bytes of its start.
const KEEP_AT_LEAST: usize = 32;
/// Room reserved for the `truncated` member.
const TRUNCATED_MEMBER_MAX: usize = 96;

/// `json` (a compact JSON object) shortened to at most `budget` bytes where possible.
/// Returns the input unchanged when it fits. When even the shortest form (every long string cut
/// to its first bytes, every top-level array emptied) is longer than `budget`, that form is
/// returned: it only happens when `budget` is below [`MIN_LINE_BYTES`].
pub fn bound_json(json: &str, budget: usize) -> Cow<'_, str> {
    if json.len() <= budget {
        return Cow::Borrowed(json);
    }
    let target = budget.saturating_sub(TRUNCATED_MEMBER_MAX);
    let Some(layout) = scan(json.as_bytes()) else {
        return Cow::Borrowed(json);
    };
    let cap = string_cap(json.len(), &layout.strings, target);
    let (cut, strings) = cut_strings(json, &layout.strings, cap);
    let (cut, items) = if cut.len() > target {
        match scan(cut.as_bytes()) {
            Some(layout) => drop_items(&cut, &layout.arrays, target),
            None => (cut, 0),
        }
    } else {
        (cut, 0)
    };
    let mut out = cut;
    if out.ends_with('}') {
        out.pop();
        let sep = if out.ends_with('{') { "" } else { "," };
        let _ = write!(
            out,
            "{sep}\"truncated\":{{\"original_bytes\":{},\"strings\":{strings},\"items\":{items}}}}}",
            json.len()
        );
    }
    Cow::Owned(out)
}

/// Where the cuttable parts of a compact JSON object are.
#[derive(Default)]
struct Layout {
    /// Content spans (between the quotes) of string values longer than [`KEEP_AT_LEAST`].
    strings: Vec<(usize, usize)>,
    /// Arrays that are members of the top-level object: the span of each element.
    arrays: Vec<Vec<(usize, usize)>>,
}

/// One pass over the JSON text. `None` if it is not well formed enough to cut safely.
fn scan(json: &[u8]) -> Option<Layout> {
    let mut layout = Layout::default();
    let mut stack: Vec<u8> = Vec::new();
    // Elements of the top-level array being read, and where the current element started.
    let mut elements: Vec<(usize, usize)> = Vec::new();
    let mut element_start: Option<usize> = None;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        let in_member_array = stack.as_slice() == b"{[";
        if in_member_array && element_start.is_none() && !matches!(b, b',' | b']' | b' ') {
            element_start = Some(i);
        }
        match b {
            b'"' => {
                let end = string_end(json, i + 1)?;
                let is_key = json.get(end + 1) == Some(&b':');
                if !is_key && end - (i + 1) > KEEP_AT_LEAST {
                    layout.strings.push((i + 1, end));
                }
                i = end;
            }
            b'{' | b'[' => {
                stack.push(b);
                if stack.as_slice() == b"{[" {
                    elements.clear();
                    element_start = None;
                }
            }
            b'}' | b']' => {
                if in_member_array && b == b']' {
                    if let Some(start) = element_start.take() {
                        elements.push((start, i));
                    }
                    layout.arrays.push(std::mem::take(&mut elements));
                }
                stack.pop()?;
            }
            b',' if in_member_array => {
                elements.push((element_start.take()?, i));
            }
            _ => {}
        }
        i += 1;
    }
    stack.is_empty().then_some(layout)
}

/// Index of the closing quote of the string whose content starts at `from`.
fn string_end(json: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
}

/// Length of the longest prefix of escaped string content that is at most `cap` bytes and does
/// not split an escape sequence, a surrogate pair or a UTF-8 character.
fn safe_prefix(content: &[u8], cap: usize) -> usize {
    let mut i = 0;
    while let Some(&b) = content.get(i) {
        let step = match b {
            b'\\' if content.get(i + 1) == Some(&b'u') => {
                if content.get(i + 2..i + 4).is_some_and(is_high_surrogate) {
                    12
                } else {
                    6
                }
            }
            b'\\' => 2,
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        if i + step > cap {
            break;
        }
        i += step;
    }
    i.min(content.len())
}

/// `\uD800`–`\uDBFF`: the first two hex digits of a high surrogate.
fn is_high_surrogate(hex: &[u8]) -> bool {
    matches!(hex, [d, x] if d.eq_ignore_ascii_case(&b'd') && matches!(x.to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'b'))
}

fn marker(removed: usize) -> String {
    format!("…[truncated {removed} bytes]")
}

/// The most a string of `len` content bytes takes once cut to `cap`: at most `cap` bytes kept
/// (a cut never splits a character, so it may keep fewer) and a marker whose count has at most
/// as many digits as `len`. `None` when cutting would not make it shorter.
fn cut_len(len: usize, cap: usize) -> Option<usize> {
    let marker_max = marker(0).len() - 1 + len.to_string().len();
    let cut = cap.max(KEEP_AT_LEAST) + marker_max;
    (cut < len).then_some(cut)
}

/// The largest per-string cap that brings the text within `target` (or the smallest cap).
fn string_cap(json_len: usize, strings: &[(usize, usize)], target: usize) -> usize {
    let length_with = |cap: usize| -> usize {
        strings
            .iter()
            .fold(json_len, |total, &(s, e)| match cut_len(e - s, cap) {
                Some(cut) => total - (e - s) + cut,
                None => total,
            })
    };
    let longest = strings.iter().map(|(s, e)| e - s).max().unwrap_or(0);
    let (mut lo, mut hi) = (KEEP_AT_LEAST, longest.max(KEEP_AT_LEAST));
    if length_with(lo) > target {
        return lo;
    }
    // Invariant: length_with(lo) fits; find the largest cap that still fits.
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if length_with(mid) <= target {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The text with every listed string cut to `cap`; also returns how many strings were cut.
fn cut_strings(json: &str, strings: &[(usize, usize)], cap: usize) -> (String, usize) {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut copied = 0;
    let mut count = 0;
    for &(s, e) in strings {
        if cut_len(e - s, cap).is_some() {
            let keep = safe_prefix(bytes.get(s..e).unwrap_or_default(), cap.max(KEEP_AT_LEAST));
            out.push_str(json.get(copied..s + keep).unwrap_or_default());
            out.push_str(&marker(e - s - keep));
            copied = e;
            count += 1;
        }
    }
    out.push_str(json.get(copied..).unwrap_or_default());
    (out, count)
}

/// Drop trailing elements of the largest top-level arrays until the text fits `target`;
/// also returns how many elements were dropped.
fn drop_items(json: &str, arrays: &[Vec<(usize, usize)>], target: usize) -> (String, usize) {
    let mut kept: Vec<usize> = arrays.iter().map(Vec::len).collect();
    let size = |a: &[(usize, usize)], n: usize| -> usize {
        match (a.first(), n.checked_sub(1).and_then(|last| a.get(last))) {
            (Some(first), Some(last)) => last.1 - first.0,
            _ => 0,
        }
    };
    let mut len = json.len();
    let mut dropped = 0;
    while len > target {
        let largest = arrays
            .iter()
            .zip(&kept)
            .enumerate()
            .filter(|(_, (_, &n))| n > 0)
            .max_by_key(|(_, (a, &n))| size(a, n))
            .map(|(i, _)| i);
        let Some(i) = largest else { break };
        let (Some(a), Some(n)) = (arrays.get(i), kept.get_mut(i)) else {
            break;
        };
        len -= size(a, *n) - size(a, *n - 1);
        *n -= 1;
        dropped += 1;
    }
    let mut out = String::with_capacity(len);
    let mut copied = 0;
    for (a, &n) in arrays.iter().zip(&kept) {
        let (Some(first), Some(last)) = (a.first(), a.last()) else {
            continue;
        };
        if n == a.len() {
            continue;
        }
        let cut_from = match n.checked_sub(1).and_then(|k| a.get(k)) {
            Some(keep_last) => keep_last.1,
            None => first.0,
        };
        out.push_str(json.get(copied..cut_from).unwrap_or_default());
        copied = last.1;
    }
    out.push_str(json.get(copied..).unwrap_or_default());
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn short_lines_are_untouched() {
        let line = r#"{"audit":"authensor/v1","path":"/x"}"#;
        assert!(matches!(bound_json(line, 100), Cow::Borrowed(l) if l == line));
    }

    #[test]
    fn long_strings_are_cut_with_a_marker_and_no_field_is_lost() {
        let record = json!({
            "audit": "authensor/v1",
            "path": format!("/{}", "p".repeat(30_000)),
            "request_id": "r1",
            "reasons": ["short", "x".repeat(9_000)],
            "status": 403
        });
        let line = record.to_string();
        let out = bound_json(&line, 4096);
        assert!(out.len() <= 4096, "{}", out.len());
        assert!(out.starts_with(r#"{"audit":"authensor/v1","path":"/ppp"#));
        let v = parse(&out);
        for key in ["audit", "path", "request_id", "reasons", "status"] {
            assert!(v.get(key).is_some(), "{key} kept");
        }
        let path = v["path"].as_str().unwrap();
        assert!(path.starts_with("/ppp"));
        assert!(path.ends_with(" bytes]") && path.contains("…[truncated "));
        assert_eq!(v["reasons"][0], "short");
        assert_eq!(v["request_id"], "r1");
        assert_eq!(v["truncated"]["original_bytes"], line.len());
        assert_eq!(v["truncated"]["strings"], 2);
        assert_eq!(v["truncated"]["items"], 0);
    }

    #[test]
    fn the_longest_string_is_cut_first() {
        let line = json!({"audit": "authensor/v1", "a": "a".repeat(3000), "b": "b".repeat(200)})
            .to_string();
        let v = parse(&bound_json(&line, 2000));
        assert_eq!(v["b"], "b".repeat(200), "the short one survives whole");
        let a = v["a"].as_str().unwrap();
        assert!(a.len() > 1000 && a.contains("…[truncated"), "{}", a.len());
    }

    #[test]
    fn cuts_never_split_characters_or_escapes() {
        for filler in ["é", "\"", "\n", "😀", "\u{1}"] {
            let line = json!({"audit": "authensor/v1", "s": filler.repeat(5000)}).to_string();
            for budget in [300, 301, 302, 303, 999] {
                let out = bound_json(&line, budget);
                let v = parse(&out);
                let s = v["s"].as_str().unwrap();
                let kept = s.split('…').next().unwrap();
                assert!(kept.chars().all(|c| c.to_string() == filler), "{filler:?}");
            }
        }
    }

    #[test]
    fn many_array_items_are_dropped_from_the_tail_and_counted() {
        let detections: Vec<Value> = (0..400)
            .map(|i| json!({"type": "pii", "sub_type": "email", "rule": format!("r{i}"), "path": "$.x"}))
            .collect();
        let line =
            json!({"audit": "authensor/v1", "detections": detections, "status": 200}).to_string();
        let out = bound_json(&line, 4096);
        assert!(out.len() <= 4096);
        let v = parse(&out);
        let kept = v["detections"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < 400);
        assert_eq!(kept[0]["rule"], "r0", "items are dropped from the end");
        assert_eq!(v["truncated"]["items"], 400 - kept.len());
        assert_eq!(v["status"], 200);
    }

    #[test]
    fn an_array_can_be_emptied() {
        let reasons = vec!["y".repeat(40); 200];
        let line = json!({"audit": "authensor/v1", "reasons": reasons}).to_string();
        let v = parse(&bound_json(&line, 200));
        assert!(v["reasons"].as_array().unwrap().len() < 3);
    }

    #[test]
    fn input_that_is_not_compact_json_is_returned_unchanged() {
        let broken = format!("{{\"audit\":\"{}", "x".repeat(500));
        assert_eq!(bound_json(&broken, 100), broken);
    }
}
