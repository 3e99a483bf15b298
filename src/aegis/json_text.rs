//! A strict, non-recursive JSON walker that hands every string (object keys included) to a visitor
//! decoded (`\u0069gnore` arrives as `ignore`), with its JSON path and the raw span of its token.
//! It builds no tree. Invalid UTF-8, lone surrogates, duplicate keys, nesting deeper than the limit
//! and any syntax error are errors, so the caller can fail closed.

use std::fmt;
use std::ops::Range;

/// Why a body is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    InvalidUtf8 {
        offset: usize,
    },
    LoneSurrogate {
        offset: usize,
    },
    DuplicateKey {
        path: String,
    },
    TooDeep {
        offset: usize,
        limit: usize,
    },
    Syntax {
        offset: usize,
        expected: &'static str,
    },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::InvalidUtf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            JsonError::LoneSurrogate { offset } => {
                write!(f, "unpaired UTF-16 surrogate escape at byte {offset}")
            }
            JsonError::DuplicateKey { path } => write!(f, "duplicate object key at {path}"),
            JsonError::TooDeep { offset, limit } => {
                write!(f, "nesting deeper than {limit} levels at byte {offset}")
            }
            JsonError::Syntax { offset, expected } => {
                write!(f, "invalid JSON at byte {offset}: expected {expected}")
            }
        }
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, Copy)]
enum Segment {
    /// Index into the walker's key arena.
    Key(usize),
    Index(usize),
}

/// The path of the string being visited; rendered only when someone needs the text.
pub struct JsonPath<'a> {
    segments: &'a [Segment],
    keys: &'a KeyArena,
    /// For an object key: the member's position in its object.
    key_position: Option<usize>,
}

impl JsonPath<'_> {
    /// `$.messages[0].content`; a key itself renders as its object's path plus `#key<n>`
    /// (position of the member), so a secret in a key never appears in a path.
    pub fn render(&self) -> String {
        let mut out = String::from("$");
        for segment in self.segments {
            match *segment {
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Segment::Key(k) => push_key(&mut out, self.keys.get(k)),
            }
        }
        if let Some(n) = self.key_position {
            out.push_str("#key");
            out.push_str(&n.to_string());
        }
        out
    }

    /// For an object key: the member's position in its object.
    pub fn key_position(&self) -> Option<usize> {
        self.key_position
    }

    /// The key of the member whose value is being visited, if the value is in an object.
    pub fn parent_key(&self) -> Option<&str> {
        match (self.key_position, self.segments.last()) {
            (None, Some(Segment::Key(k))) => Some(self.keys.get(*k)),
            _ => None,
        }
    }
}

fn push_key(out: &mut String, key: &str) {
    let plain = key
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        out.push('.');
        out.push_str(key);
    } else {
        out.push('[');
        out.push_str(&serde_json::to_string(key).unwrap_or_else(|_| "\"?\"".into()));
        out.push(']');
    }
}

/// What the walker tells its visitor about one string.
pub struct StringToken<'a> {
    /// The decoded value.
    pub value: &'a str,
    /// Byte span of the whole token in the body, quotes included.
    pub raw: Range<usize>,
    pub is_key: bool,
}

/// Receives the strings (and long numbers) of a body, in document order.
pub trait Visitor {
    fn string(&mut self, path: &JsonPath<'_>, token: StringToken<'_>);
    /// A number literal; only called for literals of 9 or more characters (card or phone digits).
    fn number(&mut self, _path: &JsonPath<'_>, _literal: &str, _raw: Range<usize>) {}
}

/// Decoded object keys of the objects currently open, in one buffer.
#[derive(Default)]
struct KeyArena {
    text: String,
    spans: Vec<Range<usize>>,
}

impl KeyArena {
    fn get(&self, i: usize) -> &str {
        self.spans
            .get(i)
            .and_then(|r| self.text.get(r.clone()))
            .unwrap_or("")
    }

    fn push(&mut self, key: &str) -> usize {
        let start = self.text.len();
        self.text.push_str(key);
        self.spans.push(start..self.text.len());
        self.spans.len() - 1
    }

