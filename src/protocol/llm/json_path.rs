//! Where a string sits in a JSON body: `$.messages[2].content[0].text`. A path can step into a
//! string that itself holds JSON (OpenAI tool-call arguments), written `|fromjson` as in jq:
//! `$.choices[0].message.tool_calls[0].function.arguments|fromjson.command`.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::{Role, TextItem, TextKind};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg<'a> {
    Key(Cow<'a, str>),
    Index(usize),
    /// The string here is JSON text; the rest of the path is inside the parsed document.
    Embedded,
}

/// A path from the document root.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonPath<'a>(Vec<Seg<'a>>);

impl<'a> JsonPath<'a> {
    pub fn root() -> JsonPath<'a> {
        JsonPath(Vec::new())
    }

    pub fn key(&self, key: &'a str) -> JsonPath<'a> {
        self.with(Seg::Key(Cow::Borrowed(key)))
    }

    pub fn index(&self, i: usize) -> JsonPath<'a> {
        self.with(Seg::Index(i))
    }

    pub fn embedded(&self) -> JsonPath<'a> {
        self.with(Seg::Embedded)
    }

    pub fn segments(&self) -> &[Seg<'a>] {
        &self.0
    }

    /// The same path, owning its keys (to outlive the document it was taken from).
    pub fn into_owned(self) -> JsonPath<'static> {
        JsonPath(
            self.0
                .into_iter()
                .map(|s| match s {
                    Seg::Key(k) => Seg::Key(Cow::Owned(k.into_owned())),
                    Seg::Index(i) => Seg::Index(i),
                    Seg::Embedded => Seg::Embedded,
                })
                .collect(),
        )
    }

    /// This path followed by `rest`.
    pub fn join(&self, rest: &JsonPath<'a>) -> JsonPath<'a> {
        let mut segs = self.0.clone();
        segs.extend(rest.0.iter().cloned());
        JsonPath(segs)
    }

    fn with(&self, seg: Seg<'a>) -> JsonPath<'a> {
        let mut segs = Vec::with_capacity(self.0.len() + 1);
        segs.extend(self.0.iter().cloned());
        segs.push(seg);
        JsonPath(segs)
    }
}

impl fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if is_identifier(k) => write!(f, ".{k}")?,
                Seg::Key(k) => write!(f, "[{}]", Value::String(k.to_string()))?,
                Seg::Index(i) => write!(f, "[{i}]")?,
                Seg::Embedded => f.write_str("|fromjson")?,
            }
        }
        Ok(())
    }
}

fn is_identifier(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Collects the texts of a document, each with its role, kind and path.
pub struct Texts<'a> {
    pub items: Vec<TextItem<'a>>,
}

impl<'a> Texts<'a> {
    pub fn new() -> Texts<'a> {
        Texts { items: Vec::new() }
    }

    /// Add `value` if it is a non-empty string.
    pub fn string(&mut self, role: Role, kind: TextKind, path: JsonPath<'a>, value: &'a Value) {
        if let Some(text) = value.as_str().filter(|t| !t.is_empty()) {
            self.items.push(TextItem {
                role,
                kind,
                path,
                text,
            });
        }
    }

    /// Add every non-empty string value inside `value` (object keys are not texts).
    pub fn leaves(&mut self, role: Role, kind: TextKind, path: JsonPath<'a>, value: &'a Value) {
        self.leaves_where(role, kind, path, value, |_| true);
    }

    /// [`Texts::leaves`], keeping only the strings `keep` accepts: a path is copied only for
    /// a string kept, the walk itself grows and shrinks one path in place.
    pub fn leaves_where(
        &mut self,
        role: Role,
        kind: TextKind,
        path: JsonPath<'a>,
        value: &'a Value,
        keep: impl Fn(&'a str) -> bool,
    ) {
        let mut at = path;
        self.leaves_under(role, kind, &mut at, value, &keep);
    }

    fn leaves_under(
        &mut self,
        role: Role,
        kind: TextKind,
        at: &mut JsonPath<'a>,
        value: &'a Value,
        keep: &impl Fn(&'a str) -> bool,
    ) {
        match value {
            Value::String(s) if keep(s) => self.string(role, kind, at.clone(), value),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    at.0.push(Seg::Index(i));
                    self.leaves_under(role, kind, at, v, keep);
                    at.0.pop();
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    at.0.push(Seg::Key(Cow::Borrowed(k)));
                    self.leaves_under(role, kind, at, v, keep);
                    at.0.pop();
                }
            }
            _ => {}
        }
    }

    /// Add a string field of an object.
    pub fn field(
        &mut self,
        role: Role,
        kind: TextKind,
        obj: &'a Value,
        at: &JsonPath<'a>,
        key: &'a str,
    ) {
        if let Some(v) = obj.get(key) {
            self.string(role, kind, at.key(key), v);
        }
    }
}

impl Default for Texts<'_> {
    fn default() -> Self {
        Texts::new()
    }
}

/// The elements of an array field with their paths (nothing if absent or not an array).
pub fn elements<'a>(
    obj: &'a Value,
    at: &JsonPath<'a>,
    key: &'a str,
) -> impl Iterator<Item = (JsonPath<'a>, &'a Value)> + 'a {
    let base = at.key(key);
    obj.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(move |(i, v)| (base.index(i), v))
}

/// The value at `path` (`|fromjson` steps are not followed).
pub fn value_at<'v>(v: &'v Value, path: &JsonPath<'_>) -> Option<&'v Value> {
    path.segments().iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get(k.as_ref()),
        Seg::Index(i) => v.get(*i),
        Seg::Embedded => None,
    })
}

/// A string field, if present and a string.
pub fn str_field<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_render_like_jq() {
        let p = JsonPath::root()
            .key("choices")
            .index(0)
            .key("arguments")
            .embedded()
            .key("a b");
        assert_eq!(p.to_string(), "$.choices[0].arguments|fromjson[\"a b\"]");
        assert_eq!(JsonPath::root().to_string(), "$");
    }

    #[test]
    fn leaves_visit_every_string_with_its_path() {
        let v = json!({"a": ["x", {"b": "y", "n": 1}], "c": "", "d": null});
        let mut t = Texts::new();
        t.leaves(Role::User, TextKind::Content, JsonPath::root(), &v);
        let seen: Vec<_> = t
            .items
            .iter()
            .map(|i| (i.path.to_string(), i.text))
            .collect();
        assert_eq!(seen, vec![("$.a[0]".into(), "x"), ("$.a[1].b".into(), "y")]);
    }
}
