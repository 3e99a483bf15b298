//! Bounded decoding of encoded segments so their content is scanned too: base64 (standard and
//! URL-safe), hex, space-separated hex or binary bytes, percent-encoding, words spelled one letter
//! at a time, Unicode-tag smuggled text, ROT13, and words broken up by invisible characters
//! (read again without them, case kept, so a secret split by a zero-width space is whole). Only results that read as text are kept, and a
//! per-string byte budget caps the work.

use std::ops::Range;

use super::candidates::{Candidates, Token};
use super::config::DecodeConfig;
use super::normalize::is_invisible;

/// Text recovered from a segment of the scanned string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The encoded segment in the scanned string.
    pub span: Range<usize>,
    pub text: String,
    /// How it was encoded (`base64`, `hex`, ...), appended to rule ids.
    pub how: &'static str,
}

fn b64_value(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decode standard or URL-safe base64, padding optional.
pub fn base64(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in body.bytes() {
        acc = (acc << 6) | b64_value(b)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decode contiguous hex digits.
pub fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [h, l] => Some(hex_value(*h)? * 16 + hex_value(*l)?),
            _ => None,
        })
        .collect()
}

/// Decode space- or comma-separated hex pairs or 8-bit binary groups.
pub fn spaced_bytes(s: &str) -> Option<Vec<u8>> {
    s.split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(|w| match w.len() {
            2 => hex(w).and_then(|v| v.first().copied()),
            8 => u8::from_str_radix(w, 2).ok(),
            _ => None,
        })
        .collect()
}

/// Decode `%XX` escapes (invalid escapes stay as written).
pub fn percent(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// Join letters spelled one at a time: single separators vanish, longer gaps become a space. When
/// letters are joined by dots or dashes, a space between them is a word break.
pub fn spelled(s: &str) -> String {
    let letter_sep_is_space = !s
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace());
    let mut out = String::with_capacity(s.len());
    let mut gap = 0;
    let mut spaced = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            let word_break = gap > 1 || (spaced && !letter_sep_is_space);
            if word_break && !out.is_empty() {
                out.push(' ');
            }
            gap = 0;
            spaced = false;
            out.push(c);
        } else {
            gap += 1;
            spaced |= c.is_whitespace();
        }
    }
    out
}

pub fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
            'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
            _ => c,
        })
        .collect()
}

/// Decoded bytes that read as text: valid UTF-8, almost no control characters, mostly letters,
/// digits and spaces.
pub fn as_text(bytes: Vec<u8>) -> Option<String> {
    let text = String::from_utf8(bytes).ok()?;
    let total = text.chars().count();
    if total < 4 {
        return None;
    }
    let control = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    let wordy = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .count();
    (control * 20 <= total && wordy * 5 >= total * 3).then_some(text)
}

/// What to decode in one string, within `budget` bytes of output.
pub struct Plan<'a> {
    pub text: &'a str,
    pub candidates: &'a Candidates,
    pub config: &'a DecodeConfig,
    /// Text carried by Unicode tag characters, and where the first one was.
    pub tags: &'a [u8],
    pub tag_at: usize,
    pub rot13: bool,
    /// Normalisation counted invisible characters inside words.
    pub hidden: bool,
}

