//! Strict JSON: parse bytes into a `serde_json::Value`, refusing anything two parsers could read
//! differently. serde_json already rejects invalid UTF-8, lone surrogate escapes, numbers out of
//! range and trailing data; this adds what it lets through: duplicate object keys (it keeps the
//! last, other parsers the first) at any depth, and nesting deeper than a limit.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

/// Why a body is not strict JSON. Rendered as a JSON-RPC parse error (`-32700`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictJsonError(pub String);

impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parse one JSON document, at most `max_depth` arrays/objects deep.
pub fn parse(bytes: &[u8], max_depth: usize) -> Result<Value, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        depth: 0,
        max_depth,
    }
    .deserialize(&mut de)
    .map_err(|e| StrictJsonError(e.to_string()))?;
    de.end()
        .map_err(|e| StrictJsonError(format!("trailing data after the JSON document: {e}")))?;
    Ok(value)
}

/// A seed that builds a `Value` while tracking depth and refusing duplicate keys.
#[derive(Clone, Copy)]
struct Strict {
    depth: usize,
    max_depth: usize,
}

impl Strict {
    fn nested<E: serde::de::Error>(self) -> Result<Strict, E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(format_args!(
                "JSON nested deeper than {} levels",
                self.max_depth
            )));
        }
        Ok(Strict {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            match object.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(taken) => {
                    return Err(A::Error::custom(format_args!(
                        "duplicate object key {:?}",
                        taken.key()
                    )));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> String {
        parse(input, 8).unwrap_err().0
    }

    #[test]
    fn ordinary_json_parses_like_serde_json() {
        let input = br#"{"a":[1,-2,3.5,"x\u00e9",true,null,{"b":{}}],"c":"\ud83d\ude00"}"#;
        let expected: Value = serde_json::from_slice(input).unwrap();
        assert_eq!(parse(input, 8).unwrap(), expected);
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_even_when_escaped() {
        assert!(err(br#"{"a":1,"a":2}"#).contains("duplicate object key \"a\""));
        assert!(err(br#"{"x":[{"k":{"name":1,"name":2}}]}"#).contains("duplicate"));
        // `\u006e` is `n`: the same key spelt two ways.
        assert!(err(br#"{"name":"a","\u006eame":"b"}"#).contains("duplicate"));
        assert!(parse(br#"{"a":{"a":1},"b":{"a":2}}"#, 8).is_ok());
    }

    #[test]
    fn text_two_parsers_could_read_differently_is_refused() {
        // Lone surrogates, leading and trailing.
        assert!(parse(br#""\ud800""#, 8).is_err());
        assert!(parse(br#""\udc00x""#, 8).is_err());
        assert!(parse(br#"{"a":"\ud800\u0041"}"#, 8).is_err());
        // Invalid UTF-8 inside a string, and overlong encodings.
        assert!(parse(b"\"a\xffb\"", 8).is_err());
        assert!(parse(b"\"\xc0\xaf\"", 8).is_err());
        // Numbers out of range, trailing data, comments, a byte-order mark.
        assert!(parse(b"1e400", 8).is_err());
        assert!(err(br#"{"a":1} {"b":2}"#).contains("trailing data"));
        assert!(parse(b"{\"a\":1 /* c */}", 8).is_err());
        assert!(parse(b"\xef\xbb\xbf{}", 8).is_err());
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(8).as_bytes(), 8).is_ok());
        assert!(err(deep(9).as_bytes()).contains("nested deeper than 8"));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(9), "}".repeat(9));
        assert!(err(objects.as_bytes()).contains("nested deeper"));
        // Far beyond serde_json's own recursion limit: still an error, never a stack overflow.
        assert!(parse(deep(100_000).as_bytes(), 64).is_err());
    }
}