    fn truncate(&mut self, n: usize) {
        let end = self.spans.get(n).map_or(self.text.len(), |r| r.start);
        self.spans.truncate(n);
        self.text.truncate(end);
    }
}

enum Frame {
    /// First arena index of this object's keys, and how many members so far.
    Object {
        first_key: usize,
        members: usize,
    },
    Array {
        next: usize,
    },
}

/// Walk `body`, calling the visitor for every string. Nesting deeper than `max_depth` is an error.
pub fn walk(body: &[u8], max_depth: usize, visitor: &mut impl Visitor) -> Result<(), JsonError> {
    let text = std::str::from_utf8(body).map_err(|e| JsonError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    Walker {
        text,
        bytes: body,
        pos: 0,
        max_depth,
        stack: Vec::new(),
        segments: Vec::new(),
        keys: KeyArena::default(),
        buf: String::new(),
        sort_scratch: Vec::new(),
    }
    .run(visitor)
}

struct Walker<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    stack: Vec<Frame>,
    segments: Vec<Segment>,
    keys: KeyArena,
    buf: String,
    sort_scratch: Vec<usize>,
}

impl<'a> Walker<'a> {
    fn syntax(&self, expected: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            expected,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(expected))
        }
    }

    fn run(mut self, visitor: &mut impl Visitor) -> Result<(), JsonError> {
        'value: loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    self.open()?;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        self.stack.push(Frame::Object {
                            first_key: self.keys.spans.len(),
                            members: 0,
                        });
                        self.member_key(visitor)?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.open()?;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                    } else {
                        self.stack.push(Frame::Array { next: 1 });
                        self.segments.push(Segment::Index(0));
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    let start = self.pos;
                    let value = self.string()?;
                    let path = JsonPath {
                        segments: &self.segments,
                        keys: &self.keys,
                        key_position: None,
                    };
                    let token = StringToken {
                        value: value.get(&self.buf, self.text),
                        raw: start..self.pos,
                        is_key: false,
                    };
                    visitor.string(&path, token);
                }
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.pos;
                    let literal = self.number()?;
                    if literal.len() >= 9 {
                        let path = JsonPath {
                            segments: &self.segments,
                            keys: &self.keys,
                            key_position: None,
                        };
                        visitor.number(&path, literal, start..self.pos);
                    }
                }
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                _ => return Err(self.syntax("a JSON value")),
            }
            // A value is complete: close containers until one continues.
            loop {
                self.skip_ws();
                let next = self.peek();
                match self.stack.last_mut() {
                    None => {
                        return if self.pos == self.bytes.len() {
                            Ok(())
                        } else {
                            Err(self.syntax("end of input after the top-level value"))
                        };
                    }
                    Some(Frame::Array { next: index }) => match next {
                        Some(b',') => {
                            let current = *index;
                            *index += 1;
                            self.pos += 1;
                            if let Some(last) = self.segments.last_mut() {
                                *last = Segment::Index(current);
                            }
                            continue 'value;
                        }
                        Some(b']') => {
                            self.pos += 1;
                            self.stack.pop();
                            self.segments.pop();
                        }
                        _ => return Err(self.syntax("`,` or `]`")),
                    },
                    Some(Frame::Object { .. }) => match next {
                        Some(b',') => {
                            self.pos += 1;
                            self.segments.pop();
                            self.member_key(visitor)?;
                            continue 'value;
                        }
                        Some(b'}') => {
                            self.pos += 1;
                            self.segments.pop();
                            self.close_object()?;
                        }
                        _ => return Err(self.syntax("`,` or `}`")),
                    },
                }
            }
        }
    }

    fn open(&self) -> Result<(), JsonError> {
        if self.stack.len() >= self.max_depth {
            Err(JsonError::TooDeep {
                offset: self.pos,
                limit: self.max_depth,
            })
        } else {
            Ok(())
        }
    }

    /// Parse `"key":` of the innermost object, visit the key and push it on the path.
    fn member_key(&mut self, visitor: &mut impl Visitor) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("an object key string"));
        }
        let start = self.pos;
        let key = self.string()?;
        let position = match self.stack.last_mut() {
            Some(Frame::Object { members, .. }) => {
                *members += 1;
                *members - 1
            }
            _ => 0,
        };
        {
            let path = JsonPath {
                segments: &self.segments,
                keys: &self.keys,
                key_position: Some(position),
            };
            let token = StringToken {
                value: key.get(&self.buf, self.text),
                raw: start..self.pos,
                is_key: true,
            };
            visitor.string(&path, token);
        }
        let index = self.keys.push(key.get(&self.buf, self.text));
        self.segments.push(Segment::Key(index));
        self.expect(b':', "`:` after an object key")
    }

    /// The innermost object ended (its `}` consumed): check its keys are unique, then drop them.
    fn close_object(&mut self) -> Result<(), JsonError> {
        let Some(Frame::Object {
            first_key: first, ..
        }) = self.stack.last()
        else {
            return Ok(());
        };
        let first = *first;
        let count = self.keys.spans.len() - first;
        let duplicate = if count <= 8 {
            (first..first + count)
                .find(|&i| (i + 1..first + count).any(|j| self.keys.get(i) == self.keys.get(j)))
        } else {
            self.sort_scratch.clear();
            self.sort_scratch.extend(first..first + count);
            let keys = &self.keys;
            self.sort_scratch
                .sort_unstable_by(|&a, &b| keys.get(a).cmp(keys.get(b)));
            self.sort_scratch
                .windows(2)
                .find(|w| keys.get(w[0]) == keys.get(w[1]))
                .map(|w| w[0])
        };
        if let Some(i) = duplicate {
            let mut path = JsonPath {
                segments: &self.segments,
                keys: &self.keys,
                key_position: None,
            }
            .render();
            push_key(&mut path, self.keys.get(i));
            return Err(JsonError::DuplicateKey { path });
        }
        self.keys.truncate(first);
        self.stack.pop();
        Ok(())
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax(word))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.syntax("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.syntax("a digit after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.syntax("an exponent digit"));
            }
        }
        Ok(self.text.get(start..self.pos).unwrap_or(""))
    }

    /// Parse the string token at `pos` (an opening quote). Escape-free strings are borrowed from
    /// the body; others are decoded into `buf`.
    fn string(&mut self) -> Result<Decoded, JsonError> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.syntax("a closing `\"`")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Decoded::Borrowed(start..self.pos - 1));
                }
                Some(b'\\') => break,
                Some(b) if b < 0x20 => {
                    return Err(self.syntax("an escaped control character"));
                }
                Some(_) => self.pos += 1,
            }
        }
        self.buf.clear();
        self.buf
            .push_str(self.text.get(start..self.pos).unwrap_or(""));
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            self.buf
                .push_str(self.text.get(run_start..self.pos).unwrap_or(""));
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Decoded::Buffer);
                }
                Some(b'\\') => self.escape()?,
                Some(_) => return Err(self.syntax("an escaped control character")),
                None => return Err(self.syntax("a closing `\"`")),
            }
        }
    }

    /// Decode one escape at `pos` (a backslash) into `buf`.
    fn escape(&mut self) -> Result<(), JsonError> {
        let at = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(JsonError::LoneSurrogate { offset: at });
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(JsonError::LoneSurrogate { offset: at });
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..0xE000).contains(&high) {
                    return Err(JsonError::LoneSurrogate { offset: at });
                } else {
                    high
                };
                let c = char::from_u32(code).ok_or(JsonError::LoneSurrogate { offset: at })?;
                self.buf.push(c);
                return Ok(());
            }
            _ => return Err(self.syntax("a valid escape")),
        };
        self.pos += 1;
        self.buf.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut value = 0u32;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.syntax("four hex digits"))?;
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }
}

