//! Rewrite strings inside a parsed JSON body: replace byte spans of the string at a path
//! (redaction, masking, restoring masked values). The document stays valid JSON because only
//! decoded string values change; strings that hold JSON (`|fromjson`) are parsed, edited and
//! serialised back.

use serde_json::Value;

use super::json_path::{JsonPath, Seg};

/// Replace `start..end` (bytes of the decoded string at `path`) with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: JsonPath<'static>,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

/// An edit did not fit the document: the path is gone or the span is not in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Apply all edits. Overlapping spans in one string are merged (the earliest's replacement
/// stands for the union). An edit that does not fit is an error naming its path; the document
/// may then be partly edited, so the caller refuses it rather than sending it.
pub fn apply_edits(root: &mut Value, mut edits: Vec<Edit>) -> Result<(), EditError> {
    edits.sort_by(|a, b| a.path.cmp(&b.path).then(a.start.cmp(&b.start)));
    let mut rest = edits.as_slice();
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|e| e.path == first.path).count();
        let (group, tail) = rest.split_at(n);
        let spans = merge(group);
        edit_at(root, first.path.segments(), &spans)
            .map_err(|why| EditError(format!("{}: {why}", first.path)))?;
        rest = tail;
    }
    Ok(())
}

/// Sorted spans of one string with overlaps merged.
fn merge(group: &[Edit]) -> Vec<(usize, usize, &str)> {
    let mut spans: Vec<(usize, usize, &str)> = Vec::with_capacity(group.len());
    for e in group {
        match spans.last_mut() {
            Some(last) if e.start < last.1 => last.1 = last.1.max(e.end),
            _ => spans.push((e.start, e.end, &e.replacement)),
        }
    }
    spans
}

fn edit_at(v: &mut Value, segs: &[Seg], spans: &[(usize, usize, &str)]) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        let Value::String(s) = v else {
            return Err("not a string".into());
        };
        return splice(s, spans);
    };
    match (seg, v) {
        (Seg::Key(k), Value::Object(map)) => match map.get_mut(k.as_ref()) {
            Some(child) => edit_at(child, rest, spans),
            None => Err(format!("no member {k:?}")),
        },
        (Seg::Index(i), Value::Array(items)) => match items.get_mut(*i) {
            Some(child) => edit_at(child, rest, spans),
            None => Err(format!("no element {i}")),
        },
        (Seg::Embedded, Value::String(s)) => {
            let mut inner: Value =
                serde_json::from_str(s).map_err(|e| format!("embedded JSON: {e}"))?;
            edit_at(&mut inner, rest, spans)?;
            *s = inner.to_string();
            Ok(())
        }
        (seg, _) => Err(format!("cannot step into {seg:?}")),
    }
}

fn splice(s: &mut String, spans: &[(usize, usize, &str)]) -> Result<(), String> {
    for &(start, end, _) in spans {
        if start > end || end > s.len() || !s.is_char_boundary(start) || !s.is_char_boundary(end) {
            return Err(format!("span {start}..{end} is not inside the string"));
        }
    }
    for &(start, end, replacement) in spans.iter().rev() {
        s.replace_range(start..end, replacement);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edit(path: JsonPath<'static>, start: usize, end: usize, r: &str) -> Edit {
        Edit {
            path,
            start,
            end,
            replacement: r.into(),
        }
    }

    #[test]
    fn spans_are_replaced_and_overlaps_merged() {
        let mut v = json!({"m": [{"c": "call me at 555-0100 or mail bob@x.io"}]});
        let p = JsonPath::root().key("m").index(0).key("c").into_owned();
        let edits = vec![
            edit(p.clone(), 28, 36, "[E]"),
            edit(p.clone(), 11, 19, "[P]"),
            edit(p, 12, 15, "[ignored]"),
        ];
        apply_edits(&mut v, edits).unwrap();
        assert_eq!(v["m"][0]["c"], "call me at [P] or mail [E]");
    }

    #[test]
    fn strings_holding_json_are_edited_inside_and_stay_json() {
        let args = r#"{"cmd":"echo sk-SECRET","n":1}"#;
        let mut v = json!({"arguments": args});
        let p = JsonPath::root()
            .key("arguments")
            .embedded()
            .key("cmd")
            .into_owned();
        apply_edits(&mut v, vec![edit(p, 5, 14, "[REDACTED]")]).unwrap();
        let inner: Value = serde_json::from_str(v["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(inner, json!({"cmd": "echo [REDACTED]", "n": 1}));
    }

    #[test]
    fn edits_that_do_not_fit_are_errors() {
        let mut v = json!({"a": "héllo", "n": 3});
        let at = |k: &'static str| JsonPath::root().key(k).into_owned();
        assert!(apply_edits(&mut v, vec![edit(at("a"), 0, 2, "x")]).is_err());
        assert!(apply_edits(&mut v, vec![edit(at("a"), 0, 99, "x")]).is_err());
        assert!(apply_edits(&mut v, vec![edit(at("n"), 0, 1, "x")]).is_err());
        let e = apply_edits(&mut v, vec![edit(at("zz"), 0, 1, "x")]).unwrap_err();
        assert_eq!(e.to_string(), "$.zz: no member \"zz\"");
        assert_eq!(v, json!({"a": "héllo", "n": 3}));
    }
}