/// Collect decodable segments of a string into `out`, spending at most `budget` bytes.
pub fn collect(plan: &Plan<'_>, budget: &mut usize, out: &mut Vec<Decoded>) {
    let mut push = |span: Range<usize>, text: Option<String>, how: &'static str| {
        if let Some(text) = text {
            if text.len() <= *budget {
                *budget -= text.len();
                out.push(Decoded { span, text, how });
            }
        }
    };
    let slice = |r: &Range<usize>| plan.text.get(r.clone()).unwrap_or("");
    if !plan.tags.is_empty() {
        let text = String::from_utf8_lossy(plan.tags).into_owned();
        push(plan.tag_at..plan.tag_at + 4, Some(text), "unicode_tags");
    }
    for t in &plan.candidates.tokens {
        let r = &t.span;
        if plan.config.hex && t.is_hex() && t.len() % 2 == 0 {
            push(r.clone(), hex(slice(r)).and_then(as_text), "hex");
        } else if plan.config.base64 && worth_base64(t) {
            push(r.clone(), base64(slice(r)).and_then(as_text), "base64");
        }
    }
    if plan.config.hex {
        for r in &plan.candidates.byte_runs {
            push(r.clone(), spaced_bytes(slice(r)).and_then(as_text), "hex");
        }
    }
    if plan.config.percent {
        for r in &plan.candidates.percent {
            push(r.clone(), as_text(percent(slice(r))), "percent");
        }
    }
    for r in &plan.candidates.spelled {
        push(r.clone(), Some(spelled(slice(r))), "spelled");
    }
    if plan.rot13 {
        push(0..plan.text.len(), Some(rot13(plan.text)), "rot13");
    }
    if plan.hidden {
        if let Some((span, text)) = without_invisible(plan.text) {
            push(span, Some(text), "invisible");
        }
    }
}

/// The whitespace-delimited stretch of `text` holding every invisible character, and that
/// stretch with them removed.
fn without_invisible(text: &str) -> Option<(Range<usize>, String)> {
    let mut found: Option<Range<usize>> = None;
    for (i, c) in text.char_indices().filter(|(_, c)| is_invisible(*c)) {
        let end = i + c.len_utf8();
        found = Some(found.map_or(i..end, |f| f.start..end));
    }
    let found = found?;
    let start = text
        .get(..found.start)?
        .char_indices()
        .rfind(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text
        .get(found.end..)?
        .find(char::is_whitespace)
        .map_or(text.len(), |j| found.end + j);
    let stripped = text.get(start..end)?.chars().filter(|c| !is_invisible(*c));
    Some((start..end, stripped.collect()))
}

/// Base64 worth trying: mixed case or digits (plain lower-case words are identifiers).
fn worth_base64(token: &Token) -> bool {
    token.has_upper() && (token.has_lower() || token.has_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_broken_by_invisible_characters_are_read_whole() {
        let text = "key: AKIA\u{200b}ABCD\u{00ad}EFGH rest";
        let (span, whole) = without_invisible(text).unwrap();
        assert_eq!(&text[span], "AKIA\u{200b}ABCD\u{00ad}EFGH");
        assert_eq!(whole, "AKIAABCDEFGH");
        assert_eq!(without_invisible("nothing hidden"), None);
        let (span, whole) = without_invisible("\u{2060}x").unwrap();
        assert_eq!((span, whole.as_str()), (0..4, "x"));
    }

    #[test]
    fn base64_standard_urlsafe_and_unpadded() {
        assert_eq!(base64("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(base64("aGVsbG8gd29ybGQ").unwrap(), b"hello world");
        assert_eq!(base64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64("a").is_none());
        assert!(base64("ab!d").is_none());
    }

    #[test]
    fn hex_spaced_binary_and_percent() {
        assert_eq!(hex("68690a").unwrap(), b"hi\n");
        assert_eq!(spaced_bytes("68 69").unwrap(), b"hi");
        assert_eq!(spaced_bytes("01101000 01101001").unwrap(), b"hi");
        assert_eq!(percent("a%20b%2Fc%zz+d"), b"a b/c%zz d");
    }

    #[test]
    fn spelled_rot13_and_text_test() {
        assert_eq!(spelled("I g n o r e  a l l"), "Ignore all");
        assert_eq!(spelled("I.g.n.o.r.e a.l.l"), "Ignore all");
        assert_eq!(rot13("Uryyb"), "Hello");
        assert!(as_text(b"plain words here".to_vec()).is_some());
        assert!(as_text(vec![0x00, 0x01, 0xff, 0x10, 0x11]).is_none());
    }
}