/// Where a decoded string lives.
enum Decoded {
    Borrowed(Range<usize>),
    Buffer,
}

impl Decoded {
    fn get<'b>(&self, buf: &'b str, text: &'b str) -> &'b str {
        match self {
            Decoded::Borrowed(r) => text.get(r.clone()).unwrap_or(""),
            Decoded::Buffer => buf,
        }
    }
}

/// Encode `value` as a JSON string literal (quotes included) into `out`.
pub fn encode_string(value: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in value.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(String, String, bool)>);

    impl Visitor for Collect {
        fn string(&mut self, path: &JsonPath<'_>, token: StringToken<'_>) {
            self.0
                .push((path.render(), token.value.to_owned(), token.is_key));
        }
        fn number(&mut self, path: &JsonPath<'_>, literal: &str, _raw: Range<usize>) {
            self.0.push((path.render(), literal.to_owned(), false));
        }
    }

    fn strings(json: &str) -> Result<Vec<(String, String, bool)>, JsonError> {
        let mut c = Collect::default();
        walk(json.as_bytes(), 64, &mut c)?;
        Ok(c.0)
    }

    #[test]
    fn paths_and_decoded_values() {
        let got = strings(
            r#"{"messages": [{"role": "user", "content": "\u0069gnore \"me\""}], "a b": ["x", 12345678901]}"#,
        )
        .unwrap();
        let values: Vec<(&str, &str)> = got
            .iter()
            .filter(|(_, _, key)| !key)
            .map(|(p, v, _)| (p.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            values,
            vec![
                ("$.messages[0].role", "user"),
                ("$.messages[0].content", "ignore \"me\""),
                ("$[\"a b\"][0]", "x"),
                ("$[\"a b\"][1]", "12345678901"),
            ]
        );
        let keys: Vec<&str> = got
            .iter()
            .filter(|(_, _, key)| *key)
            .map(|(p, _, _)| p.as_str())
            .collect();
        assert_eq!(
            keys,
            vec![
                "$#key0",
                "$.messages[0]#key0",
                "$.messages[0]#key1",
                "$#key1"
            ]
        );
    }

    #[test]
    fn surrogate_pairs_decode_and_lone_surrogates_fail() {
        assert_eq!(strings(r#"["\ud83d\ude00"]"#).unwrap()[0].1, "\u{1F600}");
        assert!(matches!(
            strings(r#"["\ud83d x"]"#),
            Err(JsonError::LoneSurrogate { .. })
        ));
        assert!(matches!(
            strings(r#"["\ude00"]"#),
            Err(JsonError::LoneSurrogate { .. })
        ));
        assert!(matches!(
            strings(r#"["\ud83d\u0041"]"#),
            Err(JsonError::LoneSurrogate { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut c = Collect::default();
        assert_eq!(
            walk(b"[\"ok\xff\"]", 64, &mut c),
            Err(JsonError::InvalidUtf8 { offset: 4 })
        );
    }

    #[test]
    fn duplicate_keys_are_errors_small_and_large_objects() {
        let e = strings(r#"{"a": {"x": 1, "y": 2, "x": 3}}"#).unwrap_err();
        assert_eq!(
            e,
            JsonError::DuplicateKey {
                path: "$.a.x".into()
            }
        );
        // The same key written with an escape is still the same key.
        assert!(strings(r#"{"role": 1, "r\u006fle": 2}"#).is_err());
        let many: Vec<String> = (0..50).map(|i| format!("\"k{i}\": {i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(strings(&ok).is_ok());
        let dup = format!("{{{}, \"k7\": 0}}", many.join(","));
        assert!(matches!(strings(&dup), Err(JsonError::DuplicateKey { .. })));
        // Same key in sibling objects is fine.
        assert!(strings(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            strings(&deep),
            Err(JsonError::TooDeep { limit: 64, .. })
        ));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(strings(&ok).is_ok());
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "[01]",
            "[1.]",
            "\"tab\there\"",
            "[\"\\x\"]",
            "nul",
            "[] []",
            "{1: 2}",
        ] {
            assert!(strings(bad).is_err(), "{bad:?} should fail");
        }
        for good in [
            "0",
            "-1.5e+3",
            "true",
            " [ ] ",
            "{}",
            "\"\"",
            "[{}, [], null]",
        ] {
            assert!(strings(good).is_ok(), "{good:?} should pass");
        }
    }

    #[test]
    fn encode_round_trips_through_serde() {
        let value = "quote \" back \\ nl \n ctl \u{1} é 😀";
        let mut out = Vec::new();
        encode_string(value, &mut out);
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, value);
    }
}
